package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * VT-d scalable-mode root entry (VT-d specification 9.2 "Scalable-Mode Root Entry"), 16 bytes, one
 * per bus in the 4 KiB root table (index = bus). Each half names a context table of 128 32-byte
 * scalable-mode context entries: {@code lo} the one for devfn 0x00..0x7F, {@code hi} the one for
 * devfn 0x80..0xFF. Linux: {@code struct root_entry}, {@code root_entry_lctp()},
 * {@code root_entry_uctp()} and {@code iommu_context_addr()} (which picks {@code &root->hi} for
 * devfn &gt;= 0x80 and doubles the index) in drivers/iommu/intel/iommu.c.
 *
 * <pre>
 *  lo (bytes 0..7)
 *   63      52 51                                   12 11          1   0
 *  +----------+---------------------------------------+-------------+----+
 *  | reserved |  LCTP: lower context-table pointer    |  reserved   | LP |
 *  +----------+---------------------------------------+-------------+----+
 *  hi (bytes 8..15)
 *   63      52 51                                   12 11          1   0
 *  +----------+---------------------------------------+-------------+----+
 *  | reserved |  UCTP: upper context-table pointer    |  reserved   | UP |
 *  +----------+---------------------------------------+-------------+----+
 * </pre>
 *
 * The pointer fields are 51:12 because the model's host address width is at most 52 bits (the
 * specification's fields are 63:12, bits above HAW reserved).
 */
public final class VtdScalableRootEntry {
    public static final int BYTES = 16;
    public static final int ENTRIES = 256;
    /** devfn 0x80 and above are in the upper context table. */
    public static final int UPPER_DEVFN = 0x80;

    public static final long P = 1L;
    public static final long CTP = genmask(51, 12);
    public static final long RESERVED = ~(CTP | P);

    private VtdScalableRootEntry() {}

    /** Byte offset of the entry of {@code bus} in the root table. */
    public static long offset(int bus) {
        return (long) (bus & 0xFF) * BYTES;
    }

    /** Byte offset, inside the root entry, of the word naming {@code devfn}'s context table: 0 (lo) or 8 (hi). */
    public static int wordOffset(int devfn) {
        return (devfn & 0xFF) >= UPPER_DEVFN ? 8 : 0;
    }

    /** Byte offset of {@code devfn}'s entry in its (lower or upper) context table. */
    public static long contextEntryOffset(int devfn) {
        return (long) (devfn & (UPPER_DEVFN - 1)) * VtdScalableContextEntry.BYTES;
    }

    /** A present lo (LCTP | LP) or hi (UCTP | UP) word. */
    public static long encode(long contextTablePa) {
        return (contextTablePa & CTP) | P;
    }

    public static boolean present(long word) { return (word & P) != 0; }
    public static long contextTablePa(long word) { return word & CTP; }
    public static long reserved(long word) { return word & RESERVED; }

    /** Null when well formed; a non-present half must be zero. {@code half} is "lo" or "hi" for the message. */
    public static String check(long word, String half) {
        if (!present(word)) {
            return word == 0 ? null : "scalable-mode root entry " + half + " not present but not zero (raw " + Bits.hex(word) + ")";
        }
        return reserved(word) == 0 ? null
                : "scalable-mode root entry " + half + ": reserved bits " + Bits.hex(reserved(word)) + " set (raw " + Bits.hex(word) + ")";
    }

    public static String describe(long lo, long hi) {
        return String.format("LP=%d LCTP=0x%x UP=%d UCTP=0x%x", lo & P, contextTablePa(lo), hi & P, contextTablePa(hi));
    }
}
