package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_inv_pasid_info} (vSVA RFC v3.1, docs/UAPI.md): PASID-selective invalidation, the
 * {@code pasid_info} arm of {@code iommu_cache_invalidate_info}. At least one of
 * {@link #IOMMU_INV_PASID_FLAGS_PASID} / {@link #IOMMU_INV_PASID_FLAGS_ARCHID} must be set.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | flags                     |
 * |      4 |    4 | __u32 | archid                    |
 * |      8 |    8 | __u64 | pasid                     |
 * +--------+------+-------+---------------------------+  sizeof = 16
 * </pre>
 */
public final class IommuInvPasidInfo extends CStruct<IommuInvPasidInfo> {
    public static final String C_NAME = "iommu_inv_pasid_info";
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_ARCHID = OFFSET_FLAGS + U32;
    public static final int OFFSET_PASID = OFFSET_ARCHID + U32;
    public static final int SIZE = OFFSET_PASID + U64;

    public static final int IOMMU_INV_PASID_FLAGS_PASID = 1 << 0;
    public static final int IOMMU_INV_PASID_FLAGS_ARCHID = 1 << 1;
    public static final int KNOWN_FLAGS = IOMMU_INV_PASID_FLAGS_PASID | IOMMU_INV_PASID_FLAGS_ARCHID;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuInvPasidInfo flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int archid() { return u32(OFFSET_ARCHID); }
    public IommuInvPasidInfo archid(int v) { return u32(OFFSET_ARCHID, v); }
    public long pasid() { return u64(OFFSET_PASID); }
    public IommuInvPasidInfo pasid(long v) { return u64(OFFSET_PASID, v); }

    @Override
    protected String fields() {
        return "flags=" + x(flags()) + ", archid=" + u(archid()) + ", pasid=" + Long.toUnsignedString(pasid());
    }
}
