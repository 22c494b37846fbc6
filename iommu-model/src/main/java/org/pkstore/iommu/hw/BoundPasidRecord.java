package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * The 64-byte bound-PASID slot of a leaf page under a {@link PasidDirectoryEntry} (both drivers):
 * the {@code iommu_gpasid_bind_data} of VFIO_IOMMU_BIND as pkstore stores it. The typed view is
 * {@link org.pkstore.iommu.BoundPasidEntry}; this class owns the bits.
 *
 * <pre>
 *  word 0
 *   63            24 23        16 15         8 7        2    1     0
 *  +----------------+------------+------------+----------+------+---+
 *  |    reserved    |   format   | addr_width | reserved |GPVAL | P |
 *  +----------------+------------+------------+----------+------+---+
 *  word 1  gpgd: guest first-level page directory (guest physical), 64 bits
 *  word 2  gpasid, 64 bits
 *  word 3  VT-d flags (IOMMU_SVA_VTD_GPASID_*), 64 bits
 *  word 4  63:32 emt | 31:0 pat
 *  word 5..7 reserved, 0
 * </pre>
 *
 * Word 0 holds P: it is stored last on bind and first on unbind, so a reader sees a whole record
 * or none. <b>Known departure (issue 12):</b> this is not a VT-d scalable-mode PASID-table entry
 * (read as one, its PGTT field, bits 8:6, is 0: reserved) nor an SMMUv3 context descriptor (its V
 * bit, word 0 bit 31 as Linux's {@code CTXDESC_CD_0_V}, is 0).
 */
public final class BoundPasidRecord {
    public static final int BYTES = 64;
    public static final int WORDS = BYTES / Long.BYTES;

    public static final long W0_P = 1L;
    public static final long W0_GPASID_VAL = 1L << 1;
    public static final long W0_ADDR_WIDTH = genmask(15, 8);
    public static final long W0_FORMAT = genmask(23, 16);
    public static final long W0_RESERVED = ~(W0_FORMAT | W0_ADDR_WIDTH | W0_GPASID_VAL | W0_P);
    public static final long W4_PAT = genmask(31, 0);
    public static final long W4_EMT = genmask(63, 32);

    private BoundPasidRecord() {}

    public static long encodeWord0(boolean gpasidValid, int addrWidth, int format) {
        return W0_P | (gpasidValid ? W0_GPASID_VAL : 0) | Bits.prep(W0_ADDR_WIDTH, addrWidth & 0xFF)
                | Bits.prep(W0_FORMAT, format & 0xFF);
    }

    public static long encodeWord4(int pat, int emt) {
        return (pat & W4_PAT) | Bits.prep(W4_EMT, emt & 0xFFFF_FFFFL);
    }

    public static boolean present(long w0) { return (w0 & W0_P) != 0; }
    public static boolean gpasidValid(long w0) { return (w0 & W0_GPASID_VAL) != 0; }
    public static int addrWidth(long w0) { return (int) Bits.get(W0_ADDR_WIDTH, w0); }
    public static int format(long w0) { return (int) Bits.get(W0_FORMAT, w0); }
    public static int pat(long w4) { return (int) (w4 & W4_PAT); }
    public static int emt(long w4) { return (int) Bits.get(W4_EMT, w4); }

    /** True when word 0 or words 5..7 have reserved bits set. */
    public static boolean reservedSet(long[] words) {
        return (words[0] & W0_RESERVED) != 0 || words[5] != 0 || words[6] != 0 || words[7] != 0;
    }

    /** Null when the (present) record is well formed; else why. PASID 0 is never bound (RID_PASID). */
    public static String check(int pasid, long[] words) {
        if (reservedSet(words)) {
            return "reserved bits or words set";
        }
        if (pasid == 0) {
            return "PASID 0 is reserved (requests without PASID)";
        }
        return null;
    }
}
