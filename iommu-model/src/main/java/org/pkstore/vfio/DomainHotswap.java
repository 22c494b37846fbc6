package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DmaMappingRecord;

/**
 * The hotswap restore strategy (the direction upstream took instead of adopting preserved tables):
 * the preserved domain stays in use, untouched, while a fresh table is built beside it in the same
 * pkernfs file from the container's DMA records (re-established by the VMM after kexec); then the
 * new root is published in the file header, every device-table entry of the domain is switched to
 * it with one release store, the VMID's IOTLB entries are flushed, and the old tree is freed. DMA
 * continues on the old tables during the build and on the new ones after each entry's switch.
 *
 * <p>Crash safety: the fresh tree is unreachable until published (a crash leaks it; the sweep
 * gives it back). Between publishing and the last entry switch, both trees are in use; the boot's
 * sweep keeps every tree a device-table entry names ({@code VfioKernel}), so no crash point frees a
 * tree a device can walk.
 */
public final class DomainHotswap {
    private DomainHotswap() {}

    /** What a swap did. Times in nanoseconds. */
    public record Result(String pgtableFile, long oldRoot, long newRoot, long descriptorsWritten, long buildNanos,
                         long switchNanos, long freeNanos, long oldPagesFreed) {}

    /**
     * Swaps the domain of the container at {@code containerFd} to freshly built tables.
     *
     * @throws IllegalStateException when the container has no domain, or the fresh table cannot be
     *                               built (the file is full): then nothing was switched and the
     *                               fresh pages were given back
     */
    public static Result swap(VfioKernel kernel, int containerFd) {
        synchronized (kernel) {
            VfioContainer c = kernel.container(containerFd);
            if (c == null || c.domain() == null) {
                throw new IllegalStateException("fd " + containerFd + " is not a container with a domain");
            }
            IommuDomain d = c.domain();
            IoPageTable old = d.pageTable();
            PageTableFile f = d.file();
            long oldRoot = old.rootPa();
            long writes0 = f.descriptorWrites();
            long t0 = System.nanoTime();
            IoPageTable fresh = IoPageTable.createShadow(f, old.format(), old.partialUnmapPolicy());
            fresh.setPageSizes(old.pageSizes());
            for (DmaMappingRecord m : c.mappings().values()) {
                int ret = fresh.map(m.iova(), m.pa(), m.size(), m.prot());
                if (ret != 0) {
                    IoPageTable.freeTree(f, old.format(), fresh.rootPa());
                    throw new IllegalStateException("hotswap build of " + d.fileName() + " failed at IOVA 0x"
                            + Long.toHexString(m.iova()) + ": " + VfioClient.result(ret));
                }
            }
            long t1 = System.nanoTime();
            long built = f.descriptorWrites() - writes0;
            fresh.publishRoot();
            kernel.crashPoints.reached("hotswap:published");
            for (Bdf b : d.devices()) {
                d.unit().deviceTable().switchStage2Root(b, fresh.rootPa());
            }
            d.unit().iotlb().invalidateVmid(d.vmid());
            d.replacePageTable(fresh);
            long t2 = System.nanoTime();
            long freed = IoPageTable.freeTree(f, old.format(), oldRoot);
            long t3 = System.nanoTime();
            return new Result(d.fileName(), oldRoot, fresh.rootPa(), built, t1 - t0, t2 - t1, t3 - t2, freed);
        }
    }
}
