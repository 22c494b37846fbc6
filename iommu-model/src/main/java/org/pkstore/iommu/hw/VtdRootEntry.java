package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d legacy-mode root entry (Intel VT-d specification, section 9.1 "Root Entry"; Linux
 * {@code struct root_entry} and {@code root_entry_lctp()} in drivers/iommu/intel/iommu.c), 16 bytes,
 * one per bus in the 4 KiB root table (index = bus number).
 *
 * <pre>
 *  lo (bytes 0..7)
 *   63      52 51                                   12 11          1   0
 *  +----------+---------------------------------------+-------------+---+
 *  | reserved |   CTP: context-table pointer (PA)     |  reserved   | P |
 *  +----------+---------------------------------------+-------------+---+
 *  hi (bytes 8..15): reserved (0) in legacy mode
 * </pre>
 *
 * Used for units without PASID capability; a scalable-mode unit's root entries are
 * {@link VtdScalableRootEntry}. The CTP field is 51:12 because the model's host address width is at
 * most 52 bits (the specification's field is 63:12, bits above HAW reserved).
 */
public final class VtdRootEntry {
    public static final int BYTES = 16;
    public static final int ENTRIES = 256;

    public static final long LO_P = 1L;
    public static final long LO_CTP = genmask(51, 12);
    public static final long LO_RESERVED = ~(LO_CTP | LO_P);

    /** Legacy mode reserves all of bits 127:64. */
    public static final long HI_RESERVED = -1L;

    private VtdRootEntry() {}

    /** Byte offset of the entry of {@code bus} in the root table. */
    public static long offset(int bus) {
        return (long) (bus & 0xFF) * BYTES;
    }

    public static long encodeLo(long contextTablePa) {
        return (contextTablePa & LO_CTP) | LO_P;
    }

    public static boolean present(long lo) { return (lo & LO_P) != 0; }
    public static long contextTablePa(long lo) { return lo & LO_CTP; }

    /** Reserved bits set in {@code lo} (0 when clean). */
    public static long reservedLo(long lo) { return lo & LO_RESERVED; }

    /** Reserved bits set in {@code hi}: every set bit. */
    public static long reservedHi(long hi) { return hi & HI_RESERVED; }

    /** Null when well formed; else why. A non-present lo must be all zero (nothing half written). */
    public static String check(long lo, long hi) {
        if (!present(lo) && lo != 0) {
            return "root entry lo not present but not zero (raw " + Bits.hex(lo) + ")";
        }
        if (reservedLo(lo) != 0) {
            return "root entry lo: reserved bits " + Bits.hex(reservedLo(lo)) + " set (raw " + Bits.hex(lo) + ")";
        }
        if (reservedHi(hi) != 0) {
            return "root entry hi: reserved bits " + Bits.hex(reservedHi(hi)) + " set (raw "
                    + Bits.hex(hi) + ")";
        }
        return null;
    }

    public static String describe(long lo, long hi) {
        return String.format("P=%d context table 0x%x; hi 0x%x", lo & LO_P, contextTablePa(lo), hi);
    }
}
