package org.pkstore.vfio;

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
 * gives it back). Publish, switch and free are journaled as one {@link HotswapIntent}: a kill after
 * the publish is finished by recovery (every entry switched with one store each, the old tree swept),
 * a kill before it is undone, so the next attach writes nothing and nothing leaks.
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
            long[] freed = HotswapIntent.run(kernel, c, fresh);
            long t2 = System.nanoTime() - freed[1];
            long t3 = System.nanoTime();
            return new Result(d.fileName(), oldRoot, fresh.rootPa(), built, t1 - t0, t2 - t1, freed[1], freed[0]);
        }
    }
}
