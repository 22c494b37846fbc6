package org.pkstore.iommu;

/**
 * A guest PASID binding as the IOMMU reads it from a device's PASID table (VT-d) or context
 * descriptor table (SMMUv3): the {@code iommu_gpasid_bind_data} of VFIO_IOMMU_BIND.
 *
 * <p>Entry layout, 64 bytes (pkstore's own; the same for both drivers). Word 0 holds the present
 * bit and is stored last on bind (release) and first on unbind, so a reader sees a complete entry
 * or none.
 * <pre>
 *  word  bits     field
 *  0     0        P: present
 *  0     1        GPASID_VAL: gpasid is valid (IOMMU_SVA_GPASID_VAL)
 *  0     15:8     addr_width: guest virtual address width (39, 48, 57)
 *  0     23:16    format (1 = IOMMU_PASID_FORMAT_INTEL_VTD)
 *  1     63:0     gpgd: guest first-level page directory (guest physical)
 *  2     63:0     gpasid
 *  3     63:0     VT-d flags (IOMMU_SVA_VTD_GPASID_*)
 *  4     31:0     pat
 *  4     63:32    emt
 *  5..7           reserved, 0
 * </pre>
 */
public record BoundPasidEntry(int pasid, boolean gpasidValid, int addrWidth, int format, long gpgd, long gpasid,
                              long vtdFlags, int pat, int emt) {
    public static final int BYTES = 64;
    public static final int WORDS = BYTES / Long.BYTES;
    public static final long P = 1L;
    public static final long GPASID_VAL = 1L << 1;
    public static final int ADDR_WIDTH_SHIFT = 8;
    public static final int FORMAT_SHIFT = 16;

    /** Word 0 (holds P). */
    public long word0() {
        return P | (gpasidValid ? GPASID_VAL : 0) | ((long) (addrWidth & 0xFF) << ADDR_WIDTH_SHIFT)
                | ((long) (format & 0xFF) << FORMAT_SHIFT);
    }

    /** Words 1..4 in order; 5..7 are zero. */
    public long word(int i) {
        switch (i) {
            case 0: return word0();
            case 1: return gpgd;
            case 2: return gpasid;
            case 3: return vtdFlags;
            case 4: return (pat & 0xFFFF_FFFFL) | ((long) emt << 32);
            default: return 0;
        }
    }

    /** Decodes words read from a table; null when word 0 is not present. */
    public static BoundPasidEntry decode(int pasid, long[] w) {
        if ((w[0] & P) == 0) {
            return null;
        }
        return new BoundPasidEntry(pasid, (w[0] & GPASID_VAL) != 0, (int) ((w[0] >>> ADDR_WIDTH_SHIFT) & 0xFF),
                (int) ((w[0] >>> FORMAT_SHIFT) & 0xFF), w[1], w[2], w[3], (int) w[4], (int) (w[4] >>> 32));
    }
}
