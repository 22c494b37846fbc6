package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iova_range} (mainline linux/vfio.h): one element of
 * {@code vfio_iommu_type1_info_cap_iova_range.iova_ranges[]}; {@code end} is inclusive.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    8 | __u64 | start                     |
 * |      8 |    8 | __u64 | end (inclusive)           |
 * +--------+------+-------+---------------------------+  sizeof = 16
 * </pre>
 */
public final class VfioIovaRange extends CStruct<VfioIovaRange> {
    public static final String C_NAME = "vfio_iova_range";
    public static final int OFFSET_START = 0;
    public static final int OFFSET_END = OFFSET_START + U64;
    public static final int SIZE = OFFSET_END + U64;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public long start() { return u64(OFFSET_START); }
    public VfioIovaRange start(long v) { return u64(OFFSET_START, v); }
    public long end() { return u64(OFFSET_END); }
    public VfioIovaRange end(long v) { return u64(OFFSET_END, v); }

    @Override
    protected String fields() {
        return "start=" + x(start()) + ", end=" + x(end());
    }
}
