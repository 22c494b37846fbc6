package org.pkstore.iommu.pgtable;

/**
 * One hardware encoding of 64-bit translation descriptors over {@link PageTableGeometry}. All
 * methods except {@link #decode} are pure, allocation-free functions of their arguments, so the
 * map, unmap and translate paths can call them freely.
 *
 * <p>The {@link #id()} is stored in the page-table file header's format field, so a file can only
 * be attached with the format it was built in.
 */
public interface PageTableFormat {
    /** Intel VT-d second-stage (second-level) tables: {@link VtdSecondStageFormat}. */
    int FORMAT_VTD_SL = 1;
    /** Arm VMSAv8-64 stage 2, 4 KiB granule, as io-pgtable-arm ARM_64_LPAE_S2: {@link ArmLpaeS2Format}. */
    int FORMAT_ARM_LPAE_S2 = 2;

    /** Value of the file header's format field. */
    int id();

    /** Short name: "vtd-sl", "arm-lpae-s2". */
    String name();

    /** Hardware would use this entry (a table or a leaf); false for an invalid/absent entry. */
    boolean isPresent(long desc, int level);

    /** A present entry that points to a next-level table at {@code level} (never at level 3). */
    boolean isTable(long desc, int level);

    /** A present entry that ends the walk with a translation at {@code level}. */
    boolean isLeaf(long desc, int level);

    /** Output address of a leaf: the first PA of its page or block. */
    long outputAddress(long desc, int level);

    /** PA of the next-level table a table entry points to. */
    long tableAddress(long desc);

    /** Leaf for {@code pa} (aligned to the level's block size) with IOMMU {@link Prot} bits {@code prot}. */
    long makeLeaf(long pa, int prot, int level);

    /** Table entry pointing to {@code tablePa}. */
    long makeTable(long tablePa);

    /** The {@link Prot} bits a leaf grants, as far as this format can express them. */
    int protOf(long desc, int level);

    /**
     * Null when {@code desc} at {@code level} is an encoding this format produces (or hardware
     * legitimately updates, such as accessed/dirty flags) or zero; otherwise a constant reason:
     * reserved bits set, a block at a level that cannot hold one, and so on. Allocation-free.
     */
    String validate(long desc, int level);

    /** Human-readable fields of {@code desc}, for dumps and translate tools. May allocate. */
    String decode(long desc, int level);

    /** Name of the entry kind at {@code level} in this architecture's manuals ("PDE", "L2", ...). */
    String levelName(int level);

    /** The format stored as {@code id} in a file header; IllegalArgumentException when unknown. */
    static PageTableFormat byId(int id) {
        switch (id) {
            case FORMAT_VTD_SL: return VtdSecondStageFormat.INSTANCE;
            case FORMAT_ARM_LPAE_S2: return ArmLpaeS2Format.INSTANCE;
            default: throw new IllegalArgumentException("unknown page-table format id " + id);
        }
    }
}
