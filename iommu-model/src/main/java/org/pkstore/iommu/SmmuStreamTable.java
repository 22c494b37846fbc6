package org.pkstore.iommu;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.BitSet;
import java.util.List;

/**
 * SMMUv3 linear stream table of 64-byte STEs, indexed by stream id (= requester id), and the
 * 2-level context-descriptor tables of bound PASIDs.
 *
 * <pre>
 *  file root PA --> REGISTER PAGE (as the SMMU's STRTAB_BASE / STRTAB_BASE_CFG registers)
 *                   +0  STRTAB_BASE:     bits 51:6 stream table PA | bit 62 RA
 *                   +8  STRTAB_BASE_CFG: bits 5:0 LOG2SIZE | bits 17:16 FMT = 0 (linear)
 *  STRTAB_BASE ---> STREAM TABLE: 2^LOG2SIZE STEs (contiguous pages), STE sid at base + 64 * sid
 *   word 0: bit 0 V | bits 3:1 Config (0b110 stage 2 only, 0b111 nested)
 *           | bits 5:4 S1Fmt (0 linear guest CD table, 1 host 2-level CD table)
 *           | bits 51:6 S1ContextPtr | bits 63:59 S1CDMax
 *   word 1: 0 (stage-1 attributes: not used)
 *   word 2: bits 15:0 S2VMID | bits 37:32 S2T0SZ = 16 | bits 39:38 S2SL0 = 2 | bits 47:46 S2TG = 0 (4K)
 *           | bits 50:48 S2PS = 5 (48-bit) | bit 51 S2AA64 | bit 58 S2R
 *   word 3: bits 51:4 S2TTB (stage-2 table root)
 *   words 4..7: 0
 * </pre>
 *
 * Attach writes words 3 and 2 and then word 0 (V) last; a root switch is one store of word 3;
 * retagging the VMID is one store of word 2. Host CD tables for bound PASIDs use the directory
 * shape documented in {@link DeviceTable} (S1Fmt 1, S1CDMax 20); a guest stage-1 configuration
 * (seed 002) instead points S1ContextPtr at the guest's CD table (S1Fmt 0, S1CDMax = pasid bits).
 * The two are exclusive per device.
 */
public final class SmmuStreamTable extends DeviceTable {
    public static final int STE_BYTES = 64;
    public static final int MIN_LOG2SIZE = 6;
    public static final long STRTAB_BASE_ADDR_MASK = 0x000F_FFFF_FFFF_FFC0L;
    public static final long STRTAB_BASE_RA = 1L << 62;

    public static final long V = 1L;
    public static final int CONFIG_SHIFT = 1;
    public static final long CONFIG_MASK = 7L << CONFIG_SHIFT;
    public static final int CONFIG_S2_ONLY = 0b110;
    public static final int CONFIG_NESTED = 0b111;
    public static final int S1FMT_SHIFT = 4;
    public static final long S1FMT_MASK = 3L << S1FMT_SHIFT;
    public static final int S1FMT_LINEAR = 0;
    public static final int S1FMT_2LVL = 1;
    public static final long S1CTXPTR_MASK = 0x000F_FFFF_FFFF_FFC0L;
    public static final int S1CDMAX_SHIFT = 59;

    public static final long S2VMID_MASK = 0xFFFFL;
    public static final long S2T0SZ = 16L << 32;
    public static final long S2SL0 = 2L << 38;
    public static final long S2TG_4K = 0L << 46;
    public static final long S2PS_48 = 5L << 48;
    public static final long S2AA64 = 1L << 51;
    public static final long S2R = 1L << 58;
    public static final long S2TTB_MASK = 0x000F_FFFF_FFFF_FFF0L;

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
        file.writeDescriptor(regs + 8, log2);
        file.writeDescriptor(regs, (strtab & STRTAB_BASE_ADDR_MASK) | STRTAB_BASE_RA);
        file.setRootPa(regs);
    }

    public int log2Size() {
        return (int) (file.readDescriptor(file.rootPa() + 8) & 0x3F);
    }

    /** PA of the STE of {@code bdf}, or -1 if its stream id is beyond the table. */
    long stePa(Bdf bdf) {
        long regs = file.rootPa();
        int sid = bdf.requesterId();
        if (bdf.segment() != 0 || sid >= (1L << log2Size())) {
            return -1;
        }
        return (file.readDescriptor(regs) & STRTAB_BASE_ADDR_MASK) + (long) sid * STE_BYTES;
    }

    static long word2(int vmid) {
        return (vmid & S2VMID_MASK) | S2T0SZ | S2SL0 | S2TG_4K | S2PS_48 | S2AA64 | S2R;
    }

    static long word0(long s1Bits, boolean valid) {
        int config = (s1Bits & S1CTXPTR_MASK) != 0 ? CONFIG_NESTED : CONFIG_S2_ONLY;
        return (valid ? V : 0) | ((long) config << CONFIG_SHIFT) | s1Bits;
    }

    private static long s1Bits(long w0) {
        return w0 & (S1FMT_MASK | S1CTXPTR_MASK | (0x1FL << S1CDMAX_SHIFT));
    }

    @Override
    public int attach(Bdf bdf, long s2Root, int did) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        long want3 = s2Root & S2TTB_MASK;
        long want2 = word2(did);
        if ((w0 & V) != 0 && (file.readDescriptor(ste + 24) != want3 || file.readDescriptor(ste + 16) != want2)) {
            put(ste, w0 & ~V); // live STE changing two words: invalidate it first
        }
        put(ste + 24, want3);
        put(ste + 16, want2);
        put(ste, word0(s1Bits(w0), true));
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
        put(ste, w0 & ~V);
        put(ste + 16, 0);
        put(ste + 24, 0);
    }

    @Override
    public void switchStage2Root(Bdf bdf, long newRoot) {
        long ste = stePa(bdf);
        if (ste < 0) {
            throw new IllegalStateException(bdf + " is outside the stream table of unit " + unitId);
        }
        put(ste + 24, newRoot & S2TTB_MASK);
    }

    @Override
    public void setDid(Bdf bdf, int did) {
        long ste = stePa(bdf);
        if (ste >= 0 && (file.readDescriptor(ste) & V) != 0) {
            put(ste + 16, word2(did));
        }
    }

    @Override
    public int setGuestStage(Bdf bdf, long guestBase, int pasidBits) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return -Errno.ENODEV;
        }
        long w0 = file.readDescriptor(ste);
        if (((w0 & S1FMT_MASK) >>> S1FMT_SHIFT) == S1FMT_2LVL) {
            return -Errno.EBUSY;
        }
        long s1 = (guestBase & S1CTXPTR_MASK) | ((long) S1FMT_LINEAR << S1FMT_SHIFT)
                | ((long) (pasidBits & 0x1F) << S1CDMAX_SHIFT);
        put(ste, word0(s1, (w0 & V) != 0));
        return 0;
    }

    @Override
    public void clearGuestStage(Bdf bdf) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long w0 = file.readDescriptor(ste);
        if (((w0 & S1FMT_MASK) >>> S1FMT_SHIFT) == S1FMT_LINEAR) {
            put(ste, word0(0, (w0 & V) != 0));
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
        if ((w0 & S1CTXPTR_MASK) == 0) {
            dir = allocatePasidDirectory();
            if (dir < 0) {
                return -Errno.ENOMEM;
            }
            long s1 = (dir & S1CTXPTR_MASK) | ((long) S1FMT_2LVL << S1FMT_SHIFT) | ((long) PASID_BITS << S1CDMAX_SHIFT);
            put(ste, word0(s1, (w0 & V) != 0));
        } else if (((w0 & S1FMT_MASK) >>> S1FMT_SHIFT) != S1FMT_2LVL) {
            return -Errno.EBUSY; // a guest CD table is installed
        } else {
            dir = w0 & S1CTXPTR_MASK;
        }
        return writeBound(dir, e);
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        long ste = stePa(bdf);
        if (ste < 0) {
            return;
        }
        long w0 = file.readDescriptor(ste);
        if ((w0 & S1CTXPTR_MASK) != 0 && ((w0 & S1FMT_MASK) >>> S1FMT_SHIFT) == S1FMT_2LVL) {
            clearBound(w0 & S1CTXPTR_MASK, pasid);
        }
    }

    @Override
    public BitSet reachablePages() {
        BitSet pages = new BitSet();
        long regs = file.rootPa();
        if (!addPage(pages, regs)) {
            return pages;
        }
        long base = file.readDescriptor(regs) & STRTAB_BASE_ADDR_MASK;
        int log2 = log2Size();
        if (log2 > 24) {
            return pages;
        }
        long bytes = (1L << log2) * STE_BYTES;
        for (long off = 0; off < bytes; off += PageTableFileDescriptor.PAGE_SIZE) {
            if (!addPage(pages, base + off)) {
                return pages;
            }
        }
        for (long sid = 0; sid < (1L << log2); sid++) {
            long w0 = file.readDescriptor(base + sid * STE_BYTES);
            if ((w0 & S1CTXPTR_MASK) != 0 && ((w0 & S1FMT_MASK) >>> S1FMT_SHIFT) == S1FMT_2LVL) {
                addDirectory(pages, w0 & S1CTXPTR_MASK);
            }
        }
        return pages;
    }
}
