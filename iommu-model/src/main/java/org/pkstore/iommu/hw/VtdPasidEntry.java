package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d scalable-mode PASID-table entry (VT-d specification 9.6), 512 bits: eight words, 64 per PASID
 * table (index = PASID &amp; 63, see {@link VtdPasidDirectoryEntry}). Linux: {@code struct pasid_entry}
 * and the {@code pasid_set_*} helpers of drivers/iommu/intel/pasid.h; filled by
 * {@code intel_pasid_setup_second_level()} (PGTT 010b) and {@code intel_pasid_setup_nested()} /
 * {@code pasid_pte_config_nestd()} (PGTT 011b) in drivers/iommu/intel/pasid.c.
 *
 * <pre>
 *  w0 (bits 63:0)
 *   63      52 51                              12 11 10  9    8    6   5   4  2   1   0
 *  +----------+----------------------------------+-----+-----+------+----+----+---+---+
 *  | reserved |  SLPTPTR: second-level root      | res |SLADE| PGTT |SLEE| AW |FPD| P |
 *  +----------+----------------------------------+-----+-----+------+----+----+---+---+
 *  w1 (bits 127:64)
 *   63            32  31   30  29 27  26   25   24    23   22      16 15             0
 *  +----------------+----+----+-----+----+----+-----+-----+----------+----------------+
 *  |      PAT       |PCD |PWT | EMT |EMTE| CD |PGSNP|PWSNP| reserved |      DID       |
 *  +----------------+----+----+-----+----+----+-----+-----+----------+----------------+
 *  w2 (bits 191:128)
 *   63      52 51                              12 11   8   7     6    5    4   3  2  1   0
 *  +----------+----------------------------------+------+----+-----+----+----+-----+---+---+
 *  | reserved |  FLPTR: first-level root (GPA    | res  |EAFE|SMEPE|NXE |WPE |FLPM |res|SRE|
 *  |          |  when nested)                    |      |    |     |    |    |     |   |   |
 *  +----------+----------------------------------+------+----+-----+----+----+-----+---+---+
 *  w3..w7 (bits 511:192): reserved, 0
 * </pre>
 *
 * PGTT: 001 first-level only, 010 second-level only, 011 nested, 100 pass-through, others reserved.
 * FLPM: 00 4-level (48-bit), 01 5-level (57-bit), others reserved. AW: 010 48-bit 4-level second
 * level (Linux {@code agaw} 2), 011 57-bit 5-level. pkstore's unit reports ECAP.SMPWC = 1, so
 * PWSNP is 1 in every entry it writes ({@code pasid_set_page_snoop(pte, !!ecap_smpwc(...))}); FPD,
 * SLEE, SLADE, PGSNP and the memory-type fields (CD, EMTE, EMT, PWT, PCD, PAT) are 0. P, PGTT and
 * SLPTPTR share w0, so a stage-2 root switch of a present entry is one store of w0 with P kept;
 * the DID is alone in w1 (with PWSNP), so a retag is one store of w1.
 */
public final class VtdPasidEntry {
    public static final int BYTES = 64;
    public static final int WORDS = 8;

    public static final long W0_P = 1L;
    public static final long W0_FPD = 1L << 1;
    public static final long W0_AW = genmask(4, 2);
    public static final long W0_SLEE = 1L << 5;
    public static final long W0_PGTT = genmask(8, 6);
    public static final long W0_SLADE = 1L << 9;
    public static final long W0_SLPTPTR = genmask(51, 12);
    public static final long W0_RESERVED = ~(W0_SLPTPTR | W0_SLADE | W0_PGTT | W0_SLEE | W0_AW | W0_FPD | W0_P);

    public static final long W1_DID = genmask(15, 0);
    public static final long W1_PWSNP = 1L << 23;
    public static final long W1_PGSNP = 1L << 24;
    public static final long W1_CD = 1L << 25;
    public static final long W1_EMTE = 1L << 26;
    public static final long W1_EMT = genmask(29, 27);
    public static final long W1_PWT = 1L << 30;
    public static final long W1_PCD = 1L << 31;
    public static final long W1_PAT = genmask(63, 32);
    public static final long W1_RESERVED = genmask(22, 16);

    public static final long W2_SRE = 1L;
    public static final long W2_FLPM = genmask(3, 2);
    public static final long W2_WPE = 1L << 4;
    public static final long W2_NXE = 1L << 5;
    public static final long W2_SMEPE = 1L << 6;
    public static final long W2_EAFE = 1L << 7;
    public static final long W2_FLPTR = genmask(51, 12);
    public static final long W2_RESERVED = ~(W2_FLPTR | W2_EAFE | W2_SMEPE | W2_NXE | W2_WPE | W2_FLPM | W2_SRE);

    /** PASID_ENTRY_PGTT_* of pasid.h. */
    public static final int PGTT_FL_ONLY = 1;
    public static final int PGTT_SL_ONLY = 2;
    public static final int PGTT_NESTED = 3;
    public static final int PGTT_PT = 4;
    public static final int FLPM_4_LEVEL = 0;
    public static final int FLPM_5_LEVEL = 1;
    /** AW 010: 48-bit, 4-level second-level table (the model's stage-2 geometry). */
    public static final int AW_48 = 2;
    public static final int AW_57 = 3;

    private VtdPasidEntry() {}

    /** w0 of a present second-level-only entry (intel_pasid_setup_second_level: FPD 0, AW, PGTT 010b, P). */
    public static long secondLevelW0(long s2Root, int aw) {
        return (s2Root & W0_SLPTPTR) | Bits.prep(W0_PGTT, PGTT_SL_ONLY) | Bits.prep(W0_AW, aw) | W0_P;
    }

    /** w0 of a present nested entry (pasid_pte_config_nestd: SLPTPTR, FPD 0, AW, PGTT 011b, P). */
    public static long nestedW0(long s2Root, int aw) {
        return (s2Root & W0_SLPTPTR) | Bits.prep(W0_PGTT, PGTT_NESTED) | Bits.prep(W0_AW, aw) | W0_P;
    }

    /** w1: DID, PWSNP from ECAP.SMPWC (set on this model's unit). */
    public static long encodeW1(int did) {
        return Bits.prep(W1_DID, did & 0xFFFF) | W1_PWSNP;
    }

    /** w2 of a nested entry: the guest's first-level root (a GPA), FLPM, SRE, EAFE. */
    public static long nestedW2(long flptr, int flpm, boolean sre, boolean eafe) {
        return (flptr & W2_FLPTR) | Bits.prep(W2_FLPM, flpm) | (sre ? W2_SRE : 0) | (eafe ? W2_EAFE : 0);
    }

    /** FLPM for a first-level address width (pasid_pte_config_nestd: 57 -> 1, else 0); -1 for any other width. */
    public static int flpmForAddressWidth(int addrWidth) {
        return addrWidth == 48 ? FLPM_4_LEVEL : addrWidth == 57 ? FLPM_5_LEVEL : -1;
    }

    /** The first-level address width FLPM selects, or 0 for a reserved FLPM. */
    public static int addressWidthOfFlpm(int flpm) {
        return flpm == FLPM_4_LEVEL ? 48 : flpm == FLPM_5_LEVEL ? 57 : 0;
    }

    public static boolean present(long w0) { return (w0 & W0_P) != 0; }
    public static boolean faultProcessingDisabled(long w0) { return (w0 & W0_FPD) != 0; }
    public static int addressWidth(long w0) { return (int) Bits.get(W0_AW, w0); }
    public static int pgtt(long w0) { return (int) Bits.get(W0_PGTT, w0); }
    public static long stage2Root(long w0) { return w0 & W0_SLPTPTR; }
    public static int did(long w1) { return (int) Bits.get(W1_DID, w1); }
    public static long firstLevelRoot(long w2) { return w2 & W2_FLPTR; }
    public static int flpm(long w2) { return (int) Bits.get(W2_FLPM, w2); }
    public static boolean sre(long w2) { return (w2 & W2_SRE) != 0; }
    public static boolean eafe(long w2) { return (w2 & W2_EAFE) != 0; }

    /** w0 with another stage-2 root, P, PGTT and AW unchanged: the one store of a root switch. */
    public static long withStage2Root(long w0, long s2Root) {
        return (w0 & ~W0_SLPTPTR) | (s2Root & W0_SLPTPTR);
    }

    /** w1 with another DID: the one store of a retag. */
    public static long withDid(long w1, int did) {
        return (w1 & ~W1_DID) | Bits.prep(W1_DID, did & 0xFFFF);
    }

    /** True for the PGTTs whose walk uses SLPTPTR and DID (second-level only, nested). */
    public static boolean usesStage2(long w0) {
        int t = pgtt(w0);
        return t == PGTT_SL_ONLY || t == PGTT_NESTED;
    }

    public static String pgttName(int pgtt) {
        switch (pgtt) {
            case PGTT_FL_ONLY: return "first-level only";
            case PGTT_SL_ONLY: return "second-level only";
            case PGTT_NESTED: return "nested";
            case PGTT_PT: return "pass-through";
            default: return "reserved";
        }
    }

    /**
     * Null when the (present) entry's words {@code w[0..7]} are one the hardware accepts and this model
     * walks (PGTT 010b or 011b, AW 010b, FLPM 00b/01b when nested, reserved fields 0); else the first
     * problem, phrased as the hardware's reason.
     */
    public static String check(long[] w) {
        if ((w[0] & W0_RESERVED) != 0) {
            return "w0 reserved bits " + Bits.hex(w[0] & W0_RESERVED) + " set (raw " + Bits.hex(w[0]) + ")";
        }
        if ((w[1] & W1_RESERVED) != 0) {
            return "w1 reserved bits " + Bits.hex(w[1] & W1_RESERVED) + " set (raw " + Bits.hex(w[1]) + ")";
        }
        if ((w[2] & W2_RESERVED) != 0) {
            return "w2 reserved bits " + Bits.hex(w[2] & W2_RESERVED) + " set (raw " + Bits.hex(w[2]) + ")";
        }
        for (int i = 3; i < WORDS; i++) {
            if (w[i] != 0) {
                return "reserved word " + i + " set (raw " + Bits.hex(w[i]) + ")";
            }
        }
        int t = pgtt(w[0]);
        if (t != PGTT_SL_ONLY && t != PGTT_NESTED) {
            return "PGTT " + Integer.toBinaryString(t) + "b (" + pgttName(t) + ")"
                    + (t == 0 || t > PGTT_PT ? " is reserved" : " is not a type this model writes") + " (raw w0 " + Bits.hex(w[0]) + ")";
        }
        if (addressWidth(w[0]) != AW_48) {
            return "AW " + addressWidth(w[0]) + " does not match the 4-level (48-bit) second-level table (raw w0 " + Bits.hex(w[0]) + ")";
        }
        if (t == PGTT_NESTED && addressWidthOfFlpm(flpm(w[2])) == 0) {
            return "FLPM " + flpm(w[2]) + " is reserved (raw w2 " + Bits.hex(w[2]) + ")";
        }
        if (t == PGTT_SL_ONLY && w[2] != 0) {
            return "second-level-only entry with first-level fields set (raw w2 " + Bits.hex(w[2]) + ")";
        }
        return null;
    }

    public static String describe(long w0, long w1, long w2) {
        String s = String.format("P=%d FPD=%d PGTT=%s AW=%d SLPTPTR=0x%x DID=%d PWSNP=%d", w0 & W0_P,
                (w0 & W0_FPD) >>> 1, pgttName(pgtt(w0)), addressWidth(w0), stage2Root(w0), did(w1), (w1 & W1_PWSNP) >>> 23);
        return pgtt(w0) == PGTT_NESTED || pgtt(w0) == PGTT_FL_ONLY
                ? s + String.format(" FLPTR=0x%x FLPM=%d SRE=%d EAFE=%d", firstLevelRoot(w2), flpm(w2), w2 & W2_SRE, (w2 & W2_EAFE) >>> 7)
                : s;
    }
}
