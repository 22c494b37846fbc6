package org.pkstore.cli;

import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Mounts produced by the model itself (VfioKernel driven through VfioClient, exactly as a VMM would
 * drive VFIO), for the CLI tests and for the large-mount measurement ({@link #main}).
 */
final class Fixtures {
    private Fixtures() {}

    static final long GUEST_VA = 0x7f00_0000_0000L;
    static final long GUEST_SIZE = 64L << 20;

    /** What {@link #standard} built, for assertions. */
    record Standard(Path dir, int containerId, long domainId, String pgtableFile, int vmid, int pasid) {}

    /**
     * Default topology (unit 0 VT-d; group 1 = 00:01.0, group 2 = 00:02.0). Container A (groups 1):
     * nesting type1, persistent file "vm0", VMID set to 7, mappings: 2 MiB at IOVA 0 (one 2 MiB
     * block), 16 KiB at IOVA 0x40000000 read-only (four 4 KiB pages), 8 KiB at 0x40100000; one PASID
     * allocated and bound. Container B (group 2): type1v2, kernel domain, 1 MiB at 0x1000000.
     * Cleanly unmounted (planned kexec point).
     */
    static Standard standard(Path dir) {
        return standard(dir, false);
    }

    /**
     * {@code variant}: the same host a little later: VMID 8 instead of 7, the read-only range made
     * read-write, the third range grown to 12 KiB, gpasid 10, and container B's megabyte moved to IOVA
     * 0x2000000. Mounts are built deterministically, so the two differ only there.
     */
    static Standard standard(Path dir, boolean variant) {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(GUEST_VA, GUEST_SIZE, "ram"));
            int a = c.openContainer();
            int g1 = c.openGroup(1);
            assertEquals(0, c.setContainer(g1, a));
            int pt = c.openPageTableFile("vm0", true);
            assertEquals(0, c.setPersistentPgtables(a, pt));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            int vmid = variant ? 8 : 7;
            assertEquals(0, c.setVmid(a, vmid));
            assertEquals(0, c.mapDma(a, GUEST_VA, 0, 2L << 20));
            assertEquals(0, c.mapDma(a, GUEST_VA + (4L << 20), 0x4000_0000L, 16 << 10,
                    org.pkstore.vfio.uapi.VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ
                            | (variant ? org.pkstore.vfio.uapi.VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE : 0)));
            assertEquals(0, c.mapDma(a, GUEST_VA + (8L << 20), 0x4010_0000L, variant ? 12 << 10 : 8 << 10));
            VfioClient.Pasid p = c.allocPasid(a, 1, (1 << 20) - 1);
            assertEquals(0, p.ret());
            assertEquals(0, c.bindGuestPgtbl(a, true, p.pasid(), 0x1234_5000L, variant ? 10 : 9, true, 48, 0, 0, 0));

            int b = c.openContainer();
            int g2 = c.openGroup(2);
            assertEquals(0, c.setContainer(g2, b));
            assertEquals(0, c.setIommu(b, VfioUapi.VFIO_TYPE1v2_IOMMU));
            assertEquals(0, c.mapDma(b, GUEST_VA + (16L << 20), variant ? 0x200_0000L : 0x100_0000L, 1L << 20));

            int cid = k.container(a).id();
            long did = k.container(a).domain().id();
            return new Standard(dir, cid, did, "vm0", vmid, p.pasid());
        }
    }

    /**
     * One container, persistent file "big", {@code pages} 4 KiB mappings in one MAP_DMA that cannot
     * use blocks (IOVA and PA are offset by 4 KiB modulo 2 MiB), so every leaf is a 4 KiB PTE.
     */
    static void large(Path dir, long pages) {
        long size = pages << 12;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(GUEST_VA, size + (2L << 20), "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("big", true)));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1v2_IOMMU));
            assertEquals(0, c.mapDma(a, GUEST_VA + 4096, 0, size));
        }
    }

    /** Builds a large mount for a manual measurement: {@code Fixtures DIR [PAGES]} (default 1M). */
    public static void main(String[] args) {
        long pages = args.length > 1 ? Long.parseLong(args[1]) : 1L << 20;
        long t0 = System.nanoTime();
        large(Path.of(args[0]), pages);
        System.out.printf("built %s with %d 4 KiB mappings in %d ms%n", args[0], pages, (System.nanoTime() - t0) / 1_000_000);
    }
}
