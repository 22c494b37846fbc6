package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * pkstore's per-device VT-d extension entry, 16 bytes, 256 per extension page (index = devfn); the
 * page is named by the root entry's {@code hi} ({@link VtdRootEntry}). It is <b>not a VT-d
 * structure</b>: it stands in for the scalable-mode context entry's PASID-directory pointer and for
 * the nested (guest first-level) configuration until issue 12 replaces it with scalable mode.
 *
 * <pre>
 *  w0 (bytes 0..7): host PASID directory of bound PASIDs ({@link PasidDirectoryEntry} array)
 *   63      52 51                                   12 11          1   0
 *  +----------+---------------------------------------+-------------+---+
 *  | reserved |   PASID directory (PA, 32 pages)      |  reserved   | P |
 *  +----------+---------------------------------------+-------------+---+
 *  w1 (bytes 8..15): guest stage-1 (nested) configuration
 *   63      52 51                                   12 11      7 6      1   0
 *  +----------+---------------------------------------+---------+--------+---+
 *  | reserved |   guest PASID table (guest physical)  |reserved |PASIDBIT| V |
 *  +----------+---------------------------------------+---------+--------+---+
 * </pre>
 */
public final class VtdExtensionEntry {
    public static final int BYTES = 16;

    public static final long W0_P = 1L;
    public static final long W0_DIR = genmask(51, 12);
    public static final long W0_RESERVED = ~(W0_DIR | W0_P);

    public static final long W1_GUEST_VALID = 1L;
    public static final long W1_PASID_BITS = genmask(6, 1);
    public static final long W1_GUEST_BASE = genmask(51, 12);
    public static final long W1_RESERVED = ~(W1_GUEST_BASE | W1_PASID_BITS | W1_GUEST_VALID);

    private VtdExtensionEntry() {}

    public static long offset(int devfn) {
        return (long) (devfn & 0xFF) * BYTES;
    }

    public static long encodeW0(long pasidDirectoryPa) {
        return (pasidDirectoryPa & W0_DIR) | W0_P;
    }

    public static long encodeW1(long guestBase, int pasidBits) {
        return (guestBase & W1_GUEST_BASE) | Bits.prep(W1_PASID_BITS, pasidBits) | W1_GUEST_VALID;
    }

    public static boolean directoryPresent(long w0) { return (w0 & W0_P) != 0; }
    public static long directoryPa(long w0) { return directoryPresent(w0) ? w0 & W0_DIR : 0; }
    public static boolean guestValid(long w1) { return (w1 & W1_GUEST_VALID) != 0; }
    public static long guestBase(long w1) { return guestValid(w1) ? w1 & W1_GUEST_BASE : 0; }
    public static int guestPasidBits(long w1) { return guestValid(w1) ? (int) Bits.get(W1_PASID_BITS, w1) : 0; }

    public static long reservedW0(long w0) { return w0 & W0_RESERVED; }
    public static long reservedW1(long w1) { return w1 & W1_RESERVED; }

    public static String check(long w0, long w1) {
        if (reservedW0(w0) != 0 || (!directoryPresent(w0) && w0 != 0)) {
            return "extension entry w0: reserved bits set or not present but not zero (raw " + Bits.hex(w0) + ")";
        }
        if (reservedW1(w1) != 0 || (!guestValid(w1) && w1 != 0)) {
            return "extension entry w1: reserved bits set or not valid but not zero (raw " + Bits.hex(w1) + ")";
        }
        return null;
    }

    public static String describe(long w0, long w1) {
        return String.format("PASID directory P=%d 0x%x; guest stage valid=%d base 0x%x pasid bits %d", w0 & W0_P,
                w0 & W0_DIR, w1 & W1_GUEST_VALID, w1 & W1_GUEST_BASE, Bits.get(W1_PASID_BITS, w1));
    }
}
