package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d scalable-mode context entry (VT-d specification 9.4 "Scalable-Mode Context Entry"), 256 bits:
 * four words, 128 per context table (index = devfn &amp; 0x7F, see {@link VtdScalableRootEntry}).
 * Linux: {@code context_entry_set_pasid_table()} / {@code domain_context_mapping_one()} in
 * drivers/iommu/intel/iommu.c with {@code context_pdts()}, {@code context_set_sm_rid2pasid()},
 * {@code context_set_sm_dte()}, {@code context_set_sm_pre()}, {@code context_set_pasid()} (PASIDE,
 * bit 3), {@code context_set_fault_enable()}, {@code context_set_present()} of iommu.h;
 * {@code get_pasid_dir_size()} / {@code is_pasid_enabled()} in pasid.h.
 *
 * <pre>
 *  w0 (bytes 0..7)
 *   63      52 51                          12 11   9 8      5   4     3     2    1   0
 *  +----------+------------------------------+------+--------+-----+------+-----+---+---+
 *  | reserved | PASIDDIRPTR: PASID directory | PDTS |reserved| PRE |PASIDE| DTE |FPD| P |
 *  +----------+------------------------------+------+--------+-----+------+-----+---+---+
 *  w1 (bytes 8..15)
 *   63                                         21    20     19                        0
 *  +---------------------------------------------+--------+----------------------------+
 *  |                 reserved                    |RID_PRIV|          RID_PASID         |
 *  +---------------------------------------------+--------+----------------------------+
 *  w2, w3 (bytes 16..31): reserved
 * </pre>
 *
 * PDTS X means a directory of 2^(X + 7) 8-byte entries; pkstore writes 7 (2^14 entries, 20-bit
 * PASIDs: Linux {@code context_get_sm_pds()} for max_pasid 2^20), PASIDE 1, RID_PASID 0
 * ({@code IOMMU_NO_PASID}), DTE/PRE/FPD/RID_PRIV 0. P and the directory pointer share w0, so
 * publishing or clearing the entry is one store; pkstore clears only P on detach and keeps the
 * pointer, so the directory of a detached device stays reachable (hardware ignores a non-present
 * entry's other fields).
 */
public final class VtdScalableContextEntry {
    public static final int BYTES = 32;
    public static final int WORDS = 4;
    public static final int ENTRIES = 128;

    public static final long W0_P = 1L;
    public static final long W0_FPD = 1L << 1;
    public static final long W0_DTE = 1L << 2;
    public static final long W0_PASIDE = 1L << 3;
    public static final long W0_PRE = 1L << 4;
    public static final long W0_PDTS = genmask(11, 9);
    public static final long W0_PASIDDIRPTR = genmask(51, 12);
    public static final long W0_RESERVED = ~(W0_PASIDDIRPTR | W0_PDTS | W0_PRE | W0_PASIDE | W0_DTE | W0_FPD | W0_P);

    public static final long W1_RID_PASID = genmask(19, 0);
    public static final long W1_RID_PRIV = 1L << 20;
    public static final long W1_RESERVED = ~(W1_RID_PRIV | W1_RID_PASID);

    /** PDTS for a 2^14-entry directory: every 20-bit PASID. */
    public static final int PDTS_20_BIT_PASIDS = 7;
    /** PASID that requests without PASID use (Linux IOMMU_NO_PASID, formerly PASID_RID2PASID). */
    public static final int RID_PASID_DEFAULT = 0;

    private VtdScalableContextEntry() {}

    /** w0 of a present entry naming the PASID directory at {@code dirPa} of 2^(pdts + 7) entries, PASIDE set. */
    public static long encodeW0(long dirPa, int pdts) {
        return (dirPa & W0_PASIDDIRPTR) | Bits.prep(W0_PDTS, pdts) | W0_PASIDE | W0_P;
    }

    public static long encodeW1(int ridPasid) {
        return Bits.prep(W1_RID_PASID, ridPasid);
    }

    public static boolean present(long w0) { return (w0 & W0_P) != 0; }
    public static boolean faultProcessingDisabled(long w0) { return (w0 & W0_FPD) != 0; }
    public static boolean pasidEnabled(long w0) { return (w0 & W0_PASIDE) != 0; }
    public static long directoryPa(long w0) { return w0 & W0_PASIDDIRPTR; }
    public static int pdts(long w0) { return (int) Bits.get(W0_PDTS, w0); }
    /** Entries of the PASID directory (Linux get_pasid_dir_size()). */
    public static int directoryEntries(long w0) { return 1 << (pdts(w0) + 7); }
    public static int ridPasid(long w1) { return (int) Bits.get(W1_RID_PASID, w1); }
    /** w0 with P cleared: the detached form, directory pointer kept. */
    public static long withoutPresent(long w0) { return w0 & ~W0_P; }

    /**
     * Null when the words are an entry this model reads; else the first problem. A non-present entry
     * may keep its directory pointer and PDTS (detached device), nothing else.
     */
    public static String check(long w0, long w1, long w2, long w3) {
        long res0 = w0 & W0_RESERVED;
        if (res0 != 0) {
            return "w0 reserved bits " + Bits.hex(res0) + " set (raw " + Bits.hex(w0) + ")";
        }
        if ((w1 & W1_RESERVED) != 0 || w2 != 0 || w3 != 0) {
            return "reserved bits set in w1..w3 (raw " + Bits.hex(w1) + " " + Bits.hex(w2) + " " + Bits.hex(w3) + ")";
        }
        if (!present(w0)) {
            return (w0 & ~(W0_PASIDDIRPTR | W0_PDTS | W0_PASIDE)) == 0 && w1 == 0 ? null
                    : "not present but holds more than the kept directory pointer (raw w0 " + Bits.hex(w0) + ", w1 " + Bits.hex(w1) + ")";
        }
        return directoryPa(w0) == 0 ? "present without a PASID directory (raw " + Bits.hex(w0) + ")" : null;
    }

    public static String describe(long w0, long w1) {
        return String.format("P=%d FPD=%d DTE=%d PASIDE=%d PRE=%d PDTS=%d (%d entries) PASIDDIRPTR=0x%x RID_PASID=%d",
                w0 & W0_P, (w0 & W0_FPD) >>> 1, (w0 & W0_DTE) >>> 2, (w0 & W0_PASIDE) >>> 3, (w0 & W0_PRE) >>> 4,
                pdts(w0), directoryEntries(w0), directoryPa(w0), ridPasid(w1));
    }
}
