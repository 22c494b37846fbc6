package org.pkstore.iommu;

import org.pkstore.iommu.hw.BoundPasidRecord;

/**
 * A guest PASID binding as the IOMMU reads it from a device's PASID table (VT-d) or context
 * descriptor table (SMMUv3): the {@code iommu_gpasid_bind_data} of VFIO_IOMMU_BIND. The 64-byte
 * slot layout (pkstore's own; the same for both drivers) is owned by {@link BoundPasidRecord}.
 */
public record BoundPasidEntry(int pasid, boolean gpasidValid, int addrWidth, int format, long gpgd, long gpasid,
                              long vtdFlags, int pat, int emt) {
    public static final int BYTES = BoundPasidRecord.BYTES;
    public static final int WORDS = BoundPasidRecord.WORDS;
    public static final long P = BoundPasidRecord.W0_P;
    public static final long GPASID_VAL = BoundPasidRecord.W0_GPASID_VAL;

    /** Word 0 (holds P). */
    public long word0() {
        return BoundPasidRecord.encodeWord0(gpasidValid, addrWidth, format);
    }

    /** Words 1..4 in order; 5..7 are zero. */
    public long word(int i) {
        switch (i) {
            case 0: return word0();
            case 1: return gpgd;
            case 2: return gpasid;
            case 3: return vtdFlags;
            case 4: return BoundPasidRecord.encodeWord4(pat, emt);
            default: return 0;
        }
    }

    /** Decodes words read from a table; null when word 0 is not present. */
    public static BoundPasidEntry decode(int pasid, long[] w) {
        if (!BoundPasidRecord.present(w[0])) {
            return null;
        }
        return new BoundPasidEntry(pasid, BoundPasidRecord.gpasidValid(w[0]), BoundPasidRecord.addrWidth(w[0]),
                BoundPasidRecord.format(w[0]), w[1], w[2], w[3], BoundPasidRecord.pat(w[4]), BoundPasidRecord.emt(w[4]));
    }
}
