package org.pkstore.iommu.nested;

import org.pkstore.iommu.pgtable.DeviceTranslation;

/**
 * The fault a nested walk ends with, packed into one negative long so that the translate path
 * allocates nothing: the kind, the stage-1 level it happened at, and for a stage-2 fault the
 * stage-2 walker's own code ({@link DeviceTranslation}{@code .FAULT_*}).
 *
 * <pre>
 *  -(kind | level &lt;&lt; 8 | -stage2Code &lt;&lt; 16)      kind 1..15, level 0..4, stage2Code -1..-255 or 0
 * </pre>
 *
 * The kinds follow what the hardware records: VT-d first-stage faults (spec 3.6 section 7.1.3, table 27:
 * non-canonical input, first-stage entry not present, reserved field, permission; second-stage
 * fault while fetching a first-stage entry, second-stage fault on the output) and the SMMUv3 events
 * (spec 7.3: F_TRANSLATION, F_ACCESS, F_PERMISSION, F_ADDR_SIZE with S2 = 1 and CLASS = TT when a
 * stage-1 table fetch faulted at stage 2, CLASS = IN for the output).
 */
public final class NestedFault {
    private NestedFault() {}

    /** Stage 1: input address outside the first stage's range (non-canonical, beyond T0SZ). */
    public static final int S1_ADDRESS = 1;
    /** Stage 1: entry not present / invalid (translation fault). */
    public static final int S1_NOT_PRESENT = 2;
    /** Stage 1: reserved field set (VT-d reserved-bit fault, SMMU translation fault on a reserved encoding). */
    public static final int S1_RESERVED = 3;
    /** Stage 1: the levels walked do not grant the access (unprivileged, write). */
    public static final int S1_PERMISSION = 4;
    /** Stage 1: access flag 0 (SMMUv3 F_ACCESS). */
    public static final int S1_ACCESS_FLAG = 5;
    /** Stage 2 faulted translating the GPA of a stage-1 table entry (the walk's own read). */
    public static final int S2_ON_TABLE = 6;
    /** Stage 2 faulted translating the output GPA for the access. */
    public static final int S2_ON_OUTPUT = 7;

    static long code(int kind, int level, long stage2Code) {
        return -(kind | (long) level << 8 | (-stage2Code & 0xff) << 16);
    }

    public static boolean isFault(long result) {
        return result < 0;
    }

    public static int kind(long code) {
        return (int) (-code & 0xff);
    }

    /** The stage-1 level the fault happened at (for S2_ON_OUTPUT, the leaf's level). */
    public static int level(long code) {
        return (int) ((-code >>> 8) & 0xff);
    }

    /** 1 or 2: the stage whose structures faulted. */
    public static int stage(long code) {
        int k = kind(code);
        return k == S2_ON_TABLE || k == S2_ON_OUTPUT ? 2 : 1;
    }

    /** The stage-2 walker's fault code, or 0 for a stage-1 fault. */
    public static long stage2Code(long code) {
        return -((-code >>> 16) & 0xff);
    }

    /** Short kebab-case name: "s1-not-present", "s2-on-table", ... */
    public static String kindName(long code) {
        switch (kind(code)) {
            case S1_ADDRESS: return "s1-address";
            case S1_NOT_PRESENT: return "s1-not-present";
            case S1_RESERVED: return "s1-reserved";
            case S1_PERMISSION: return "s1-permission";
            case S1_ACCESS_FLAG: return "s1-access-flag";
            case S2_ON_TABLE: return "s2-on-table";
            case S2_ON_OUTPUT: return "s2-on-output";
            default: return "fault " + code;
        }
    }

    /** One line naming stage, level and reason. Allocates. */
    public static String describe(long code, FirstStageFormat format) {
        int level = level(code);
        String at = format == null ? "level " + level : "level " + level + " (" + format.levelName(level) + ")";
        switch (kind(code)) {
            case S1_ADDRESS: return "stage 1: input address outside the first stage's range";
            case S1_NOT_PRESENT: return "stage 1 " + at + ": entry not present";
            case S1_RESERVED: return "stage 1 " + at + ": reserved field set";
            case S1_PERMISSION: return "stage 1 " + at + ": permission (the levels walked do not grant the access)";
            case S1_ACCESS_FLAG: return "stage 1 " + at + ": access flag 0";
            case S2_ON_TABLE: return "stage 2 on the stage-1 table walk, fetching the " + at + " entry: "
                    + DeviceTranslation.faultName(stage2Code(code));
            case S2_ON_OUTPUT: return "stage 2 on the output of the stage-1 " + at + " leaf: "
                    + DeviceTranslation.faultName(stage2Code(code));
            default: return "fault " + code;
        }
    }
}
