package org.pkstore.iommu.hw;

/** GENMASK and field helpers shared by the entry codecs (Linux include/linux/bits.h, bitfield.h). */
final class Bits {
    private Bits() {}

    /** Bits {@code high..low} set, as Linux's GENMASK_ULL(high, low). */
    static long genmask(int high, int low) {
        return (-1L >>> (63 - high)) & (-1L << low);
    }

    /** FIELD_GET: the field under {@code mask}, shifted down. */
    static long get(long mask, long word) {
        return (word & mask) >>> Long.numberOfTrailingZeros(mask);
    }

    /** FIELD_PREP: {@code value} shifted into {@code mask} (excess bits dropped). */
    static long prep(long mask, long value) {
        return (value << Long.numberOfTrailingZeros(mask)) & mask;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
