package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_fault} (vSVA RFC v3.1, docs/UAPI.md): one fault record, as returned by
 * {@code VFIO_IOMMU_READ_FAULTS}. The union is sized to 56 bytes by {@code padding2} so that the
 * record stays 64 bytes when arms grow.
 * <pre>
 * +--------+------+-----------------------------------+---------------------------+
 * | offset | size | type                              | field                     |
 * +--------+------+-----------------------------------+---------------------------+
 * |      0 |    4 | __u32                             | type (IOMMU_FAULT_DMA_UNRECOV=1, PAGE_REQ=2) |
 * |      4 |    4 | __u32                             | padding                   |
 * |      8 |   56 | union { iommu_fault_unrecoverable | event (32)                |
 * |        |      |         iommu_fault_page_request  | prm (40)                  |
 * |        |      |         __u8 padding2[56] }       | padding2                  |
 * +--------+------+-----------------------------------+---------------------------+  sizeof = 64
 * </pre>
 */
public final class IommuFault extends CStruct<IommuFault> {
    public static final String C_NAME = "iommu_fault";
    public static final int OFFSET_TYPE = 0;
    public static final int OFFSET_PADDING = OFFSET_TYPE + U32;
    public static final int OFFSET_EVENT = OFFSET_PADDING + U32;
    public static final int OFFSET_PRM = OFFSET_EVENT;
    public static final int OFFSET_PADDING2 = OFFSET_EVENT;
    public static final int PADDING2_LEN = 56;
    public static final int SIZE = OFFSET_PADDING2
            + Math.max(PADDING2_LEN, Math.max(IommuFaultUnrecoverable.SIZE, IommuFaultPageRequest.SIZE));

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int type() { return u32(OFFSET_TYPE); }
    public IommuFault type(int v) { return u32(OFFSET_TYPE, v); }
    public int padding() { return u32(OFFSET_PADDING); }
    public IommuFault padding(int v) { return u32(OFFSET_PADDING, v); }
    /** The union as {@code event} (meaningful when type is IOMMU_FAULT_DMA_UNRECOV). */
    public IommuFaultUnrecoverable event() { return nested(new IommuFaultUnrecoverable(), OFFSET_EVENT); }
    /** The union as {@code prm} (meaningful when type is IOMMU_FAULT_PAGE_REQ). */
    public IommuFaultPageRequest prm() { return nested(new IommuFaultPageRequest(), OFFSET_PRM); }

    @Override
    protected String fields() {
        switch (type()) {
            case IommuUapi.IOMMU_FAULT_DMA_UNRECOV: return "type=DMA_UNRECOV, event={" + event().fields() + "}";
            case IommuUapi.IOMMU_FAULT_PAGE_REQ: return "type=PAGE_REQ, prm={" + prm().fields() + "}";
            default: return "type=" + u(type());
        }
    }
}
