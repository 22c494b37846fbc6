package org.pkstore.iommu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds and reads the 64-byte {@code struct iommu_fault} of seed 003 (IOMMU UAPI v1) that the
 * fault queue hands to the VMM.
 *
 * <pre>
 *  offset  size  struct iommu_fault
 *  0       4     type (1 IOMMU_FAULT_DMA_UNRECOV, 2 IOMMU_FAULT_PAGE_REQ)
 *  4       4     padding
 *  8       56    union:
 *                 iommu_fault_unrecoverable event    iommu_fault_page_request prm
 *  8       4      reason                              flags
 *  12      4      flags                               pasid
 *  16      4      pasid                               grpid
 *  20      4      perm                                perm
 *  24      8      addr                                addr
 *  32      8      fetch_addr                          private_data[0]
 *  40      8      -                                   private_data[1]
 * </pre>
 */
public final class IommuFault {
    private IommuFault() {}

    public static final int SIZE = 64;
    public static final int OFFSET_TYPE = 0;
    public static final int OFFSET_PADDING = OFFSET_TYPE + 4;
    public static final int OFFSET_UNION = OFFSET_PADDING + 4;
    public static final int OFFSET_EVENT_REASON = OFFSET_UNION;
    public static final int OFFSET_EVENT_FLAGS = OFFSET_EVENT_REASON + 4;
    public static final int OFFSET_EVENT_PASID = OFFSET_EVENT_FLAGS + 4;
    public static final int OFFSET_EVENT_PERM = OFFSET_EVENT_PASID + 4;
    public static final int OFFSET_EVENT_ADDR = OFFSET_EVENT_PERM + 4;
    public static final int OFFSET_EVENT_FETCH_ADDR = OFFSET_EVENT_ADDR + 8;
    public static final int OFFSET_PRM_FLAGS = OFFSET_UNION;
    public static final int OFFSET_PRM_PASID = OFFSET_PRM_FLAGS + 4;
    public static final int OFFSET_PRM_GRPID = OFFSET_PRM_PASID + 4;
    public static final int OFFSET_PRM_PERM = OFFSET_PRM_GRPID + 4;
    public static final int OFFSET_PRM_ADDR = OFFSET_PRM_PERM + 4;
    public static final int OFFSET_PRM_PRIVATE_DATA = OFFSET_PRM_ADDR + 8;

    public static final int TYPE_DMA_UNRECOV = 1;
    public static final int TYPE_PAGE_REQ = 2;

    public static final int REASON_UNKNOWN = 0;
    public static final int REASON_PASID_FETCH = 1;
    public static final int REASON_BAD_PASID_ENTRY = 2;
    public static final int REASON_PASID_INVALID = 3;
    public static final int REASON_WALK_EABT = 4;
    public static final int REASON_PTE_FETCH = 5;
    public static final int REASON_PERMISSION = 6;
    public static final int REASON_ACCESS = 7;
    public static final int REASON_OOR_ADDRESS = 8;

    public static final int UNRECOV_PASID_VALID = 1;
    public static final int UNRECOV_ADDR_VALID = 1 << 1;
    public static final int UNRECOV_FETCH_ADDR_VALID = 1 << 2;

    public static final int PAGE_REQUEST_PASID_VALID = 1;
    public static final int PAGE_REQUEST_LAST_PAGE = 1 << 1;
    public static final int PAGE_REQUEST_PRIV_DATA = 1 << 2;

    public static final int PERM_READ = 1;
    public static final int PERM_WRITE = 1 << 1;
    public static final int PERM_EXEC = 1 << 2;
    public static final int PERM_PRIV = 1 << 3;

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static byte[] unrecoverable(int reason, int flags, int pasid, int perm, long addr, long fetchAddr) {
        byte[] b = new byte[SIZE];
        le(b).putInt(OFFSET_TYPE, TYPE_DMA_UNRECOV).putInt(OFFSET_EVENT_REASON, reason)
                .putInt(OFFSET_EVENT_FLAGS, flags).putInt(OFFSET_EVENT_PASID, pasid).putInt(OFFSET_EVENT_PERM, perm)
                .putLong(OFFSET_EVENT_ADDR, addr).putLong(OFFSET_EVENT_FETCH_ADDR, fetchAddr);
        return b;
    }

    public static byte[] pageRequest(int flags, int pasid, int grpid, int perm, long addr) {
        byte[] b = new byte[SIZE];
        le(b).putInt(OFFSET_TYPE, TYPE_PAGE_REQ).putInt(OFFSET_PRM_FLAGS, flags).putInt(OFFSET_PRM_PASID, pasid)
                .putInt(OFFSET_PRM_GRPID, grpid).putInt(OFFSET_PRM_PERM, perm).putLong(OFFSET_PRM_ADDR, addr);
        return b;
    }

    public static int type(byte[] f) { return le(f).getInt(OFFSET_TYPE); }
    public static int reason(byte[] f) { return le(f).getInt(OFFSET_EVENT_REASON); }
    public static int eventFlags(byte[] f) { return le(f).getInt(OFFSET_EVENT_FLAGS); }
    public static int eventPasid(byte[] f) { return le(f).getInt(OFFSET_EVENT_PASID); }
    public static int eventPerm(byte[] f) { return le(f).getInt(OFFSET_EVENT_PERM); }
    public static long eventAddr(byte[] f) { return le(f).getLong(OFFSET_EVENT_ADDR); }
    public static int prmFlags(byte[] f) { return le(f).getInt(OFFSET_PRM_FLAGS); }
    public static int prmPasid(byte[] f) { return le(f).getInt(OFFSET_PRM_PASID); }
    public static int prmGrpid(byte[] f) { return le(f).getInt(OFFSET_PRM_GRPID); }
    public static int prmPerm(byte[] f) { return le(f).getInt(OFFSET_PRM_PERM); }
    public static long prmAddr(byte[] f) { return le(f).getLong(OFFSET_PRM_ADDR); }
}
