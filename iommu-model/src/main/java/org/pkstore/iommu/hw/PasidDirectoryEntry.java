package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * One 8-byte entry of a device's host PASID directory (both drivers): 2^14 entries in 32 contiguous
 * pages, entry {@code pasid >> 6} names the leaf page holding the 64 {@link BoundPasidRecord} slots
 * of PASIDs {@code (pasid & ~63) .. | 63}. Same indexing as the VT-d scalable-mode PASID directory
 * (VT-d specification 9.5: bit 0 P, bit 1 FPD, 63:12 PASID-table pointer; Linux
 * {@code struct pasid_dir_entry}, {@code pasid_pde_is_present}, {@code get_pasid_table_from_pde} in
 * drivers/iommu/intel/pasid.h) and shaped like an SMMUv3 L1 context descriptor (Linux
 * {@code CTXDESC_L1_DESC_V} bit 0, {@code CTXDESC_L1_DESC_L2PTR_MASK} 51:12).
 *
 * <pre>
 *   63      52 51                                   12 11          1   0
 *  +----------+---------------------------------------+-------------+---+
 *  | reserved |   leaf page of 64 bound-PASID slots   |  reserved   | P |
 *  +----------+---------------------------------------+-------------+---+
 * </pre>
 *
 * The leaves are not PASID-table entries nor context descriptors (see {@link BoundPasidRecord}).
 */
public final class PasidDirectoryEntry {
    public static final int BYTES = 8;
    public static final int PASID_BITS = 20;
    public static final int SLOTS_PER_LEAF = 64;
    public static final int LEAF_SHIFT = 6;
    public static final int ENTRIES = 1 << (PASID_BITS - LEAF_SHIFT);

    public static final long P = 1L;
    public static final long LEAF = genmask(51, 12);
    public static final long RESERVED = ~(LEAF | P);

    private PasidDirectoryEntry() {}

    /** Byte offset of the directory entry of {@code pasid}. */
    public static long offset(int pasid) { return (long) (pasid >>> LEAF_SHIFT) * BYTES; }

    /** Byte offset of the slot of {@code pasid} in its leaf page. */
    public static long slotOffset(int pasid) { return (long) (pasid & (SLOTS_PER_LEAF - 1)) * BoundPasidRecord.BYTES; }

    public static long encode(long leafPa) { return (leafPa & LEAF) | P; }
    public static boolean present(long de) { return (de & P) != 0; }
    public static long leafPa(long de) { return de & LEAF; }
    public static long reserved(long de) { return de & RESERVED; }

    /** Null when well formed; a non-present entry must be zero. */
    public static String check(long de) {
        if (!present(de)) {
            return de == 0 ? null : "not present but not zero (raw " + Bits.hex(de) + ")";
        }
        return reserved(de) == 0 ? null : "reserved bits set (raw " + Bits.hex(de) + ")";
    }
}
