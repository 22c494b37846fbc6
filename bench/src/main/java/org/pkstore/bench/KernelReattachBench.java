package org.pkstore.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DmaTranslation;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioKernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The full kernel path (org.pkstore.vfio.VfioKernel) for a VM whose one container maps N 4 KiB
 * pages of guest memory (one MAP_DMA, IOVA and PA 4 KiB-misaligned relative to each other so the
 * kernel maps 4 KiB pages), microseconds per single-shot invocation. Shutdown (VfioKernel.close,
 * unmount) is untimed: what is measured is boot to a device translating again.
 * <ul>
 *   <li>{@code kernelReattach_pkstore}: mount, VfioKernel.boot (device tables adopted, registries
 *       loaded), the VMM maps its guest memory, opens a container, puts group 1 in it,
 *       VFIO_CONTAINER_SET_PERSISTENT_PGTABLES on the preserved file (reclaims the preserved
 *       container), VFIO_SET_IOMMU (adopts the tables), and the device translates one IOVA;</li>
 *   <li>{@code kernelReplay_rebuild}: a host without persistent tables: mount, boot, the VMM maps
 *       guest memory, container, group, VFIO_SET_IOMMU (a new empty domain) and MAP_DMA of the
 *       whole range again (the kernel rebuilds N 4 KiB entries), device translation. The untimed
 *       teardown closes the container, which unmaps it again.</li>
 * </ul>
 * Not included in the reattach: the VMM's MAP_DMA with VFIO_DMA_MAP_FLAG_LIVE_UPDATE that
 * re-establishes its vaddr bookkeeping later (it compares the tables, writes none; DMA already
 * flows before it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KernelReattachBench {
    static final int SET_IOMMU = VfioKernel.VFIO_SET_IOMMU;
    static final int GROUP_SET_CONTAINER = VfioKernel.VFIO_GROUP_SET_CONTAINER;
    static final int MAP_DMA = VfioKernel.VFIO_IOMMU_MAP_DMA;
    static final int SET_PERSISTENT_PGTABLES = VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES;
    static final long TYPE1V2 = 3;
    static final long GUEST_VA = 0x7f00_0000_0000L;
    static final long IOVA = Fixtures.SZ_1G;
    static final Bdf DEV = Bdf.parse("00:01.0");

    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    @Param({"1000", "100000", "1000000"})
    public long mappings;

    private PageTableFormat fmt;
    private HostTopology topo;
    private Path dir;
    private long guestSize;
    private long probe;
    private long expectedPa;
    private PkernfsMount mount;
    private VfioKernel k;
    private int container;

    static byte[] s32(int v) {
        byte[] a = new byte[4];
        ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).putInt(0, v);
        return a;
    }

    /** struct vfio_iommu_type1_dma_map, READ|WRITE. */
    static byte[] dmaMap(long vaddr, long iova, long size) {
        byte[] a = new byte[32];
        ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 32).putInt(4, 3).putLong(8, vaddr)
                .putLong(16, iova).putLong(24, size);
        return a;
    }

    static void ok(long r, String what) {
        if (r != 0) {
            throw new IllegalStateException(what + " returned " + r);
        }
    }

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        fmt = Fixtures.format(format);
        String driver = fmt.id() == PageTableFormat.FORMAT_VTD_SL ? "vtd" : "smmuv3";
        topo = HostTopology.parse("unit 0 " + driver + "\ngroup 1 unit 0 device 00:01.0\n");
        dir = Fixtures.tempDir("kernel").resolve("mount");
        guestSize = mappings * Fixtures.SZ_4K + Fixtures.SZ_2M;
        probe = IOVA + (mappings - 1) * Fixtures.SZ_4K + 0x123;
        boolean persistent = params.getBenchmark().endsWith("_pkstore");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            VfioKernel kk = VfioKernel.boot(m, topo);
            ok(kk.mapGuestMemory(GUEST_VA, guestSize, "ram"), "mapGuestMemory");
            // vaddr 4 KiB past a 2 MiB-aligned PA, IOVA 1 GiB-aligned: only 4 KiB pages fit
            long pa = kk.vmm().resolve(GUEST_VA + Fixtures.SZ_4K, Fixtures.SZ_4K);
            expectedPa = pa + (probe - IOVA);
            if (persistent) {
                int c = kk.openContainer();
                ok(kk.ioctl(kk.openGroup(1), GROUP_SET_CONTAINER, s32(c)), "GROUP_SET_CONTAINER");
                ok(kk.ioctl(c, SET_PERSISTENT_PGTABLES, s32(kk.openPageTableFile("vm1", true, fmt.id()))),
                        "SET_PERSISTENT_PGTABLES");
                ok(kk.ioctl(c, SET_IOMMU, TYPE1V2), "SET_IOMMU");
                ok(kk.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + Fixtures.SZ_4K, IOVA, mappings * Fixtures.SZ_4K)), "MAP_DMA");
                check(kk);
            }
            kk.close(); // planned kexec
        }
    }

    private void check(VfioKernel kk) {
        DmaTranslation t = kk.unit(0).dmaTranslate(DEV, Iotlb.NO_PASID, probe, Prot.READ);
        if (!t.ok() || t.pa() != expectedPa) {
            throw new IllegalStateException("device translation after boot: " + t + ", expected 0x"
                    + Long.toHexString(expectedPa));
        }
    }

    @TearDown(Level.Invocation)
    public void shutdown() {
        if (k != null) {
            if (container > 0) {
                ok(k.close(container), "close(container)");
                container = 0;
            }
            k.close();
            k = null;
        }
        if (mount != null) {
            mount.close();
            mount = null;
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        Fixtures.deleteTree(dir.getParent());
    }

    @Benchmark
    public long kernelReattach_pkstore() {
        mount = PkernfsMount.mountReadWrite(dir);
        k = VfioKernel.boot(mount, topo);
        ok(k.mapGuestMemory(GUEST_VA, guestSize, "ram"), "mapGuestMemory");
        int c = k.openContainer();
        ok(k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)), "GROUP_SET_CONTAINER");
        ok(k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", false, fmt.id()))),
                "SET_PERSISTENT_PGTABLES");
        ok(k.ioctl(c, SET_IOMMU, TYPE1V2), "SET_IOMMU");
        check(k);
        return c;
    }

    @Benchmark
    public long kernelReplay_rebuild() {
        mount = PkernfsMount.mountReadWrite(dir);
        k = VfioKernel.boot(mount, topo);
        ok(k.mapGuestMemory(GUEST_VA, guestSize, "ram"), "mapGuestMemory");
        int c = k.openContainer();
        container = c;
        ok(k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)), "GROUP_SET_CONTAINER");
        ok(k.ioctl(c, SET_IOMMU, TYPE1V2), "SET_IOMMU");
        ok(k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + Fixtures.SZ_4K, IOVA, mappings * Fixtures.SZ_4K)), "MAP_DMA");
        check(k);
        return c;
    }
}
