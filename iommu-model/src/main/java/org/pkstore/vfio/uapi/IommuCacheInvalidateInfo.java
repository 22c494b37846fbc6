package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_cache_invalidate_info} (vSVA RFC v3.1, docs/UAPI.md): a first-level/stage cache invalidation.
 * {@code cache} selects the caches (bit set of {@code IOMMU_CACHE_INV_TYPE_*}), {@code granularity}
 * one of {@code IommuUapi.IOMMU_INV_GRANU_*}; the union holds {@code pasid_info} for PASID
 * granularity and {@code addr_info} for ADDR granularity (nothing for DOMAIN). Valid combinations:
 * {@link IommuUapi#isValidCacheInvalidation(int, int)}.
 * <pre>
 * +--------+------+----------------------+-------------------------------------+
 * | offset | size | type                 | field                               |
 * +--------+------+----------------------+-------------------------------------+
 * |      0 |    4 | __u32                | version (IOMMU_UAPI_VERSION)        |
 * |      4 |    1 | __u8                 | cache                               |
 * |      5 |    1 | __u8                 | granularity                         |
 * |      6 |    2 | __u8[2]              | padding                             |
 * |      8 |   40 | union                | pasid_info (16) / addr_info (40)    |
 * +--------+------+----------------------+-------------------------------------+  sizeof = 48
 * </pre>
 */
public final class IommuCacheInvalidateInfo extends CStruct<IommuCacheInvalidateInfo> {
    public static final String C_NAME = "iommu_cache_invalidate_info";
    public static final int OFFSET_VERSION = 0;
    public static final int OFFSET_CACHE = OFFSET_VERSION + U32;
    public static final int OFFSET_GRANULARITY = OFFSET_CACHE + U8;
    public static final int OFFSET_PADDING = OFFSET_GRANULARITY + U8;
    /** Start of the anonymous union (8-aligned because of the __u64 members). */
    public static final int OFFSET_PASID_INFO = align(OFFSET_PADDING + 2 * U8, U64);
    public static final int OFFSET_ADDR_INFO = OFFSET_PASID_INFO;
    public static final int SIZE = OFFSET_ADDR_INFO + Math.max(IommuInvPasidInfo.SIZE, IommuInvAddrInfo.SIZE);

    /** IOMMU IOTLB. */
    public static final int IOMMU_CACHE_INV_TYPE_IOTLB = 1 << 0;
    /** Device IOTLB (ATS). */
    public static final int IOMMU_CACHE_INV_TYPE_DEV_IOTLB = 1 << 1;
    /** PASID cache. */
    public static final int IOMMU_CACHE_INV_TYPE_PASID = 1 << 2;
    /** Number of cache type bits. */
    public static final int IOMMU_CACHE_INV_TYPE_NR = 3;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int version() { return u32(OFFSET_VERSION); }
    public IommuCacheInvalidateInfo version(int v) { return u32(OFFSET_VERSION, v); }
    public int cache() { return u8(OFFSET_CACHE); }
    public IommuCacheInvalidateInfo cache(int v) { return u8(OFFSET_CACHE, v); }
    public int granularity() { return u8(OFFSET_GRANULARITY); }
    public IommuCacheInvalidateInfo granularity(int v) { return u8(OFFSET_GRANULARITY, v); }
    /** {@code padding[i]}, i in 0..1 (should be zero). */
    public int padding(int i) { return u8(OFFSET_PADDING + java.util.Objects.checkIndex(i, 2)); }
    public IommuCacheInvalidateInfo padding(int i, int v) { return u8(OFFSET_PADDING + java.util.Objects.checkIndex(i, 2), v); }

    /** The union viewed as {@code pasid_info}. */
    public IommuInvPasidInfo pasidInfo() { return nested(new IommuInvPasidInfo(), OFFSET_PASID_INFO); }
    /** The union viewed as {@code addr_info}. */
    public IommuInvAddrInfo addrInfo() { return nested(new IommuInvAddrInfo(), OFFSET_ADDR_INFO); }

    @Override
    protected String fields() {
        String head = "version=" + u(version()) + ", cache=" + x(cache()) + ", granularity=" + granularity();
        switch (granularity()) {
            case IommuUapi.IOMMU_INV_GRANU_PASID: return head + ", pasid_info={" + pasidInfo().fields() + "}";
            case IommuUapi.IOMMU_INV_GRANU_ADDR: return head + ", addr_info={" + addrInfo().fields() + "}";
            default: return head;
        }
    }
}
