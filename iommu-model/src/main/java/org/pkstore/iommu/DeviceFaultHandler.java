package org.pkstore.iommu;

/**
 * Where an {@link IommuUnit} reports a fault it took for a device (Linux
 * iommu_report_device_fault): the VFIO layer routes it to the fault queue of the container that
 * owns the device's group.
 */
@FunctionalInterface
public interface DeviceFaultHandler {
    /**
     * @param fault the 64-byte struct iommu_fault ({@link FaultRecords})
     * @return true if it was queued, false if no container owns the device (the fault is dropped)
     */
    boolean report(int unitId, Bdf bdf, byte[] fault);
}
