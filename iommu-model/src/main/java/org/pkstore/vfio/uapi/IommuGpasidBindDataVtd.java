package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_gpasid_bind_data_vtd} (vSVA RFC v3.1, docs/UAPI.md): Intel VT-d specific part of a guest PASID
 * bind ({@code iommu_gpasid_bind_data.vtd}).
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    8 | __u64 | flags (IOMMU_SVA_VTD_GPASID_*) |
 * |      8 |    4 | __u32 | pat                       |
 * |     12 |    4 | __u32 | emt                       |
 * +--------+------+-------+---------------------------+  sizeof = 16
 * </pre>
 */
public final class IommuGpasidBindDataVtd extends CStruct<IommuGpasidBindDataVtd> {
    public static final String C_NAME = "iommu_gpasid_bind_data_vtd";
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_PAT = OFFSET_FLAGS + U64;
    public static final int OFFSET_EMT = OFFSET_PAT + U32;
    public static final int SIZE = OFFSET_EMT + U32;

    /** Supervisor request. */
    public static final long IOMMU_SVA_VTD_GPASID_SRE = 1L << 0;
    /** Extended access enable. */
    public static final long IOMMU_SVA_VTD_GPASID_EAFE = 1L << 1;
    /** Page-level cache disable. */
    public static final long IOMMU_SVA_VTD_GPASID_PCD = 1L << 2;
    /** Page-level write through. */
    public static final long IOMMU_SVA_VTD_GPASID_PWT = 1L << 3;
    /** Extended memory type enable. */
    public static final long IOMMU_SVA_VTD_GPASID_EMTE = 1L << 4;
    /** PASID-level cache disable. */
    public static final long IOMMU_SVA_VTD_GPASID_CD = 1L << 5;
    public static final long IOMMU_SVA_VTD_GPASID_EMT_MASK = IOMMU_SVA_VTD_GPASID_CD | IOMMU_SVA_VTD_GPASID_EMTE
            | IOMMU_SVA_VTD_GPASID_PCD | IOMMU_SVA_VTD_GPASID_PWT;
    /** Every flag bit this model knows (SRE .. CD); any other bit is -EINVAL. */
    public static final long KNOWN_FLAGS = IOMMU_SVA_VTD_GPASID_SRE | IOMMU_SVA_VTD_GPASID_EAFE
            | IOMMU_SVA_VTD_GPASID_PCD | IOMMU_SVA_VTD_GPASID_PWT | IOMMU_SVA_VTD_GPASID_EMTE | IOMMU_SVA_VTD_GPASID_CD;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public long flags() { return u64(OFFSET_FLAGS); }
    public IommuGpasidBindDataVtd flags(long v) { return u64(OFFSET_FLAGS, v); }
    public int pat() { return u32(OFFSET_PAT); }
    public IommuGpasidBindDataVtd pat(int v) { return u32(OFFSET_PAT, v); }
    public int emt() { return u32(OFFSET_EMT); }
    public IommuGpasidBindDataVtd emt(int v) { return u32(OFFSET_EMT, v); }

    @Override
    protected String fields() {
        return "flags=" + x(flags()) + ", pat=" + x(pat()) + ", emt=" + x(emt());
    }
}
