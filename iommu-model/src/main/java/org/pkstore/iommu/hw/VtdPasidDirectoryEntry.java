package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d scalable-mode PASID directory entry (VT-d specification 9.5), 8 bytes; entry
 * {@code pasid >> 6} of the directory a scalable-mode context entry names points to the PASID table
 * (one 4 KiB page of 64 {@link VtdPasidEntry}s) of PASIDs {@code pasid & ~63 .. | 63}. Linux:
 * {@code struct pasid_dir_entry}, {@code pasid_pde_is_present()}, {@code get_pasid_table_from_pde()},
 * {@code PASID_PDE_SHIFT}, {@code PDE_PFN_MASK} in drivers/iommu/intel/pasid.h;
 * {@code intel_pasid_get_entry()} in pasid.c.
 *
 * <pre>
 *   63      52 51                                   12 11        2   1   0
 *  +----------+---------------------------------------+-----------+---+---+
 *  | reserved |  SMPTBLPTR: scalable-mode PASID table |  reserved |FPD| P |
 *  +----------+---------------------------------------+-----------+---+---+
 * </pre>
 *
 * pkstore writes FPD 0; a non-present entry is 0.
 */
public final class VtdPasidDirectoryEntry {
    public static final int BYTES = 8;
    /** PASID_PDE_SHIFT: a PASID table holds 2^6 entries. */
    public static final int PDE_SHIFT = 6;
    public static final int ENTRIES_PER_TABLE = 1 << PDE_SHIFT;

    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final long SMPTBLPTR = genmask(51, 12);
    public static final long RESERVED = ~(SMPTBLPTR | FPD | P);

    private VtdPasidDirectoryEntry() {}

    /** Directory index of {@code pasid}. */
    public static int index(int pasid) { return pasid >>> PDE_SHIFT; }
    /** Byte offset of the directory entry of {@code pasid}. */
    public static long offset(int pasid) { return (long) index(pasid) * BYTES; }
    /** Byte offset of {@code pasid}'s entry in its PASID table. */
    public static long tableOffset(int pasid) { return (long) (pasid & (ENTRIES_PER_TABLE - 1)) * VtdPasidEntry.BYTES; }

    public static long encode(long pasidTablePa) { return (pasidTablePa & SMPTBLPTR) | P; }
    public static boolean present(long de) { return (de & P) != 0; }
    public static long pasidTablePa(long de) { return de & SMPTBLPTR; }
    public static long reserved(long de) { return de & RESERVED; }

    /** Null when well formed; a non-present entry must be zero. */
    public static String check(long de) {
        if (!present(de)) {
            return de == 0 ? null : "not present but not zero (raw " + Bits.hex(de) + ")";
        }
        return reserved(de) == 0 ? null : "reserved bits " + Bits.hex(reserved(de)) + " set (raw " + Bits.hex(de) + ")";
    }
}
