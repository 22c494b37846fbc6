package org.pkstore.iommu;

/**
 * One device's translation setup as the IOMMU reads it from the hardware-visible device table
 * (VT-d: the context entry and, in scalable mode, its RID_PASID PASID entry; SMMUv3: the STE).
 *
 * @param present       the entry is valid (VT-d P, SMMUv3 V)
 * @param stage2RootPa  root of the stage-2 (second-level) page table
 * @param did           domain id (VT-d DID) or S2VMID: the VMID the IOTLB is tagged with
 * @param formatId      stage-2 page-table format id (PageTableFormat.FORMAT_*)
 * @param nested        a guest stage 1 is configured (SMMUv3 Config 0b111); VT-d nests per PASID, so its lookup
 *                      says false and {@link DeviceTableReader.DeviceView#nested()} looks at the PASID entries
 * @param guestStageBase guest PASID table / context descriptor pointer (guest physical), 0 if none
 * @param guestPasidBits PASID bits of the guest table (SMMUv3 S1CDMax), 0 if none
 * @param pasidDirectoryPa VT-d scalable-mode PASID directory (kept by a detached entry), 0 if none; always 0 on
 *                      SMMUv3, whose CD table is the guest's (an IPA, {@code guestStageBase})
 */
public record DeviceEntry(boolean present, long stage2RootPa, int did, int formatId, boolean nested,
                          long guestStageBase, int guestPasidBits, long pasidDirectoryPa) {
    public static final DeviceEntry ABSENT = new DeviceEntry(false, 0, 0, 0, false, 0, 0, 0);
}
