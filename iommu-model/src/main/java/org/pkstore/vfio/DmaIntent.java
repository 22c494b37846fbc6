package org.pkstore.vfio;

import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;

import java.nio.ByteBuffer;

/**
 * The MAP_DMA and UNMAP_DMA intents (journal ops {@link KernelIntent#MAP_DMA},
 * {@link KernelIntent#UNMAP_DMA}): VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA's persistent steps
 * ({@link DmaMappings}) and what recovery does with them.
 *
 * <pre>
 *  MAP_DMA {container, iova, size, pa, prot}        a kill after it: recovery (always undo)
 *  1 map the leaves                                 unmap every leaf in [iova, iova + size)
 *  2 put the mapping record                         remove the record
 *
 *  UNMAP_DMA {container, iova, size}                a kill after it: recovery (always finish)
 *  1 unmap the leaves of each mapping in the range  unmap what is left of every recorded
 *  2 remove each mapping record                     mapping in the range, remove its record
 * </pre>
 *
 * Payloads (little-endian): {@code i32 container | i64 iova | i64 size | i64 pa | i32 prot} and
 * {@code i32 container | i64 iova | i64 size}.
 */
final class DmaIntent {
    private DmaIntent() {}

    static byte[] mapPayload(int container, long iova, long size, long pa, int prot) {
        return KernelIntent.buf(32).putInt(container).putLong(iova).putLong(size).putLong(pa).putInt(prot).array();
    }

    static byte[] unmapPayload(int container, long iova, long size) {
        return KernelIntent.buf(20).putInt(container).putLong(iova).putLong(size).array();
    }

    static String undoMap(VfioKernel kernel, ByteBuffer payload) {
        int c = payload.getInt();
        long iova = payload.getLong();
        long size = payload.getLong();
        IntentRecords.unmapLeaves(kernel, IntentRecords.domainOf(kernel, c), iova, size);
        kernel.registries.dmaMappings.remove(DmaMappingRecord.key(c, iova));
        return "undone";
    }

    static String finishUnmap(VfioKernel kernel, ByteBuffer payload) {
        int c = payload.getInt();
        long iova = payload.getLong();
        long size = payload.getLong();
        DomainRecord d = IntentRecords.domainOf(kernel, c);
        for (DmaMappingRecord m : kernel.registries.dmaMappings.values()) {
            if (m.containerId() == c && m.iova() >= iova && m.iova() - iova < size) {
                IntentRecords.unmapLeaves(kernel, d, m.iova(), m.size());
                kernel.registries.dmaMappings.remove(m.key());
            }
        }
        return "finished";
    }
}
