package org.pkstore.iommu;

import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.BitSet;
import java.util.List;

/**
 * SMMUv3 linear stream table of 64-byte STEs, indexed by stream id (= requester id), and the
 * 2-level context-descriptor tables of bound PASIDs. Entry bits: {@link SmmuStreamTableBase},
 * {@link SmmuStreamTableEntry}; byte-by-byte layout: docs/FORMAT.md 6.5.
 *
 * <pre>
 *  file root PA --> REGISTER PAGE: +0 STRTAB_BASE (table PA | RA), +8 STRTAB_BASE_CFG (LOG2SIZE, linear)
 *  STRTAB_BASE ---> STREAM TABLE: 2^LOG2SIZE STEs (contiguous pages), STE sid at base + 64 * sid
 *   word 0: V | Config | S1Fmt | S1ContextPtr | S1CDMax      word 1: 0
 *   word 2: S2VMID | VTCR (T0SZ 16, SL0 2, 4K, PS 48-bit) | S2AA64 | S2R
 *   word 3: S2TTB (stage-2 table root)                         words 4..7: 0
 * </pre>
 *
 * A new STE is written word 2, word 3, then word 0 (V) last. A valid STE is changed in place as
 * Linux's {@code arm_smmu_write_entry} does a hitless update, one used word at a time, and never
 * through V = 0: a root switch is one store of word 3, a VMID retag one store of word 2, a guest
 * stage or host CD table one store of word 0. Host CD tables for bound PASIDs use the directory
 * shape documented in {@link DeviceTable} (S1Fmt 01, S1CDMax 20); a guest stage-1 configuration
 * (VFIO_IOMMU_SET_GUEST_STAGE, docs/UAPI.md) instead points S1ContextPtr at the guest's CD table
 * (S1Fmt 00, S1CDMax = pasid bits). The two are exclusive per device.
 */
public final class SmmuStreamTable extends DeviceTable {
    public static final int STE_BYTES = SmmuStreamTableEntry.BYTES;
    public static final int MIN_LOG2SIZE = 6;

    SmmuStreamTable(PageTableFile file, int unitId) {
        super(file, unitId);
    }

    @Override public IommuDriver driver() { return IommuDriver.SMMUV3; }

    @Override
    protected void initialise(List<Bdf> devices) {
        int maxSid = 0;
        for (Bdf b : devices) {
            maxSid = Math.max(maxSid, b.requesterId());
        }
        int log2 = Math.max(MIN_LOG2SIZE, 32 - Integer.numberOfLeadingZeros(maxSid));
        int pages = (int) (((1L << log2) * STE_BYTES + PageTableFileDescriptor.PAGE_SIZE - 1) / PageTableFileDescriptor.PAGE_SIZE);
        long regs = file.allocatePage();
        long strtab = file.allocateContiguous(pages);
        if (regs < 0 || strtab < 0) {
            throw new IllegalStateException(file.path() + ": no room for a stream table of 2^" + log2 + " STEs");
        }
        file.writeDescriptor(regs + 8, SmmuStreamTableBase.encodeCfg(log2));
        file.writeDescriptor(regs, SmmuStreamTableBase.encodeBase(strtab));
        file.setRootPa(regs);
    }

    public int log2Size() {
        return SmmuStreamTableBase.log2Size(file.readDescriptor(file.rootPa() + 8));
    }

    /** PA of the STE of {@code bdf}, or -1 if its stream id is beyond the table. */
    long stePa(Bdf bdf) {
        long regs = file.rootPa();
        int sid = bdf.requesterId();
        if (bdf.segment() != 0 || sid >= (1L << log2Size())) {
            return -1;
        }
        return SmmuStreamTableBase.streamTablePa(file.readDescriptor(regs)) + SmmuStreamTableEntry.offset(sid);
    }

    @Override
    public int attach(Bdf bdf, long s2Root, int did) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        // new STE: words 2, 3, then word 0 with V. Valid STE: the same order, storing only the words that
        // differ, so a root switch or a retag is one store and V never drops (no arm_smmu_write_entry
        // "disruptive" V=0 step); VMID before root, so the old VMID never tags the new tree (FORMAT.md 6.5.5)
        put(ste + 16, SmmuStreamTableEntry.encodeWord2(did));
        put(ste + 24, SmmuStreamTableEntry.encodeWord3(s2Root));
        put(ste, SmmuStreamTableEntry.encodeWord0(SmmuStreamTableEntry.s1Bits(w0), true));
        return 0;
    }

    @Override
    public void detach(Bdf bdf) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long w0 = file.readDescriptor(ste);
        // keep the S1 fields (the host CD table stays reachable for a later attach), drop V
        put(ste, w0 & ~SmmuStreamTableEntry.W0_V);
        put(ste + 16, 0);
        put(ste + 24, 0);
    }

    @Override
    public void switchStage2Root(Bdf bdf, long newRoot) {
        long ste = stePa(bdf);
        if (ste < 0) {
            throw new IllegalStateException(bdf + " is outside the stream table of unit " + unitId);
        }
        put(ste + 24, SmmuStreamTableEntry.encodeWord3(newRoot));
    }

    @Override
    public void setDid(Bdf bdf, int did) {
        long ste = stePa(bdf);
        if (ste >= 0 && SmmuStreamTableEntry.valid(file.readDescriptor(ste))) {
            put(ste + 16, SmmuStreamTableEntry.encodeWord2(did));
        }
    }

    @Override
    public int setGuestStage(Bdf bdf, long guestBase, int pasidBits) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        if (SmmuStreamTableEntry.hostCdTable(w0) != 0) {
            return -Errno.EBUSY;
        }
        long s1 = SmmuStreamTableEntry.s1Fields(guestBase, SmmuStreamTableEntry.S1FMT_LINEAR, pasidBits & 0x1F);
        put(ste, SmmuStreamTableEntry.encodeWord0(s1, SmmuStreamTableEntry.valid(w0)));
        return 0;
    }

    @Override
    public void clearGuestStage(Bdf bdf) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long w0 = file.readDescriptor(ste);
        if (SmmuStreamTableEntry.s1Fmt(w0) == SmmuStreamTableEntry.S1FMT_LINEAR) {
            put(ste, SmmuStreamTableEntry.encodeWord0(0, SmmuStreamTableEntry.valid(w0)));
        }
    }

    @Override
    public int bindPasid(Bdf bdf, BoundPasidEntry e) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        long dir;
        if (SmmuStreamTableEntry.s1ContextPtr(w0) == 0) {
            dir = allocatePasidDirectory();
            if (dir < 0) {
                return -Errno.ENOMEM;
            }
            long s1 = SmmuStreamTableEntry.s1Fields(dir, SmmuStreamTableEntry.S1FMT_4K_L2, PASID_BITS);
            put(ste, SmmuStreamTableEntry.encodeWord0(s1, SmmuStreamTableEntry.valid(w0)));
        } else if (SmmuStreamTableEntry.hostCdTable(w0) == 0) {
            return -Errno.EBUSY; // a guest CD table is installed
        } else {
            dir = SmmuStreamTableEntry.hostCdTable(w0);
        }
        return writeBound(dir, e);
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long dir = SmmuStreamTableEntry.hostCdTable(file.readDescriptor(ste));
        if (dir != 0) {
            clearBound(dir, pasid);
        }
    }

    @Override
    public BitSet reachablePages() {
        BitSet pages = new BitSet();
        long regs = file.rootPa();
        if (!addPage(pages, regs)) {
            return pages;
        }
        long base = SmmuStreamTableBase.streamTablePa(file.readDescriptor(regs));
        int log2 = log2Size();
        if (log2 > SmmuStreamTableBase.MAX_LOG2SIZE) {
            return pages;
        }
        long bytes = (1L << log2) * STE_BYTES;
        for (long off = 0; off < bytes; off += PageTableFileDescriptor.PAGE_SIZE) {
            if (!addPage(pages, base + off)) {
                return pages;
            }
        }
        for (long sid = 0; sid < (1L << log2); sid++) {
            long dir = SmmuStreamTableEntry.hostCdTable(file.readDescriptor(base + sid * STE_BYTES));
            if (dir != 0) {
                addDirectory(pages, dir);
            }
        }
        return pages;
    }
}
