package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_info} (mainline linux/vfio.h), argument of
 * {@code VFIO_IOMMU_GET_INFO}. Caller sets {@code argsz}. When {@code flags} has
 * {@link #VFIO_IOMMU_INFO_CAPS}, a capability chain starts at {@code cap_offset} (from the start of
 * this struct), inside {@code argsz}. If {@code argsz} is too small for the chain the kernel
 * returns 0, sets {@code argsz} to the size needed and {@code cap_offset} to 0.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | argsz                     |
 * |      4 |    4 | __u32 | flags                     |
 * |      8 |    8 | __u64 | iova_pgsizes              |
 * |     16 |    4 | __u32 | cap_offset                |
 * |     20 |    4 | __u32 | pad (tail padding; named  |
 * |        |      |       | only in newer headers)    |
 * +--------+------+-------+---------------------------+  sizeof = 24
 * </pre>
 * Linux type1 requires {@code argsz >= offsetofend(iova_pgsizes)} = 16 ({@link #MINSZ}, else
 * -EINVAL); {@code cap_offset} is only read/written when {@code argsz >= offsetofend(cap_offset)} =
 * 20 ({@link #CAPSZ}); the capability chain is placed after {@code sizeof} = 24 ({@link #SIZE}).
 */
public final class VfioIommuType1Info extends CStruct<VfioIommuType1Info> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_info";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_IOVA_PGSIZES = OFFSET_FLAGS + U32;
    public static final int OFFSET_CAP_OFFSET = OFFSET_IOVA_PGSIZES + U64;
    public static final int OFFSET_PAD = OFFSET_CAP_OFFSET + U32;
    public static final int SIZE = OFFSET_PAD + U32;
    /** Linux type1 {@code minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes)} = 16. */
    public static final int MINSZ = OFFSET_IOVA_PGSIZES + U64;
    /** Linux type1 {@code capsz = offsetofend(struct vfio_iommu_type1_info, cap_offset)} = 20. */
    public static final int CAPSZ = OFFSET_CAP_OFFSET + U32;

    /** {@code iova_pgsizes} is valid. */
    public static final int VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
    /** {@code cap_offset} is valid (info supports caps). */
    public static final int VFIO_IOMMU_INFO_CAPS = 1 << 1;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1Info argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1Info flags(int v) { return u32(OFFSET_FLAGS, v); }
    public long iovaPgsizes() { return u64(OFFSET_IOVA_PGSIZES); }
    public VfioIommuType1Info iovaPgsizes(long v) { return u64(OFFSET_IOVA_PGSIZES, v); }
    public int capOffset() { return u32(OFFSET_CAP_OFFSET); }
    public VfioIommuType1Info capOffset(int v) { return u32(OFFSET_CAP_OFFSET, v); }
    public int pad() { return u32(OFFSET_PAD); }
    public VfioIommuType1Info pad(int v) { return u32(OFFSET_PAD, v); }

    /**
     * The capability header at {@code relOffset} from the start of this struct (as found in
     * {@code cap_offset} or a header's {@code next}); bounds-checked against the wrapped buffer.
     */
    public VfioInfoCapHeader capAt(int relOffset) {
        checkRange(relOffset, VfioInfoCapHeader.SIZE, "cap@" + Integer.toUnsignedString(relOffset));
        return nested(new VfioInfoCapHeader(), relOffset);
    }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", iova_pgsizes=" + x(iovaPgsizes())
                + ", cap_offset=" + u(capOffset());
    }
}
