package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_page_response} (pkstore addition), argument of
 * {@code VFIO_IOMMU_PAGE_RESPONSE}: answer one page request fault.
 * <pre>
 * +--------+------+----------------------+---------------------------+
 * | offset | size | type                 | field                     |
 * +--------+------+----------------------+---------------------------+
 * |      0 |    4 | __u32                | argsz                     |
 * |      4 |    4 | __u32                | flags (must be 0)         |
 * |      8 |   20 | iommu_page_response  | resp                      |
 * +--------+------+----------------------+---------------------------+  sizeof = 28
 * </pre>
 */
public final class VfioIommuType1PageResponse extends CStruct<VfioIommuType1PageResponse> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_page_response";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_RESP = OFFSET_FLAGS + U32;
    public static final int SIZE = OFFSET_RESP + IommuPageResponse.SIZE;

    /** No flag is defined: any bit is -EINVAL. */
    public static final int KNOWN_FLAGS = 0;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1PageResponse argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1PageResponse flags(int v) { return u32(OFFSET_FLAGS, v); }
    public IommuPageResponse resp() { return nested(new IommuPageResponse(), OFFSET_RESP); }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", resp={" + resp().fields() + "}";
    }
}
