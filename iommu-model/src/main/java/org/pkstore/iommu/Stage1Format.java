package org.pkstore.iommu;

/**
 * The first-stage (guest-owned) page-table format a PASID's entry names, as the hardware decodes it:
 * VT-d first-level paging (the x86-64 4- or 5-level format, PASID-table entry FLPM) or the ARM
 * VMSAv8-64 stage-1 format with a 4 KiB granule (context descriptor TG0/T0SZ).
 */
public enum Stage1Format {
    /** Only stage 2 translates (second-level-only PASID entry, untagged DMA, S1DSS bypass). */
    NONE(0),
    /** VT-d first-level paging, 4 levels, 48-bit input (FLPM 00b). */
    VTD_FIRST_LEVEL_4(48),
    /** VT-d first-level paging, 5 levels, 57-bit input (FLPM 01b). */
    VTD_FIRST_LEVEL_5(57),
    /** ARM VMSAv8-64 stage 1, 4 KiB granule, 48-bit input (T0SZ 16). */
    ARM_LPAE_S1_4K(48);

    private final int inputBits;

    Stage1Format(int inputBits) {
        this.inputBits = inputBits;
    }

    /** Input-address width in bits (0 for {@link #NONE}). */
    public int inputBits() { return inputBits; }
}
