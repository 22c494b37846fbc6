package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_pasid_request} (vSVA RFC v3.1, docs/UAPI.md), argument of
 * {@code VFIO_IOMMU_PASID_REQUEST}. With {@link #VFIO_IOMMU_PASID_ALLOC} the kernel allocates a
 * PASID in {@code [min, max]} and writes it to {@code alloc_pasid.result}; with
 * {@link #VFIO_IOMMU_PASID_FREE} it frees {@code free_pasid}. Exactly one of the two flags.
 * <pre>
 * +--------+------+-------+-------------------------------------------+
 * | offset | size | type  | field                                     |
 * +--------+------+-------+-------------------------------------------+
 * |      0 |    4 | __u32 | argsz                                     |
 * |      4 |    4 | __u32 | flags                                     |
 * |      8 |   12 | union | alloc_pasid {min@8, max@12, result@16}    |
 * |        |      |       | free_pasid  @8                            |
 * +--------+------+-------+-------------------------------------------+  sizeof = 20
 * </pre>
 */
public final class VfioIommuType1PasidRequest extends CStruct<VfioIommuType1PasidRequest> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_pasid_request";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    /** Start of the anonymous union: alloc_pasid and free_pasid overlay each other. */
    public static final int OFFSET_ALLOC_PASID = OFFSET_FLAGS + U32;
    public static final int OFFSET_ALLOC_PASID_MIN = OFFSET_ALLOC_PASID;
    public static final int OFFSET_ALLOC_PASID_MAX = OFFSET_ALLOC_PASID_MIN + U32;
    public static final int OFFSET_ALLOC_PASID_RESULT = OFFSET_ALLOC_PASID_MAX + U32;
    public static final int OFFSET_FREE_PASID = OFFSET_ALLOC_PASID;
    public static final int SIZE = OFFSET_ALLOC_PASID_RESULT + U32;

    public static final int VFIO_IOMMU_PASID_ALLOC = 1 << 0;
    public static final int VFIO_IOMMU_PASID_FREE = 1 << 1;
    public static final int VFIO_PASID_REQUEST_MASK = VFIO_IOMMU_PASID_ALLOC | VFIO_IOMMU_PASID_FREE;
    /** Every flag bit this model knows; any other bit is -EINVAL (exactly one must be set). */
    public static final int KNOWN_FLAGS = VFIO_PASID_REQUEST_MASK;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1PasidRequest argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1PasidRequest flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int allocMin() { return u32(OFFSET_ALLOC_PASID_MIN); }
    public VfioIommuType1PasidRequest allocMin(int v) { return u32(OFFSET_ALLOC_PASID_MIN, v); }
    public int allocMax() { return u32(OFFSET_ALLOC_PASID_MAX); }
    public VfioIommuType1PasidRequest allocMax(int v) { return u32(OFFSET_ALLOC_PASID_MAX, v); }
    public int allocResult() { return u32(OFFSET_ALLOC_PASID_RESULT); }
    public VfioIommuType1PasidRequest allocResult(int v) { return u32(OFFSET_ALLOC_PASID_RESULT, v); }
    /** Aliases {@link #allocMin()} (same union bytes). */
    public int freePasid() { return u32(OFFSET_FREE_PASID); }
    public VfioIommuType1PasidRequest freePasid(int v) { return u32(OFFSET_FREE_PASID, v); }

    @Override
    protected String fields() {
        if ((flags() & VFIO_PASID_REQUEST_MASK) == VFIO_IOMMU_PASID_FREE) {
            return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", free_pasid=" + u(freePasid());
        }
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", alloc_pasid={min=" + u(allocMin())
                + ", max=" + u(allocMax()) + ", result=" + u(allocResult()) + "}";
    }
}
