package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_info_cap_nesting} (vSVA RFC v3.1, docs/UAPI.md), capability id
 * {@link VfioUapi#VFIO_IOMMU_TYPE1_INFO_CAP_NESTING} (= 4 in pkstore; the RFC's 2 is mainline's
 * CAP_MIGRATION).
 * <pre>
 * +--------+------+------------------------+---------------------------+
 * | offset | size | type                   | field                     |
 * +--------+------+------------------------+---------------------------+
 * |      0 |    8 | vfio_info_cap_header   | header                    |
 * |      8 |    4 | __u32                  | nesting_capabilities      |
 * |     12 |    4 | __u32                  | stage1_format             |
 * +--------+------+------------------------+---------------------------+  sizeof = 16
 * </pre>
 */
public final class VfioIommuType1InfoCapNesting extends CStruct<VfioIommuType1InfoCapNesting> {
    public static final String C_NAME = "vfio_iommu_type1_info_cap_nesting";
    public static final int OFFSET_HEADER = 0;
    public static final int OFFSET_NESTING_CAPABILITIES = OFFSET_HEADER + VfioInfoCapHeader.SIZE;
    public static final int OFFSET_STAGE1_FORMAT = OFFSET_NESTING_CAPABILITIES + U32;
    public static final int SIZE = OFFSET_STAGE1_FORMAT + U32;

    /** {@code nesting_capabilities}: VFIO_IOMMU_PASID_REQUEST is supported. */
    public static final int VFIO_IOMMU_PASID_REQS = 1 << 0;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public VfioInfoCapHeader header() { return nested(new VfioInfoCapHeader(), OFFSET_HEADER); }
    public int nestingCapabilities() { return u32(OFFSET_NESTING_CAPABILITIES); }
    public VfioIommuType1InfoCapNesting nestingCapabilities(int v) { return u32(OFFSET_NESTING_CAPABILITIES, v); }
    public int stage1Format() { return u32(OFFSET_STAGE1_FORMAT); }
    public VfioIommuType1InfoCapNesting stage1Format(int v) { return u32(OFFSET_STAGE1_FORMAT, v); }

    @Override
    protected String fields() {
        return "header={" + header().fields() + "}, nesting_capabilities=" + x(nestingCapabilities())
                + ", stage1_format=" + u(stage1Format());
    }
}
