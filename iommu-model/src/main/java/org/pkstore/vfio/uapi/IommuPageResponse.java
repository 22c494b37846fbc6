package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_page_response} (vSVA RFC v3.1, docs/UAPI.md): the answer to a page request fault; carried in
 * {@code vfio_iommu_type1_page_response.resp}.
 * <pre>
 * +--------+------+-------+-------------------------------------------+
 * | offset | size | type  | field                                     |
 * +--------+------+-------+-------------------------------------------+
 * |      0 |    4 | __u32 | version (IOMMU_UAPI_VERSION)              |
 * |      4 |    4 | __u32 | flags (IOMMU_PAGE_RESP_PASID_VALID)       |
 * |      8 |    4 | __u32 | pasid                                     |
 * |     12 |    4 | __u32 | grpid                                     |
 * |     16 |    4 | __u32 | code (IommuUapi.IOMMU_PAGE_RESP_*)        |
 * +--------+------+-------+-------------------------------------------+  sizeof = 20
 * </pre>
 */
public final class IommuPageResponse extends CStruct<IommuPageResponse> {
    public static final String C_NAME = "iommu_page_response";
    public static final int OFFSET_VERSION = 0;
    public static final int OFFSET_FLAGS = OFFSET_VERSION + U32;
    public static final int OFFSET_PASID = OFFSET_FLAGS + U32;
    public static final int OFFSET_GRPID = OFFSET_PASID + U32;
    public static final int OFFSET_CODE = OFFSET_GRPID + U32;
    public static final int SIZE = OFFSET_CODE + U32;

    public static final int IOMMU_PAGE_RESP_PASID_VALID = 1 << 0;
    /** Every flag bit this model knows; any other bit is -EINVAL. */
    public static final int KNOWN_FLAGS = IOMMU_PAGE_RESP_PASID_VALID;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int version() { return u32(OFFSET_VERSION); }
    public IommuPageResponse version(int v) { return u32(OFFSET_VERSION, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuPageResponse flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int pasid() { return u32(OFFSET_PASID); }
    public IommuPageResponse pasid(int v) { return u32(OFFSET_PASID, v); }
    public int grpid() { return u32(OFFSET_GRPID); }
    public IommuPageResponse grpid(int v) { return u32(OFFSET_GRPID, v); }
    public int code() { return u32(OFFSET_CODE); }
    public IommuPageResponse code(int v) { return u32(OFFSET_CODE, v); }

    @Override
    protected String fields() {
        return "version=" + u(version()) + ", flags=" + x(flags()) + ", pasid=" + u(pasid()) + ", grpid=" + u(grpid())
                + ", code=" + u(code());
    }
}
