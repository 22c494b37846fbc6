package org.pkstore.vfio.uapi;

import java.util.Objects;

/**
 * {@code struct iommu_fault_page_request} (vSVA RFC v3.1, docs/UAPI.md): the {@code prm} arm of {@code iommu_fault}
 * when {@code type == IOMMU_FAULT_PAGE_REQ}; answered with an {@code iommu_page_response} that
 * echoes {@code pasid} and {@code grpid}.
 * <pre>
 * +--------+------+----------+-------------------------------------------+
 * | offset | size | type     | field                                     |
 * +--------+------+----------+-------------------------------------------+
 * |      0 |    4 | __u32    | flags (IOMMU_FAULT_PAGE_REQUEST_*)        |
 * |      4 |    4 | __u32    | pasid                                     |
 * |      8 |    4 | __u32    | grpid                                     |
 * |     12 |    4 | __u32    | perm (IommuUapi.IOMMU_FAULT_PERM_*)       |
 * |     16 |    8 | __u64    | addr                                      |
 * |     24 |   16 | __u64[2] | private_data                              |
 * +--------+------+----------+-------------------------------------------+  sizeof = 40
 * </pre>
 */
public final class IommuFaultPageRequest extends CStruct<IommuFaultPageRequest> {
    public static final String C_NAME = "iommu_fault_page_request";
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_PASID = OFFSET_FLAGS + U32;
    public static final int OFFSET_GRPID = OFFSET_PASID + U32;
    public static final int OFFSET_PERM = OFFSET_GRPID + U32;
    public static final int OFFSET_ADDR = OFFSET_PERM + U32;
    public static final int OFFSET_PRIVATE_DATA = OFFSET_ADDR + U64;
    public static final int PRIVATE_DATA_LEN = 2;
    public static final int SIZE = OFFSET_PRIVATE_DATA + PRIVATE_DATA_LEN * U64;

    public static final int IOMMU_FAULT_PAGE_REQUEST_PASID_VALID = 1 << 0;
    public static final int IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE = 1 << 1;
    public static final int IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA = 1 << 2;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuFaultPageRequest flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int pasid() { return u32(OFFSET_PASID); }
    public IommuFaultPageRequest pasid(int v) { return u32(OFFSET_PASID, v); }
    public int grpid() { return u32(OFFSET_GRPID); }
    public IommuFaultPageRequest grpid(int v) { return u32(OFFSET_GRPID, v); }
    public int perm() { return u32(OFFSET_PERM); }
    public IommuFaultPageRequest perm(int v) { return u32(OFFSET_PERM, v); }
    public long addr() { return u64(OFFSET_ADDR); }
    public IommuFaultPageRequest addr(long v) { return u64(OFFSET_ADDR, v); }
    /** {@code private_data[i]}, i in 0..1. */
    public long privateData(int i) { return u64(OFFSET_PRIVATE_DATA + Objects.checkIndex(i, PRIVATE_DATA_LEN) * U64); }
    public IommuFaultPageRequest privateData(int i, long v) {
        return u64(OFFSET_PRIVATE_DATA + Objects.checkIndex(i, PRIVATE_DATA_LEN) * U64, v);
    }

    @Override
    protected String fields() {
        return "flags=" + x(flags()) + ", pasid=" + u(pasid()) + ", grpid=" + u(grpid()) + ", perm=" + x(perm())
                + ", addr=" + x(addr()) + ", private_data={" + x(privateData(0)) + ", " + x(privateData(1)) + "}";
    }
}
