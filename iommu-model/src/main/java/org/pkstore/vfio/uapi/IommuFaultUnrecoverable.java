package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_fault_unrecoverable} (vSVA RFC v3.1, docs/UAPI.md): the {@code event} arm of
 * {@code iommu_fault} when {@code type == IOMMU_FAULT_DMA_UNRECOV}.
 * <pre>
 * +--------+------+-------+-------------------------------------------+
 * | offset | size | type  | field                                     |
 * +--------+------+-------+-------------------------------------------+
 * |      0 |    4 | __u32 | reason (IommuUapi.IOMMU_FAULT_REASON_*)   |
 * |      4 |    4 | __u32 | flags (IOMMU_FAULT_UNRECOV_*)             |
 * |      8 |    4 | __u32 | pasid                                     |
 * |     12 |    4 | __u32 | perm (IommuUapi.IOMMU_FAULT_PERM_*)       |
 * |     16 |    8 | __u64 | addr                                      |
 * |     24 |    8 | __u64 | fetch_addr                                |
 * +--------+------+-------+-------------------------------------------+  sizeof = 32
 * </pre>
 */
public final class IommuFaultUnrecoverable extends CStruct<IommuFaultUnrecoverable> {
    public static final String C_NAME = "iommu_fault_unrecoverable";
    public static final int OFFSET_REASON = 0;
    public static final int OFFSET_FLAGS = OFFSET_REASON + U32;
    public static final int OFFSET_PASID = OFFSET_FLAGS + U32;
    public static final int OFFSET_PERM = OFFSET_PASID + U32;
    public static final int OFFSET_ADDR = OFFSET_PERM + U32;
    public static final int OFFSET_FETCH_ADDR = OFFSET_ADDR + U64;
    public static final int SIZE = OFFSET_FETCH_ADDR + U64;

    public static final int IOMMU_FAULT_UNRECOV_PASID_VALID = 1 << 0;
    public static final int IOMMU_FAULT_UNRECOV_ADDR_VALID = 1 << 1;
    public static final int IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID = 1 << 2;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int reason() { return u32(OFFSET_REASON); }
    public IommuFaultUnrecoverable reason(int v) { return u32(OFFSET_REASON, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuFaultUnrecoverable flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int pasid() { return u32(OFFSET_PASID); }
    public IommuFaultUnrecoverable pasid(int v) { return u32(OFFSET_PASID, v); }
    public int perm() { return u32(OFFSET_PERM); }
    public IommuFaultUnrecoverable perm(int v) { return u32(OFFSET_PERM, v); }
    public long addr() { return u64(OFFSET_ADDR); }
    public IommuFaultUnrecoverable addr(long v) { return u64(OFFSET_ADDR, v); }
    public long fetchAddr() { return u64(OFFSET_FETCH_ADDR); }
    public IommuFaultUnrecoverable fetchAddr(long v) { return u64(OFFSET_FETCH_ADDR, v); }

    @Override
    protected String fields() {
        return "reason=" + IommuUapi.faultReasonName(reason()) + ", flags=" + x(flags()) + ", pasid=" + u(pasid())
                + ", perm=" + x(perm()) + ", addr=" + x(addr()) + ", fetch_addr=" + x(fetchAddr());
    }
}
