package org.pkstore.vfio.uapi;

/**
 * Constants of the IOMMU UAPI of the vSVA RFC v3.1
 * ({@code include/uapi/linux/iommu.h}; docs/UAPI.md lists the sources)
 * that are not tied to one struct: UAPI version, fault types, reasons and permissions, the
 * invalidation granularities, page response codes, and the cache-type x granularity validity
 * table. Flag bits that the header declares inside a struct live in that struct's class.
 */
public final class IommuUapi {
    private IommuUapi() {}

    /** {@code IOMMU_UAPI_VERSION}: the only version; a {@code version} field above it is -EINVAL. */
    public static final int IOMMU_UAPI_VERSION = 1;

    // enum IOMMU_UAPI_DATA_TYPES
    public static final int IOMMU_UAPI_BIND_GPASID = 0;
    public static final int IOMMU_UAPI_CACHE_INVAL = 1;
    public static final int IOMMU_UAPI_PAGE_RESP = 2;
    public static final int NR_IOMMU_UAPI_TYPE = 3;
    public static final int IOMMU_UAPI_CAP_MASK =
            (1 << IOMMU_UAPI_BIND_GPASID) | (1 << IOMMU_UAPI_CACHE_INVAL) | (1 << IOMMU_UAPI_PAGE_RESP);

    // Fault permissions (iommu_fault_unrecoverable.perm, iommu_fault_page_request.perm)
    public static final int IOMMU_FAULT_PERM_READ = 1 << 0;
    public static final int IOMMU_FAULT_PERM_WRITE = 1 << 1;
    public static final int IOMMU_FAULT_PERM_EXEC = 1 << 2;
    public static final int IOMMU_FAULT_PERM_PRIV = 1 << 3;

    // enum iommu_fault_type
    public static final int IOMMU_FAULT_DMA_UNRECOV = 1;
    public static final int IOMMU_FAULT_PAGE_REQ = 2;

    // enum iommu_fault_reason
    public static final int IOMMU_FAULT_REASON_UNKNOWN = 0;
    public static final int IOMMU_FAULT_REASON_PASID_FETCH = 1;
    public static final int IOMMU_FAULT_REASON_BAD_PASID_ENTRY = 2;
    public static final int IOMMU_FAULT_REASON_PASID_INVALID = 3;
    public static final int IOMMU_FAULT_REASON_WALK_EABT = 4;
    public static final int IOMMU_FAULT_REASON_PTE_FETCH = 5;
    public static final int IOMMU_FAULT_REASON_PERMISSION = 6;
    public static final int IOMMU_FAULT_REASON_ACCESS = 7;
    public static final int IOMMU_FAULT_REASON_OOR_ADDRESS = 8;

    private static final String[] REASON_NAMES = {
        "UNKNOWN", "PASID_FETCH", "BAD_PASID_ENTRY", "PASID_INVALID", "WALK_EABT",
        "PTE_FETCH", "PERMISSION", "ACCESS", "OOR_ADDRESS",
    };

    /** "IOMMU_FAULT_REASON_PERMISSION" for 6; "IOMMU_FAULT_REASON_?n" otherwise. */
    public static String faultReasonName(int reason) {
        return "IOMMU_FAULT_REASON_" + (reason >= 0 && reason < REASON_NAMES.length
                ? REASON_NAMES[reason] : "?" + Integer.toUnsignedString(reason));
    }

    // enum iommu_page_response_code
    public static final int IOMMU_PAGE_RESP_SUCCESS = 0;
    public static final int IOMMU_PAGE_RESP_INVALID = 1;
    public static final int IOMMU_PAGE_RESP_FAILURE = 2;

    // enum iommu_inv_granularity
    public static final int IOMMU_INV_GRANU_DOMAIN = 0;
    public static final int IOMMU_INV_GRANU_PASID = 1;
    public static final int IOMMU_INV_GRANU_ADDR = 2;
    public static final int IOMMU_INV_GRANU_NR = 3;

    /**
     * The validity table of the vSVA RFC v3.1 (docs/UAPI.md, section 2) (comment on {@code struct iommu_cache_invalidate_info}):
     * <pre>
     * type / granularity | DEV_IOTLB | IOTLB | PASID cache
     * DOMAIN             |    N/A    |   Y   |     Y
     * PASID              |     Y     |   Y   |     Y
     * ADDR               |     Y     |   Y   |    N/A
     * </pre>
     * "If multiple cache types are invalidated simultaneously, they all must support the used
     * granularity." So: {@code cache} must be non-zero, have no bits above
     * {@code IOMMU_CACHE_INV_TYPE_NR}, the granularity must be below {@code IOMMU_INV_GRANU_NR},
     * and every set type must be Y in the granularity's row.
     */
    public static boolean isValidCacheInvalidation(int cache, int granularity) {
        int all = (1 << IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_NR) - 1;
        if (cache == 0 || (cache & ~all) != 0 || granularity < 0 || granularity >= IOMMU_INV_GRANU_NR) {
            return false;
        }
        return (cache & ~supportedTypes(granularity)) == 0;
    }

    /** The cache types that are Y in the granularity's row of the validity table (0 if unknown). */
    public static int supportedTypes(int granularity) {
        switch (granularity) {
            case IOMMU_INV_GRANU_DOMAIN:
                return IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                        | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_PASID;
            case IOMMU_INV_GRANU_PASID:
                return IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                        | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB
                        | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_PASID;
            case IOMMU_INV_GRANU_ADDR:
                return IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                        | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB;
            default:
                return 0;
        }
    }
}
