package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_cache_invalidate} (vSVA RFC v3.1, docs/UAPI.md), argument of
 * {@code VFIO_IOMMU_CACHE_INVALIDATE}: propagate a guest IOMMU cache invalidation.
 * <pre>
 * +--------+------+------------------------------+---------------------------+
 * | offset | size | type                         | field                     |
 * +--------+------+------------------------------+---------------------------+
 * |      0 |    4 | __u32                        | argsz                     |
 * |      4 |    4 | __u32                        | flags (must be 0)         |
 * |      8 |   48 | iommu_cache_invalidate_info  | cache_info                |
 * +--------+------+------------------------------+---------------------------+  sizeof = 56
 * </pre>
 */
public final class VfioIommuType1CacheInvalidate extends CStruct<VfioIommuType1CacheInvalidate> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_cache_invalidate";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_CACHE_INFO = OFFSET_FLAGS + U32;
    public static final int SIZE = OFFSET_CACHE_INFO + IommuCacheInvalidateInfo.SIZE;

    /** No flag is defined: any bit is -EINVAL. */
    public static final int KNOWN_FLAGS = 0;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1CacheInvalidate argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1CacheInvalidate flags(int v) { return u32(OFFSET_FLAGS, v); }
    public IommuCacheInvalidateInfo cacheInfo() { return nested(new IommuCacheInvalidateInfo(), OFFSET_CACHE_INFO); }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", cache_info={" + cacheInfo().fields() + "}";
    }
}
