package org.pkstore.iommu;

/**
 * The outcome of one DMA translation by {@link IommuUnit#dmaTranslate}.
 *
 * @param pa          the host physical address (valid when {@link #ok()})
 * @param faultReason -1 on success, else the iommu_fault_reason ({@link FaultRecords}) reported
 * @param iotlbHit    served from the IOTLB without a walk
 * @param faultQueued the fault reached a container's queue (false: success, or nobody owns the device)
 */
public record DmaTranslation(long pa, int faultReason, boolean iotlbHit, boolean faultQueued) {
    public boolean ok() {
        return faultReason < 0;
    }

    static DmaTranslation success(long pa, boolean hit) {
        return new DmaTranslation(pa, -1, hit, false);
    }

    static DmaTranslation fault(int reason, boolean queued) {
        return new DmaTranslation(-1, reason, false, queued);
    }
}
