package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_info_cap_iova_range} (mainline linux/vfio.h), capability id
 * {@link VfioUapi#VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE}, version 1: the valid IOVA ranges.
 * {@code iova_ranges[]} is a flexible array; the capability occupies {@link #sizeFor(int)} bytes.
 * <pre>
 * +--------+------+------------------------+---------------------------+
 * | offset | size | type                   | field                     |
 * +--------+------+------------------------+---------------------------+
 * |      0 |    8 | vfio_info_cap_header   | header                    |
 * |      8 |    4 | __u32                  | nr_iovas                  |
 * |     12 |    4 | __u32                  | reserved                  |
 * |     16 | 16*n | vfio_iova_range[]      | iova_ranges               |
 * +--------+------+------------------------+---------------------------+  sizeof = 16 (+ 16 per range)
 * </pre>
 */
public final class VfioIommuType1InfoCapIovaRange extends CStruct<VfioIommuType1InfoCapIovaRange> {
    public static final String C_NAME = "vfio_iommu_type1_info_cap_iova_range";
    public static final int OFFSET_HEADER = 0;
    public static final int OFFSET_NR_IOVAS = OFFSET_HEADER + VfioInfoCapHeader.SIZE;
    public static final int OFFSET_RESERVED = OFFSET_NR_IOVAS + U32;
    public static final int OFFSET_IOVA_RANGES = OFFSET_RESERVED + U32;
    public static final int SIZE = OFFSET_IOVA_RANGES;
    /** Capability version this layout describes. */
    public static final int VERSION = 1;

    /** Bytes of a capability holding {@code nrIovas} ranges. */
    public static int sizeFor(int nrIovas) {
        if (nrIovas < 0) {
            throw new IllegalArgumentException("nr_iovas " + nrIovas);
        }
        return Math.addExact(SIZE, Math.multiplyExact(nrIovas, VfioIovaRange.SIZE));
    }

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public VfioInfoCapHeader header() { return nested(new VfioInfoCapHeader(), OFFSET_HEADER); }
    public int nrIovas() { return u32(OFFSET_NR_IOVAS); }
    public VfioIommuType1InfoCapIovaRange nrIovas(int v) { return u32(OFFSET_NR_IOVAS, v); }
    public int reserved() { return u32(OFFSET_RESERVED); }
    public VfioIommuType1InfoCapIovaRange reserved(int v) { return u32(OFFSET_RESERVED, v); }

    /** {@code iova_ranges[i]}; checked against the wrapped buffer (not against nr_iovas). */
    public VfioIovaRange iovaRange(int i) {
        int rel = OFFSET_IOVA_RANGES + Math.multiplyExact(i, VfioIovaRange.SIZE);
        checkRange(rel, VfioIovaRange.SIZE, "iova_ranges[" + i + "]");
        return nested(new VfioIovaRange(), rel);
    }

    @Override
    protected String fields() {
        return "header={" + header().fields() + "}, nr_iovas=" + u(nrIovas()) + ", reserved=" + u(reserved());
    }
}
