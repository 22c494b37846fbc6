package org.pkstore.iommu;

import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.BitSet;
import java.util.List;

/**
 * SMMUv3 linear stream table of 64-byte STEs, indexed by stream id (= requester id). Entry bits:
 * {@link SmmuStreamTableBase}, {@link SmmuStreamTableEntry}; byte-by-byte layout: docs/FORMAT.md 6.5.
 *
 * <pre>
 *  file root PA --> REGISTER PAGE: +0 STRTAB_BASE (table PA | RA), +8 STRTAB_BASE_CFG (LOG2SIZE, linear)
 *  STRTAB_BASE ---> STREAM TABLE: 2^LOG2SIZE STEs (contiguous pages), STE sid at base + 64 * sid
 *   word 0: V | Config | S1Fmt | S1ContextPtr (IPA) | S1CDMax   word 1: 0, or S1DSS | S1CIR/COR/CSH | MEV
 *   word 2: S2VMID | VTCR (T0SZ 16, SL0 2, 4K, PS 48-bit) | S2AA64 | S2R
 *   word 3: S2TTB (stage-2 table root)                         words 4..7: 0
 *  S1ContextPtr (nested) ---> the guest's linear CD table, in GUEST memory: nothing of it is in this file
 * </pre>
 *
 * Every change is the ordered sequence of Linux's {@code arm_smmu_write_entry} (arm-smmu-v3.c) for
 * the words that differ: a new STE is written words 1..3, then word 0 (V) last; a valid STE is
 * changed hitlessly, never through V = 0, because each change moves the used bits of one word
 * only: a root switch is one store of word 3, a VMID retag one store of word 2, enabling nesting
 * stores word 1 (unused while Config is 0b110) then word 0 (Config 0b111 and the S1 fields in one
 * store), disabling it stores word 0 then clears word 1 (now unused), and a new S1CDMax is one store
 * of word 0. The host never writes a context descriptor: the guest owns its CD table.
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
        boolean nested = SmmuStreamTableEntry.nested(w0);
        // new STE: words 1, 2, 3, then word 0 with V. Valid STE: the same order, storing only the words that
        // differ, so a root switch or a retag is one store and V never drops (no arm_smmu_write_entry
        // "disruptive" V=0 step); VMID before root, so the old VMID never tags the new tree (FORMAT.md 6.5.5)
        put(ste + 8, SmmuStreamTableEntry.encodeWord1(nested));
        put(ste + 16, SmmuStreamTableEntry.encodeWord2(did));
        put(ste + 24, SmmuStreamTableEntry.encodeWord3(s2Root));
        put(ste, SmmuStreamTableEntry.encodeWord0(SmmuStreamTableEntry.s1Bits(w0), nested, true));
        return 0;
    }

    @Override
    public void detach(Bdf bdf) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        // V first, then the rest: a detached device keeps no guest stage (the kernel reinstalls it from
        // its bindings when the device joins again, PasidBindings.install)
        put(ste, 0);
        put(ste + 8, 0);
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

    /**
     * Points the STE at the guest's linear CD table at IPA {@code cdTableIpa} with S1CDMax
     * {@code s1CdMax}: word 1 (unused while Config is 0b110) then word 0 in one store, or only
     * word 0 when already nested (a new S1CDMax or table). Used for both the seed 002 guest stage
     * and the SMMUv3 gpasid BIND (docs/UAPI.md): the kernel checked the IPA and S1CDMax.
     */
    @Override
    public int setGuestStage(Bdf bdf, long cdTableIpa, int s1CdMax) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        long s1 = SmmuStreamTableEntry.s1Fields(cdTableIpa, SmmuStreamTableEntry.S1FMT_LINEAR, s1CdMax);
        put(ste + 8, SmmuStreamTableEntry.encodeWord1(true));
        put(ste, SmmuStreamTableEntry.encodeWord0(s1, true, SmmuStreamTableEntry.valid(w0)));
        return 0;
    }

    /** Back to stage 2 only: word 0 (Config 0b110, no S1 fields) first, then word 1, now unused, cleared. */
    @Override
    public void clearGuestStage(Bdf bdf) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long w0 = file.readDescriptor(ste);
        put(ste, SmmuStreamTableEntry.encodeWord0(0, false, SmmuStreamTableEntry.valid(w0)));
        put(ste + 8, 0);
    }

    /**
     * An SMMUv3 unit has no host-written PASID record: a bound PASID is the guest's own CD at
     * S1ContextPtr + 64 * PASID, enabled by {@link #setGuestStage}. The kernel refuses a VT-d bind
     * on an SMMUv3 unit before it gets here (docs/UAPI.md, BIND rows).
     */
    @Override
    public int bindPasid(Bdf bdf, BoundPasidEntry e) {
        return -Errno.EINVAL;
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        // nothing in this file: the kernel narrows or clears the guest stage (PasidBindings)
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
        return pages; // CD tables live in guest memory, not in this file
    }
}
