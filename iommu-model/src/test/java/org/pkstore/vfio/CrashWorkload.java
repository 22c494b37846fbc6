package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PkernfsMount;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The workload the crash-point enumeration kills: a list of named steps covering every ioctl
 * kind, a hotswap, a planned kexec and a reattach. A step's name is what a violation is filed
 * under. Every step checks
 * its own return value, so that an uncrashed run is a correct run.
 */
final class CrashWorkload {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:02.0");
    static final int TYPE1v2 = 3;
    static final int NESTING = 6;
    static final long GUEST_VA = 0x7f00_0000_0000L;
    static final long GUEST_VA_AFTER_KEXEC = 0x5500_0000_0000L;
    static final long GUEST_SIZE = 16L << 20;

    /** One step: an operation that either completes or dies at a store. */
    record Step(String name, Action action) {}

    @FunctionalInterface
    interface Action {
        void run(CrashWorkload w);
    }

    final Path dir;
    final HostTopology topology = HostTopology.defaultTopology();
    PkernfsMount mount;
    VfioKernel kernel;
    private int c1, c2, g1, g2, pasid1, pasid2, pgtableFd;
    private final int extraMaps;

    CrashWorkload(Path dir, int extraMaps) {
        this.dir = dir;
        this.extraMaps = extraMaps;
    }

    /** The steps, in order. {@code extraMaps} more MAP_DMA/UNMAP_DMA pairs make the soak workload larger. */
    List<Step> steps() {
        List<Step> s = new ArrayList<>();
        s.add(new Step("boot", w -> w.boot()));
        s.add(new Step("container-create", w -> {
            c1 = kernel.openContainer();
            g1 = kernel.openGroup(1);
            pgtableFd = kernel.openPageTableFile("vm1", true);
            check(pgtableFd > 0, "pgtable file fd " + pgtableFd);
        }));
        s.add(new Step("GROUP_SET_CONTAINER", w -> ok(kernel.ioctl(g1, VfioKernel.VFIO_GROUP_SET_CONTAINER, s32(c1)))));
        s.add(new Step("SET_PERSISTENT_PGTABLES", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, s32(pgtableFd)))));
        s.add(new Step("SET_IOMMU", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_SET_IOMMU, NESTING))));
        s.add(new Step("guest-memory", w -> ok(kernel.mapGuestMemory(GUEST_VA, GUEST_SIZE, "ram"))));
        s.add(new Step("MAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_MAP_DMA, dmaMap(3, GUEST_VA, 0x100000, 0x2000)))));
        s.add(new Step("MAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_MAP_DMA, dmaMap(1, GUEST_VA + 0x200000, 0x4000_0000L, 0x1000)))));
        for (int i = 0; i < extraMaps; i++) {
            long iova = 0x800_0000L + i * 0x20_0000L;
            long va = GUEST_VA + 0x40_0000L + (i % 8) * 0x1000L;
            s.add(new Step("MAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_MAP_DMA, dmaMap(3, va, iova, 0x1000)))));
            if (i % 2 == 1) {
                s.add(new Step("UNMAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_UNMAP_DMA, dmaUnmap(iova, 0x1000)))));
            }
        }
        s.add(new Step("SET_VMID", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_SET_VMID, 7L))));
        s.add(new Step("PASID_REQUEST-alloc", w -> pasid1 = allocPasid(c1)));
        s.add(new Step("BIND", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_BIND, bindArg(1, pasid1, 0xABC000, 5)))));
        s.add(new Step("PASID_REQUEST-alloc", w -> pasid2 = allocPasid(c1)));
        s.add(new Step("BIND", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_BIND, bindArg(1, pasid2, 0xDEF000, 6)))));
        s.add(new Step("CACHE_INVALIDATE", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE, invalidateDomain()))));
        s.add(new Step("UNBIND", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_BIND, bindArg(2, pasid2, 0, 0)))));
        s.add(new Step("PASID_REQUEST-free", w -> {
            byte[] free = pasidReq(2, 0, 0);
            le(free).putInt(8, pasid2);
            ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_PASID_REQUEST, free));
        }));
        s.add(new Step("fault-raise", w -> check(!kernel.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x900000, Prot.READ).ok(),
                "unmapped IOVA faults")));
        s.add(new Step("fault-raise", w -> check(kernel.unit(0).pageRequest(DEV1, pasid1, 0x5000, Prot.READ, 3, true),
                "page request queued")));
        s.add(new Step("READ_FAULTS", w -> {
            byte[] r = faultRead(1);
            ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_READ_FAULTS, r));
            check(le(r).getInt(8) == 1, "one fault read");
        }));
        s.add(new Step("PAGE_RESPONSE", w -> {
            byte[] resp = new byte[28];
            le(resp).putInt(0, 28).putInt(8, 1).putInt(12, 1).putInt(16, pasid1).putInt(20, 3).putInt(24, 0);
            ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_PAGE_RESPONSE, resp));
        }));
        s.add(new Step("UNMAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_UNMAP_DMA, dmaUnmap(0x4000_0000L, 0x1000)))));
        // a second VM on a kernel-owned table: created, used, detached and released
        s.add(new Step("container-create", w -> {
            c2 = kernel.openContainer();
            g2 = kernel.openGroup(2);
        }));
        s.add(new Step("GROUP_SET_CONTAINER", w -> ok(kernel.ioctl(g2, VfioKernel.VFIO_GROUP_SET_CONTAINER, s32(c2)))));
        s.add(new Step("SET_IOMMU", w -> ok(kernel.ioctl(c2, VfioKernel.VFIO_SET_IOMMU, TYPE1v2))));
        s.add(new Step("MAP_DMA", w -> ok(kernel.ioctl(c2, VfioKernel.VFIO_IOMMU_MAP_DMA, dmaMap(3, GUEST_VA + 0x10_0000, 0x300000, 0x1000)))));
        s.add(new Step("GROUP_UNSET_CONTAINER", w -> ok(kernel.ioctl(g2, VfioKernel.VFIO_GROUP_UNSET_CONTAINER, 0L))));
        s.add(new Step("container-release", w -> ok(kernel.close(c2))));
        s.add(new Step("hotswap", w -> DomainHotswap.swap(kernel, c1)));
        s.add(new Step("kexec-unmount", w -> {
            kernel.close();
            mount.close();
        }));
        // the planned boot in record mode: the reattach below is served from the preserved record
        // (no store at all) and the catch-up writes its records (docs/LIVE-UPDATE.md, boot order)
        s.add(new Step(RECORD_BOOT, w -> w.bootInRecordMode()));
        s.add(new Step("container-create", w -> {
            c1 = kernel.openContainer();
            g1 = kernel.openGroup(1);
            pgtableFd = kernel.openPageTableFile("vm1", false);
            check(pgtableFd > 0, "pgtable file fd " + pgtableFd);
        }));
        s.add(new Step("GROUP_SET_CONTAINER", w -> ok(kernel.ioctl(g1, VfioKernel.VFIO_GROUP_SET_CONTAINER, s32(c1)))));
        s.add(new Step("SET_PERSISTENT_PGTABLES", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, s32(pgtableFd)))));
        s.add(new Step("SET_IOMMU", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_SET_IOMMU, NESTING))));
        s.add(new Step("guest-memory", w -> ok(kernel.mapGuestMemory(GUEST_VA_AFTER_KEXEC, GUEST_SIZE, "ram"))));
        s.add(new Step("MAP_DMA-live-update", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_MAP_DMA,
                dmaMap(3 | 8, GUEST_VA_AFTER_KEXEC, 0x100000, 0x2000)))));
        s.add(new Step("GET_VMID", w -> check(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_GET_VMID, new byte[4]) == 0, "GET_VMID")));
        s.add(new Step(CATCH_UP, w -> {
            check(kernel.catchUpTimes() == null, "record mode lasted until the catch-up");
            kernel.catchUp();
        }));
        s.add(new Step("MAP_DMA", w -> ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_MAP_DMA, dmaMap(3, GUEST_VA_AFTER_KEXEC + 0x80_0000, 0x800000, 0x1000)))));
        s.add(new Step("READ_FAULTS", w -> {
            byte[] r = faultRead(4);
            ok(kernel.ioctl(c1, VfioKernel.VFIO_IOMMU_READ_FAULTS, r));
        }));
        return s;
    }

    static final String RECORD_BOOT = "boot-record-mode";
    static final String CATCH_UP = "catch-up";

    /** A boot (recovering after a kill) in record mode when the record allows it, caught up at once. */
    void boot() {
        bootInRecordMode();
        kernel.catchUp();
    }

    /** A boot that stays in record mode (when the preserved record allows it) until something needs the registries. */
    void bootInRecordMode() {
        kernel = null;
        mount = null;
        mount = PkernfsMount.mountReadWrite(dir);
        kernel = VfioKernel.boot(mount, topology, true);
    }

    /** SIGKILL in this JVM: no close, no cleanup; the mount's mappings and lock go as the OS would take them. */
    void die() {
        if (kernel != null) {
            kernel.crash();
        }
        if (mount != null) {
            mount.abandon(); // also when the kernel's boot died before it existed
        }
        kernel = null;
        mount = null;
    }

    private static void ok(long ret) {
        if (ret < 0) {
            throw new AssertionError("step returned " + ret);
        }
    }

    private static void check(boolean b, String what) {
        if (!b) {
            throw new AssertionError(what);
        }
    }

    private int allocPasid(int c) {
        byte[] a = pasidReq(1, 1, (1 << 20) - 1);
        ok(kernel.ioctl(c, VfioKernel.VFIO_IOMMU_PASID_REQUEST, a));
        return le(a).getInt(16);
    }

    static ByteBuffer le(byte[] a) {
        return ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    }

    static byte[] s32(int v) {
        byte[] a = new byte[4];
        le(a).putInt(0, v);
        return a;
    }

    /** struct vfio_iommu_type1_dma_map: argsz 0, flags 4, vaddr 8, iova 16, size 24. */
    static byte[] dmaMap(int flags, long vaddr, long iova, long size) {
        byte[] a = new byte[32];
        le(a).putInt(0, 32).putInt(4, flags).putLong(8, vaddr).putLong(16, iova).putLong(24, size);
        return a;
    }

    /** struct vfio_iommu_type1_dma_unmap: argsz 0, flags 4, iova 8, size 16. */
    static byte[] dmaUnmap(long iova, long size) {
        byte[] a = new byte[24];
        le(a).putInt(0, 24).putInt(4, 0).putLong(8, iova).putLong(16, size);
        return a;
    }

    /** struct vfio_iommu_type1_pasid_request: argsz 0, flags 4, min 8, max 12, result 16. */
    static byte[] pasidReq(int flags, int min, int max) {
        byte[] a = new byte[20];
        le(a).putInt(0, 20).putInt(4, flags).putInt(8, min).putInt(12, max);
        return a;
    }

    /** vfio_iommu_type1_bind + iommu_gpasid_bind_data (docs/UAPI.md, BIND row). */
    static byte[] bindArg(int flags, long hpasid, long gpgd, long gpasid) {
        byte[] a = new byte[80];
        le(a).putInt(0, 80).putInt(4, flags).putInt(8, 1).putInt(12, 1).putLong(16, 1).putLong(24, gpgd)
                .putLong(32, hpasid).putLong(40, gpasid).putInt(48, 48).putLong(64, 0x3).putInt(72, 7).putInt(76, 8);
        return a;
    }

    /** CACHE_INVALIDATE of the whole domain's IOTLB (cache 1, granularity 0). */
    static byte[] invalidateDomain() {
        byte[] a = new byte[56];
        le(a).putInt(0, 56).putInt(4, 0).putInt(8, 1);
        a[12] = 1;
        a[13] = 0;
        return a;
    }

    /** vfio_iommu_type1_fault_read: argsz 0, flags 4, count 8, pending 12, records of 64 bytes from 16. */
    static byte[] faultRead(int capacity) {
        byte[] a = new byte[16 + 64 * capacity];
        le(a).putInt(0, a.length).putInt(8, capacity);
        return a;
    }
}
