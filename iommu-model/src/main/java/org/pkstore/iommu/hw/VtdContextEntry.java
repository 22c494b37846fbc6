package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d legacy-mode context entry (Intel VT-d specification, section 9.3 "Context Entry"), 16 bytes,
 * 256 per context table (index = devfn). Linux: {@code struct context_entry} and the
 * {@code context_set_present}, {@code context_set_fault_enable}, {@code context_set_translation_type},
 * {@code context_set_address_root}, {@code context_set_address_width}, {@code context_set_domain_id},
 * {@code context_domain_id} helpers of drivers/iommu/intel/iommu.h.
 *
 * <pre>
 *  lo (bytes 0..7)
 *   63      52 51                                   12 11        4 3  2   1   0
 *  +----------+---------------------------------------+-----------+-----+---+---+
 *  | reserved |  SLPTPTR: second-level table root     | reserved  | TT  |FPD| P |
 *  +----------+---------------------------------------+-----------+-----+---+---+
 *  hi (bytes 8..15)
 *   63                           24 23              8   7   6      3 2       0
 *  +-------------------------------+-----------------+---+---------+---------+
 *  |           reserved            |       DID       | R |   IGN   |   AW    |
 *  +-------------------------------+-----------------+---+---------+---------+
 * </pre>
 *
 * pkstore writes TT = 00 (untranslated requests translated through the second level; Linux
 * {@code CONTEXT_TT_MULTI_LEVEL}), FPD = 0, AW = 010 (48-bit, 4-level: Linux
 * {@code context_set_address_width(context, agaw)} with agaw 2). The SLPTPTR field is 51:12 as the
 * model's host address width is at most 52 bits. P and SLPTPTR share {@code lo}, so a stage-2 root
 * switch is one store of {@code lo}; the DID is alone in {@code hi}, so retagging is one store of it.
 */
public final class VtdContextEntry {
    public static final int BYTES = 16;
    public static final int ENTRIES = 256;

    public static final long LO_P = 1L;
    public static final long LO_FPD = 1L << 1;
    public static final long LO_TT = genmask(3, 2);
    public static final long LO_SLPTPTR = genmask(51, 12);
    public static final long LO_RESERVED = ~(LO_SLPTPTR | LO_TT | LO_FPD | LO_P);
    public static final int TT_MULTI_LEVEL = 0;
    public static final int TT_DEV_IOTLB = 1;
    public static final int TT_PASS_THROUGH = 2;

    public static final long HI_AW = genmask(2, 0);
    public static final long HI_IGN = genmask(6, 3);
    public static final long HI_DID = genmask(23, 8);
    public static final long HI_RESERVED = ~(HI_DID | HI_IGN | HI_AW);
    /** AW 010: 48-bit AGAW, 4-level second-level table. */
    public static final int AW_48 = 2;

    private VtdContextEntry() {}

    public static long offset(int devfn) {
        return (long) (devfn & 0xFF) * BYTES;
    }

    /** lo of a present entry translating through the second-level table at {@code s2Root} (TT 00, FPD 0). */
    public static long encodeLo(long s2Root) {
        return (s2Root & LO_SLPTPTR) | Bits.prep(LO_TT, TT_MULTI_LEVEL) | LO_P;
    }

    /** hi tagging the entry with domain id {@code did}, AW 48-bit. */
    public static long encodeHi(int did) {
        return Bits.prep(HI_DID, did & 0xFFFF) | Bits.prep(HI_AW, AW_48);
    }

    public static boolean present(long lo) { return (lo & LO_P) != 0; }
    public static boolean faultProcessingDisabled(long lo) { return (lo & LO_FPD) != 0; }
    public static int translationType(long lo) { return (int) Bits.get(LO_TT, lo); }
    public static long stage2Root(long lo) { return lo & LO_SLPTPTR; }
    public static int addressWidth(long hi) { return (int) Bits.get(HI_AW, hi); }
    public static int did(long hi) { return (int) Bits.get(HI_DID, hi); }

    public static long reservedLo(long lo) { return lo & LO_RESERVED; }
    public static long reservedHi(long hi) { return hi & HI_RESERVED; }

    /** Problems of the lo word of a present entry (reserved bits, a TT this model never writes); null if none. */
    public static String checkLo(long lo) {
        if (reservedLo(lo) != 0 || translationType(lo) != TT_MULTI_LEVEL) {
            return "translation type " + translationType(lo) + (reservedLo(lo) != 0 ? " and reserved bits "
                    + Bits.hex(reservedLo(lo)) : "") + " (raw lo " + Bits.hex(lo) + "); this model writes TT 00 only";
        }
        return null;
    }

    /** Problems of the hi word of a present entry (reserved bits, AW other than 010); null if none. */
    public static String checkHi(long hi) {
        if (addressWidth(hi) != AW_48 || reservedHi(hi) != 0) {
            return "address width field " + addressWidth(hi) + " or reserved bits set (raw hi " + Bits.hex(hi)
                    + "); expected AW 010 (48-bit, 4-level)";
        }
        return null;
    }

    /** Null when the (present) entry is one this model writes; else the first problem. */
    public static String check(long lo, long hi) {
        String p = checkLo(lo);
        return p != null ? p : checkHi(hi);
    }

    public static String describe(long lo, long hi) {
        return String.format("P=%d FPD=%d TT=%d SLPTPTR=0x%x AW=%d DID=%d", lo & LO_P, (lo & LO_FPD) >>> 1,
                translationType(lo), stage2Root(lo), addressWidth(hi), did(hi));
    }
}
