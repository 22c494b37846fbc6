package org.pkstore.iommu;

/**
 * What a nested walk needs besides the device table: stage-2 translation of a guest-physical
 * address and reads of host-physical memory. Every structure the guest owns (VT-d first-level
 * tables, SMMUv3 context descriptors and stage-1 tables) is at a guest-physical address, so the
 * IOMMU translates that address through stage 2 before it reads the word there.
 */
public interface NestedMemory {
    /**
     * Stage-2 translation of {@code gpa} from {@code stage2RootPa} for {@code access}
     * ({@link org.pkstore.iommu.pgtable.Prot} bits).
     *
     * @return the host PA (&gt;= 0) or a negative {@code DeviceTranslation.FAULT_*} code
     */
    long stage2(long stage2RootPa, long gpa, int access);

    /** The 64-bit word at host PA {@code hpa} (8-byte aligned, inside guest memory). */
    long readWord(long hpa);
}
