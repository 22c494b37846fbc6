package org.pkstore.iommu;

import org.pkstore.vfio.uapi.IommuFault;
import org.pkstore.vfio.uapi.IommuUapi;

/**
 * The fault records the IOMMU units queue: each is the 64 bytes of one {@code struct iommu_fault},
 * built and read through the UAPI flyweight {@link IommuFault} (the one owner of that layout, the
 * one VFIO_IOMMU_READ_FAULTS hands to the VMM). Constants are the flyweights' and
 * {@link IommuUapi}'s.
 */
public final class FaultRecords {
    private FaultRecords() {}

    /** A new record viewed through a fresh flyweight. */
    private static IommuFault view(byte[] record) {
        return new IommuFault().wrap(record, 0);
    }

    /** An {@code IOMMU_FAULT_DMA_UNRECOV} record. */
    public static byte[] unrecoverable(int reason, int flags, int pasid, int perm, long addr, long fetchAddr) {
        byte[] b = new byte[IommuFault.SIZE];
        view(b).type(IommuUapi.IOMMU_FAULT_DMA_UNRECOV).event().reason(reason).flags(flags).pasid(pasid).perm(perm)
                .addr(addr).fetchAddr(fetchAddr);
        return b;
    }

    /** An {@code IOMMU_FAULT_PAGE_REQ} record. */
    public static byte[] pageRequest(int flags, int pasid, int grpid, int perm, long addr) {
        byte[] b = new byte[IommuFault.SIZE];
        view(b).type(IommuUapi.IOMMU_FAULT_PAGE_REQ).prm().flags(flags).pasid(pasid).grpid(grpid).perm(perm).addr(addr);
        return b;
    }

    public static int type(byte[] f) { return view(f).type(); }
    public static int reason(byte[] f) { return view(f).event().reason(); }
    public static int eventFlags(byte[] f) { return view(f).event().flags(); }
    public static int eventPasid(byte[] f) { return view(f).event().pasid(); }
    public static int eventPerm(byte[] f) { return view(f).event().perm(); }
    public static long eventAddr(byte[] f) { return view(f).event().addr(); }
    public static int prmFlags(byte[] f) { return view(f).prm().flags(); }
    public static int prmPasid(byte[] f) { return view(f).prm().pasid(); }
    public static int prmGrpid(byte[] f) { return view(f).prm().grpid(); }
    public static int prmPerm(byte[] f) { return view(f).prm().perm(); }
    public static long prmAddr(byte[] f) { return view(f).prm().addr(); }
}
