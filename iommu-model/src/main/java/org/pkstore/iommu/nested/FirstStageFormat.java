package org.pkstore.iommu.nested;

import org.pkstore.iommu.Stage1Format;

/**
 * One guest-owned (first-stage) page-table format as the IOMMU walks it in a nested translation.
 * Not a {@link org.pkstore.iommu.pgtable.PageTableFormat}: that interface is fixed to the host's
 * four-level geometry and has no per-level permissions, while a first stage may have five levels
 * (VT-d FLPM 01b) and narrows permissions at every table level (x86 R/W and U/S, ARM APTable).
 *
 * <p>All methods except {@link #decode} are pure and allocation-free. Level 0 is the root; leaves
 * sit at {@code levels() - 1} (4 KiB) and, where the format allows, two levels above (2 MiB, 1 GiB).
 * DMA from a device is an unprivileged (user) request: VT-d PASID requests without the PR bit,
 * SMMUv3 transactions with STE.PRIVCFG "use incoming" from a PCIe endpoint.
 */
public interface FirstStageFormat {
    /** Bytes of one translation granule. */
    long GRANULE = 4096;
    /** Descriptors per table. */
    int ENTRIES = 512;

    /** Short name, as docs/FORMAT.md spells it. */
    String name();

    /** What a PASID entry / context descriptor calls this format. */
    Stage1Format kind();

    /** Levels of the walk (4 or 5). */
    int levels();

    /** Lowest input-address bit indexing {@code level}: 12 + 9 * (levels - 1 - level). */
    default int levelShift(int level) {
        return 12 + 9 * (levels() - 1 - level);
    }

    /** Index of {@code va}'s entry in its table at {@code level}. */
    default int index(long va, int level) {
        return (int) ((va >>> levelShift(level)) & (ENTRIES - 1));
    }

    /** Input bytes one entry at {@code level} covers. */
    default long blockSize(int level) {
        return 1L << levelShift(level);
    }

    /** Null when the hardware accepts {@code va} as input; else why it faults (constant text). */
    String inputProblem(long va);

    /** The hardware uses this entry (as a table or a leaf). */
    boolean isPresent(long desc, int level);

    /** A present entry that ends the walk at {@code level}. */
    boolean isLeaf(long desc, int level);

    /** Null, or the reserved-field fault the hardware reports for a present {@code desc} (constant text). */
    String reservedProblem(long desc, int level);

    /** {@link org.pkstore.iommu.pgtable.Prot} READ/WRITE this entry allows an unprivileged access (tables narrow, leaves grant). */
    int grants(long desc, int level);

    /** A leaf the hardware would refuse with an access-flag fault (ARM AF = 0, no hardware AF update). */
    boolean accessFlagFault(long desc, int level);

    /** Guest-physical address of the first byte a leaf maps. */
    long outputAddress(long desc, int level);

    /** Guest-physical address of the table a table entry points to. */
    long tableAddress(long desc);

    /** Leaf mapping {@code gpa} with Prot bits {@code prot} at {@code level}, as the Linux code cited by the class writes it. */
    long makeLeaf(long gpa, int prot, int level);

    /** Table entry pointing to the table at {@code tableGpa}, as Linux writes it. */
    long makeTable(long tableGpa);

    /** True when {@code level} may hold a leaf in this format. */
    boolean leafAllowed(int level);

    /** Entry name at {@code level} in the architecture's manuals. */
    String levelName(int level);

    /** Human-readable fields; may allocate. */
    String decode(long desc, int level);

    /** The format a PASID entry names; IllegalArgumentException for {@link Stage1Format#NONE}. */
    static FirstStageFormat of(Stage1Format kind) {
        switch (kind) {
            case VTD_FIRST_LEVEL_4: return VtdFirstLevelFormat.FOUR_LEVEL;
            case VTD_FIRST_LEVEL_5: return VtdFirstLevelFormat.FIVE_LEVEL;
            case ARM_LPAE_S1_4K: return ArmLpaeS1Format.INSTANCE;
            default: throw new IllegalArgumentException("no first stage: " + kind);
        }
    }
}
