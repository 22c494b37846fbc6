package org.pkstore.vfio.uapi;

/**
 * VFIO constants that belong to no single struct: ioctl encoding, API version, extensions
 * ({@code VFIO_CHECK_EXTENSION} / {@code VFIO_SET_IOMMU} values), type1 info capability ids, and
 * the mainline ioctl numbers on the container fd that pkstore does not model but must never reuse.
 * Names are the C names so they can be grepped against the headers; docs/UAPI.md gives the
 * reasons for every number that differs from an RFC seed.
 */
public final class VfioUapi {
    private VfioUapi() {}

    /** {@code VFIO_TYPE}: the ioctl "magic" character ';'. */
    public static final int VFIO_TYPE = ';';
    /** {@code VFIO_BASE}: first ioctl nr. */
    public static final int VFIO_BASE = 100;
    /** Returned by {@code VFIO_GET_API_VERSION}. */
    public static final int VFIO_API_VERSION = 0;

    /**
     * Linux {@code _IO(type, nr)} on x86-64: {@code _IOC(_IOC_NONE=0, type, nr, size=0)} =
     * {@code (type << 8) | nr}. VFIO uses {@code _IO} for every ioctl, so the number carries no size
     * and no direction; {@code argsz} in the struct does that job.
     */
    public static int io(int type, int nr) {
        if (type < 0 || type > 0xFF || nr < 0 || nr > 0xFF) {
            throw new IllegalArgumentException("_IO type/nr are 8 bits: " + type + ", " + nr);
        }
        return (type << 8) | nr;
    }

    /** {@code _IO(VFIO_TYPE, VFIO_BASE + n)}. */
    public static int vfioIo(int n) {
        return io(VFIO_TYPE, VFIO_BASE + n);
    }

    // ---- Extensions (VFIO_CHECK_EXTENSION arg; the IOMMU types are also VFIO_SET_IOMMU args) ----
    public static final int VFIO_TYPE1_IOMMU = 1;
    public static final int VFIO_SPAPR_TCE_IOMMU = 2;
    public static final int VFIO_TYPE1v2_IOMMU = 3;
    /** Not an IOMMU type: "DMA is cache coherent" extension. */
    public static final int VFIO_DMA_CC_IOMMU = 4;
    public static final int VFIO_EEH = 5;
    /** Implies v2. */
    public static final int VFIO_TYPE1_NESTING_IOMMU = 6;
    public static final int VFIO_SPAPR_TCE_v2_IOMMU = 7;
    public static final int VFIO_NOIOMMU_IOMMU = 8;
    /** Supports {@code VFIO_DMA_UNMAP_FLAG_ALL}. */
    public static final int VFIO_UNMAP_ALL = 9;
    /** Supports {@code VFIO_DMA_MAP_FLAG_VADDR} / {@code VFIO_DMA_UNMAP_FLAG_VADDR}. */
    public static final int VFIO_UPDATE_VADDR = 10;
    /**
     * Nesting IOMMU UAPI (vSVA RFC v3.1, docs/UAPI.md). The RFC says 9, which mainline gave to {@link #VFIO_UNMAP_ALL}
     * (and 10 to {@link #VFIO_UPDATE_VADDR}); pkstore uses the next free value, 11.
     */
    public static final int VFIO_NESTING_IOMMU_UAPI = 11;

    // ---- vfio_iommu_type1_info capability ids (vfio_info_cap_header.id) ----
    public static final int VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
    public static final int VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
    public static final int VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
    /**
     * Nesting capability (vSVA RFC v3.1, docs/UAPI.md). The RFC says 2, which mainline gave to
     * {@link #VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION} (and 3 to DMA_AVAIL); pkstore uses 4.
     */
    public static final int VFIO_IOMMU_TYPE1_INFO_CAP_NESTING = 4;

    /** {@code VFIO_IOMMU_VMID_INVALID} (VMID RFC v2, docs/UAPI.md): {@code -1U}; the initial VMID, and rejected by SET_VMID. */
    public static final int VFIO_IOMMU_VMID_INVALID = -1;

    /** Default {@code dma_entry_limit} module parameter of vfio_iommu_type1 (U16_MAX). */
    public static final int DEFAULT_DMA_ENTRY_LIMIT = 65535;

    // ---- Mainline container-fd ioctls that are not modelled but whose numbers are taken ----
    /** SPAPR. Not modelled. */
    public static final int VFIO_IOMMU_ENABLE = vfioIo(15);
    /** SPAPR. Not modelled. */
    public static final int VFIO_IOMMU_DISABLE = vfioIo(16);
    /** Type1 dirty page tracking. Not modelled. */
    public static final int VFIO_IOMMU_DIRTY_PAGES = vfioIo(17);
    /** SPAPR (same number as DIRTY_PAGES: different backend). Not modelled. */
    public static final int VFIO_IOMMU_SPAPR_REGISTER_MEMORY = vfioIo(17);
    public static final int VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY = vfioIo(18);
    public static final int VFIO_IOMMU_SPAPR_TCE_CREATE = vfioIo(19);
    public static final int VFIO_IOMMU_SPAPR_TCE_REMOVE = vfioIo(20);
    /** EEH PE operation, handled on the container fd. Seed 004 wanted this number. Not modelled. */
    public static final int VFIO_EEH_PE_OP = vfioIo(21);

    /** nr - VFIO_BASE of mainline container-fd ioctls (modelled or not): 0-2, 12-21. */
    static final int[] MAINLINE_CONTAINER_NRS = {0, 1, 2, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};

    /** Name of an extension value, or "?n". */
    public static String extensionName(long ext) {
        if (ext < 0 || ext > Integer.MAX_VALUE) {
            return "?" + ext;
        }
        switch ((int) ext) {
            case VFIO_TYPE1_IOMMU: return "VFIO_TYPE1_IOMMU";
            case VFIO_SPAPR_TCE_IOMMU: return "VFIO_SPAPR_TCE_IOMMU";
            case VFIO_TYPE1v2_IOMMU: return "VFIO_TYPE1v2_IOMMU";
            case VFIO_DMA_CC_IOMMU: return "VFIO_DMA_CC_IOMMU";
            case VFIO_EEH: return "VFIO_EEH";
            case VFIO_TYPE1_NESTING_IOMMU: return "VFIO_TYPE1_NESTING_IOMMU";
            case VFIO_SPAPR_TCE_v2_IOMMU: return "VFIO_SPAPR_TCE_v2_IOMMU";
            case VFIO_NOIOMMU_IOMMU: return "VFIO_NOIOMMU_IOMMU";
            case VFIO_UNMAP_ALL: return "VFIO_UNMAP_ALL";
            case VFIO_UPDATE_VADDR: return "VFIO_UPDATE_VADDR";
            case VFIO_NESTING_IOMMU_UAPI: return "VFIO_NESTING_IOMMU_UAPI";
            default: return "?" + ext;
        }
    }
}
