package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_guest_stage_config} (bind_guest_stage RFC, docs/UAPI.md): {@code flags} selects the union arm
 * ({@link #PASID_TABLE} -> {@code pasidt}, {@link #SMMUV3_S1_CFG} -> {@code smmu_s1}). Carried by
 * {@code VFIO_IOMMU_BIND} with {@link VfioIommuType1Bind#VFIO_IOMMU_BIND_GUEST_STAGE} (pkstore: the
 * 2018 RFC's own VFIO ioctl was superseded by the vSVA RFC's BIND; docs/UAPI.md, "Guest stage
 * configuration"). The kernel keeps {@code flags} as the configuration's kind in its record.
 * <pre>
 * +--------+------+------------------------------------+---------------------------+
 * | offset | size | type                               | field                     |
 * +--------+------+------------------------------------+---------------------------+
 * |      0 |    4 | __u32                              | flags                     |
 * |      4 |    4 |                                    | (padding)                 |
 * |      8 |   24 | union { iommu_pasid_table_config   | pasidt                    |
 * |        |      |         iommu_smmu_s1_config }     | smmu_s1                   |
 * +--------+------+------------------------------------+---------------------------+  sizeof = 32
 * </pre>
 */
public final class IommuGuestStageConfig extends CStruct<IommuGuestStageConfig> {
    public static final String C_NAME = "iommu_guest_stage_config";
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_PASIDT = align(OFFSET_FLAGS + U32, U64);
    public static final int OFFSET_SMMU_S1 = OFFSET_PASIDT;
    public static final int SIZE = OFFSET_PASIDT + Math.max(IommuPasidTableConfig.SIZE, IommuSmmuS1Config.SIZE);

    public static final int PASID_TABLE = 1 << 0;
    public static final int SMMUV3_S1_CFG = 1 << 1;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuGuestStageConfig flags(int v) { return u32(OFFSET_FLAGS, v); }
    public IommuPasidTableConfig pasidt() { return nested(new IommuPasidTableConfig(), OFFSET_PASIDT); }
    public IommuSmmuS1Config smmuS1() { return nested(new IommuSmmuS1Config(), OFFSET_SMMU_S1); }

    @Override
    protected String fields() {
        if (flags() == PASID_TABLE) {
            return "flags=PASID_TABLE, pasidt={" + pasidt().fields() + "}";
        }
        if (flags() == SMMUV3_S1_CFG) {
            return "flags=SMMUV3_S1_CFG, smmu_s1={" + smmuS1().fields() + "}";
        }
        return "flags=" + x(flags());
    }
}
