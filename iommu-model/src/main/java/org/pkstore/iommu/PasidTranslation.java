package org.pkstore.iommu;

/**
 * How one device translates DMA tagged with one PASID (or untagged), decoded from the hardware's
 * structures only: the VT-d scalable-mode PASID-table entry, or the SMMUv3 STE plus the guest's
 * context descriptor. {@code problem} is non-null when the structures themselves would make the
 * hardware fault (not present, reserved bit set, pointer outside memory, bad configuration).
 *
 * @param pasid         the PASID, or {@link #UNTAGGED} for DMA without one
 * @param tag           the DID (VT-d) or VMID (SMMUv3) the IOTLB tags entries with
 * @param stage2RootPa  host PA of the stage-2 root
 * @param stage1Format  the guest's first-stage format, {@link Stage1Format#NONE} when only stage 2 translates
 * @param stage1RootGpa guest-physical address of the first-stage root (FLPTR / CD.TTB0), 0 when none
 * @param problem       null, or why the hardware would fault on the structures
 */
public record PasidTranslation(int pasid, int tag, long stage2RootPa, Stage1Format stage1Format, long stage1RootGpa,
                               String problem) {
    public static final int UNTAGGED = -1;

    public static PasidTranslation fault(int pasid, String problem) {
        return new PasidTranslation(pasid, 0, 0, Stage1Format.NONE, 0, problem);
    }

    public boolean ok() { return problem == null; }

    public boolean nested() { return stage1Format != Stage1Format.NONE; }
}
