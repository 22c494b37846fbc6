package org.pkstore.iommu;

import org.pkstore.iommu.hw.VtdContextEntry;
import org.pkstore.iommu.hw.VtdPasidDirectoryEntry;
import org.pkstore.iommu.hw.VtdPasidEntry;
import org.pkstore.iommu.hw.VtdRootEntry;
import org.pkstore.iommu.hw.VtdRootTableAddress;
import org.pkstore.iommu.hw.VtdScalableContextEntry;
import org.pkstore.iommu.hw.VtdScalableRootEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.vfio.uapi.IommuGpasidBindDataVtd;

import java.util.BitSet;
import java.util.List;

/**
 * VT-d root, context and PASID tables in the unit's .hw file, in scalable mode when the unit has
 * PASID capability (the default) and in legacy mode otherwise. Entry bits: {@link VtdRootTableAddress},
 * {@link VtdScalableRootEntry}, {@link VtdScalableContextEntry}, {@link VtdPasidDirectoryEntry},
 * {@link VtdPasidEntry} (scalable); {@link VtdRootEntry}, {@link VtdContextEntry} (legacy). Byte-by-byte
 * layout: docs/FORMAT.md 6.5.1.
 *
 * <pre>
 *  file root PA --> REGISTER PAGE  +0x20 RTADDR_REG: root table | TTM (00 legacy, 01 scalable)
 *  scalable:
 *  RTA ---------->  ROOT TABLE     256 x 16 bytes (bus): lo LP | LCTP (devfn 00-7f), hi UP | UCTP (80-ff)
 *  LCTP/UCTP ---->  CONTEXT TABLE  128 x 32 bytes (devfn &amp; 7f): w0 P | PASIDE | PDTS 7 | PASIDDIRPTR, w1 RID_PASID 0
 *  PASIDDIRPTR -->  PASID DIR      32 pages, 2^14 x 8 bytes (PASID[19:6]): P | SMPTBLPTR
 *  SMPTBLPTR ---->  PASID TABLE    1 page, 64 x 64 bytes (PASID[5:0]):
 *                   PASID 0 (RID_PASID): PGTT 010b second-level only, SLPTPTR = domain root, DID, AW
 *                   bound PASID:         PGTT 011b nested, + FLPTR = guest first-level root (GPA), FLPM, SRE
 *  legacy:
 *  RTA ---------->  ROOT TABLE     256 x 16 bytes: lo P | CTP, hi 0
 *  CTP ---------->  CONTEXT TABLE  256 x 16 bytes: lo P | TT 00 | SLPTPTR, hi AW | DID
 * </pre>
 *
 * New entries are written other words first and the word with P last; a present entry is changed
 * in place, one store per word, each store leaving it present and valid (root switch: w0 of each
 * PASID entry with P kept; retag: w1). Bound nested entries share the domain's SLPTPTR and DID and
 * are updated before the RID_PASID entry, so the RID_PASID entry naming the new root implies every
 * entry of the device does (what hotswap recovery reads). Detach clears the context entry's P only,
 * keeping its directory pointer (the directory is reused on re-attach), then the RID_PASID entry.
 * Bind bookkeeping that is no hardware field (gpasid, pat/emt, the other VT-d flags) stays in the
 * bindings registry.
 */
public final class VtdDeviceTable extends DeviceTable {
    /** Pages of a scalable-mode PASID directory of 2^(PDTS + 7) entries (PDTS 7: 32 pages). */
    public static final int SM_DIRECTORY_PAGES = (1 << (VtdScalableContextEntry.PDTS_20_BIT_PASIDS + 7))
            * VtdPasidDirectoryEntry.BYTES / PageTableFileDescriptor.PAGE_SIZE;
    /** Linux intel_pasid_setup_bind_data: memory-type flags are refused ("No memory type support"). */
    static final long BIND_MTS_FLAGS = IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_PCD
            | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_PWT | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EMTE
            | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_CD;
    private static final int RID_PASID = VtdScalableContextEntry.RID_PASID_DEFAULT;

    private final boolean scalableOnCreate;

    VtdDeviceTable(PageTableFile file, int unitId, boolean scalable) {
        super(file, unitId);
        this.scalableOnCreate = scalable;
    }

    @Override public IommuDriver driver() { return IommuDriver.VTD; }

    @Override
    protected void initialise(List<Bdf> devices) {
        long regs = file.allocatePage();
        long root = file.allocatePage();
        if (regs < 0 || root < 0) {
            throw new IllegalStateException(file.path() + ": no page for the registers and root table");
        }
        file.writeDescriptor(regs + VtdRootTableAddress.REGISTER_OFFSET, VtdRootTableAddress.encode(root, scalableOnCreate));
        file.setRootPa(regs);
    }

    private long rtaddr() {
        return file.readDescriptor(file.rootPa() + VtdRootTableAddress.REGISTER_OFFSET);
    }

    /** True when the file's RTADDR_REG says scalable mode (a file keeps the mode it was created in). */
    public boolean scalableMode() {
        return VtdRootTableAddress.scalable(rtaddr());
    }

    long rootTablePa() {
        return VtdRootTableAddress.rootTablePa(rtaddr());
    }

    /** The bus's (legacy) or the devfn half's (scalable) context table, allocated and published if {@code create}; -1 if none. */
    private long contextTable(Bdf bdf, boolean create) {
        boolean sm = scalableMode();
        long rePa = rootTablePa() + VtdRootEntry.offset(bdf.bus()) + (sm ? VtdScalableRootEntry.wordOffset(bdf.devfn()) : 0);
        long re = file.readDescriptor(rePa);
        if ((re & VtdRootEntry.LO_P) != 0) {
            return re & VtdRootEntry.LO_CTP; // same P and pointer bits in both modes
        }
        if (!create) {
            return -1;
        }
        long ct = file.allocatePage();
        if (ct < 0) {
            return -1;
        }
        file.writeDescriptor(rePa, sm ? VtdScalableRootEntry.encode(ct) : VtdRootEntry.encodeLo(ct));
        return ct;
    }

    long contextEntryPa(Bdf bdf, boolean create) {
        long ct = contextTable(bdf, create);
        if (ct < 0) {
            return -1;
        }
        return ct + (scalableMode() ? VtdScalableRootEntry.contextEntryOffset(bdf.devfn()) : VtdContextEntry.offset(bdf.devfn()));
    }

    /** PA of {@code pasid}'s entry under the directory at {@code dir}, its PASID table allocated if {@code create}; -1 if none. */
    private long pasidEntryPa(long dir, int pasid, boolean create) {
        long dePa = dir + VtdPasidDirectoryEntry.offset(pasid);
        long de = file.readDescriptor(dePa);
        long table;
        if (VtdPasidDirectoryEntry.present(de)) {
            table = VtdPasidDirectoryEntry.pasidTablePa(de);
        } else if (!create) {
            return -1;
        } else {
            table = file.allocatePage();
            if (table < 0) {
                return -1;
            }
            file.writeDescriptor(dePa, VtdPasidDirectoryEntry.encode(table));
        }
        return table + VtdPasidDirectoryEntry.tableOffset(pasid);
    }

    /** PA of the device's PASID entry of {@code pasid} (scalable mode), or -1 when there is none. */
    long pasidEntryPa(Bdf bdf, int pasid) {
        long dir = directoryOf(contextEntryPa(bdf, false));
        return dir == 0 ? -1 : pasidEntryPa(dir, pasid, false);
    }

    /** The device's PASID directory (kept by a detached entry too), or 0. */
    private long directoryOf(long cePa) {
        return cePa < 0 ? 0 : VtdScalableContextEntry.directoryPa(file.readDescriptor(cePa));
    }

    /** Stores a whole PASID entry: words 7..1, then w0 (P) last; a word already holding its value is not written. */
    private void publishPasidEntry(long pe, long w0, long w1, long w2) {
        for (int i = VtdPasidEntry.WORDS - 1; i >= 3; i--) {
            put(pe + i * 8L, 0);
        }
        put(pe + 16, w2);
        put(pe + 8, w1);
        put(pe, w0);
    }

    /** Clears a PASID entry: w0 (P) first, then the others. */
    private void clearPasidEntry(long pe) {
        for (int i = 0; i < VtdPasidEntry.WORDS; i++) {
            put(pe + i * 8L, 0);
        }
    }

    /** Visits every present bound (non-RID_PASID) entry of the directory that walks stage 2; bounded by the directory size. */
    private void forEachBound(long dir, java.util.function.LongConsumer entryPa) {
        int entries = SM_DIRECTORY_PAGES * PageTableFileDescriptor.PAGE_SIZE / VtdPasidDirectoryEntry.BYTES;
        for (int d = 0; d < entries; d++) {
            long de = file.readDescriptor(dir + (long) d * VtdPasidDirectoryEntry.BYTES);
            if (!VtdPasidDirectoryEntry.present(de)) {
                continue;
            }
            long table = VtdPasidDirectoryEntry.pasidTablePa(de);
            for (int s = 0; s < VtdPasidDirectoryEntry.ENTRIES_PER_TABLE; s++) {
                long pe = table + (long) s * VtdPasidEntry.BYTES;
                long w0 = file.readDescriptor(pe);
                if ((d | s) != RID_PASID && VtdPasidEntry.present(w0) && VtdPasidEntry.usesStage2(w0)) {
                    entryPa.accept(pe);
                }
            }
        }
    }

    @Override
    public int attach(Bdf bdf, long s2Root, int did) {
        long ce = contextEntryPa(bdf, true);
        if (ce < 0) {
            return -Errno.ENOMEM;
        }
        if (!scalableMode()) {
            // new entry: hi, then lo (P) last; a present one: only the words that differ, hi first
            put(ce + 8, VtdContextEntry.encodeHi(did));
            put(ce, VtdContextEntry.encodeLo(s2Root));
            return 0;
        }
        long dir = directoryOf(ce);
        if (dir == 0) {
            dir = file.allocateContiguous(SM_DIRECTORY_PAGES);
            if (dir < 0) {
                return -Errno.ENOMEM;
            }
        }
        long rid = pasidEntryPa(dir, RID_PASID, true);
        if (rid < 0) {
            return -Errno.ENOMEM;
        }
        retagBound(dir, s2Root, did);
        // intel_pasid_setup_second_level: DID, SLPTPTR, AW, PGTT 010b, FPD 0, PWSNP, then P
        publishPasidEntry(rid, VtdPasidEntry.secondLevelW0(s2Root, VtdPasidEntry.AW_48), VtdPasidEntry.encodeW1(did), 0);
        // context_entry_set_pasid_table: directory, PDTS, RID_PASID, PASIDE, FPD 0, then P
        put(ce + 24, 0);
        put(ce + 16, 0);
        put(ce + 8, VtdScalableContextEntry.encodeW1(RID_PASID));
        put(ce, VtdScalableContextEntry.encodeW0(dir, VtdScalableContextEntry.PDTS_20_BIT_PASIDS));
        return 0;
    }

    /** Points the device's bound nested entries at the domain's root and DID (DID word first, each store keeps P). */
    private void retagBound(long dir, long s2Root, int did) {
        forEachBound(dir, pe -> {
            put(pe + 8, VtdPasidEntry.withDid(file.readDescriptor(pe + 8), did));
            put(pe, VtdPasidEntry.withStage2Root(file.readDescriptor(pe), s2Root));
        });
    }

    @Override
    public void detach(Bdf bdf) {
        long ce = contextEntryPa(bdf, false);
        if (ce < 0) {
            return;
        }
        if (!scalableMode()) {
            put(ce, 0);
            put(ce + 8, 0);
            return;
        }
        put(ce, VtdScalableContextEntry.withoutPresent(file.readDescriptor(ce)));
        long dir = directoryOf(ce);
        long rid = dir == 0 ? -1 : pasidEntryPa(dir, RID_PASID, false);
        if (rid >= 0) {
            clearPasidEntry(rid);
        }
    }

    @Override
    public void switchStage2Root(Bdf bdf, long newRoot) {
        long ce = contextEntryPa(bdf, false);
        if (ce < 0) {
            throw new IllegalStateException(bdf + " has no context entry on unit " + unitId);
        }
        if (!scalableMode()) {
            put(ce, VtdContextEntry.encodeLo(newRoot));
            return;
        }
        long dir = directoryOf(ce);
        long rid = dir == 0 ? -1 : pasidEntryPa(dir, RID_PASID, false);
        if (rid < 0) {
            throw new IllegalStateException(bdf + " has no RID_PASID entry on unit " + unitId);
        }
        forEachBound(dir, pe -> put(pe, VtdPasidEntry.withStage2Root(file.readDescriptor(pe), newRoot)));
        put(rid, VtdPasidEntry.withStage2Root(file.readDescriptor(rid), newRoot)); // one store, P kept
    }

    @Override
    public void setDid(Bdf bdf, int did) {
        long ce = contextEntryPa(bdf, false);
        if (ce < 0) {
            return;
        }
        if (!scalableMode()) {
            put(ce + 8, VtdContextEntry.encodeHi(did));
            return;
        }
        long dir = directoryOf(ce);
        long rid = dir == 0 ? -1 : pasidEntryPa(dir, RID_PASID, false);
        if (rid < 0 || !VtdPasidEntry.present(file.readDescriptor(rid))) {
            return;
        }
        forEachBound(dir, pe -> put(pe + 8, VtdPasidEntry.withDid(file.readDescriptor(pe + 8), did)));
        put(rid + 8, VtdPasidEntry.withDid(file.readDescriptor(rid + 8), did));
    }

    /**
     * VT-d has no structure for a guest-owned PASID table (nesting is per PASID, {@link #bindPasid});
     * Linux's intel-iommu has no attach_pasid_table, for which the IOMMU core answers -ENODEV.
     */
    @Override
    public int setGuestStage(Bdf bdf, long guestBase, int pasidBits) {
        return -Errno.ENODEV;
    }

    @Override
    public void clearGuestStage(Bdf bdf) {
        // nothing was ever written (setGuestStage refuses)
    }

    /**
     * A nested PASID entry as intel_pasid_setup_nested (pasid_pte_config_nestd) fills it: FLPTR = the
     * guest's first-level root (a GPA), FLPM from addr_width, SRE / EAFE from the bind's flags, and the
     * second level of the device's domain (SLPTPTR, DID, AW read from its RID_PASID entry).
     *
     * @return 0; -EINVAL in legacy mode (no ECAP.NEST), for an addr_width other than 48/57, memory-type
     *         flags (intel_pasid_setup_bind_data) or a device not attached; -ENOMEM
     */
    @Override
    public int bindPasid(Bdf bdf, BoundPasidEntry e) {
        int flpm = VtdPasidEntry.flpmForAddressWidth(e.addrWidth());
        if (!scalableMode() || flpm < 0 || (e.vtdFlags() & BIND_MTS_FLAGS) != 0 || e.pasid() <= 0
                || e.pasid() >= 1 << PASID_BITS) {
            return -Errno.EINVAL;
        }
        long ce = contextEntryPa(bdf, false);
        long dir = directoryOf(ce);
        long rid = dir == 0 ? -1 : pasidEntryPa(dir, RID_PASID, false);
        long rid0 = rid < 0 ? 0 : file.readDescriptor(rid);
        if (!VtdPasidEntry.present(rid0) || !VtdScalableContextEntry.present(file.readDescriptor(ce))) {
            return -Errno.EINVAL;
        }
        long pe = pasidEntryPa(dir, e.pasid(), true);
        if (pe < 0) {
            return -Errno.ENOMEM;
        }
        long w0 = VtdPasidEntry.nestedW0(VtdPasidEntry.stage2Root(rid0), VtdPasidEntry.addressWidth(rid0));
        long w1 = VtdPasidEntry.encodeW1(VtdPasidEntry.did(file.readDescriptor(rid + 8)));
        long w2 = VtdPasidEntry.nestedW2(e.gpgd(), flpm, (e.vtdFlags() & IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_SRE) != 0,
                (e.vtdFlags() & IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EAFE) != 0);
        long cur0 = file.readDescriptor(pe);
        if (VtdPasidEntry.present(cur0) && (cur0 != w0 || file.readDescriptor(pe + 8) != w1 || file.readDescriptor(pe + 16) != w2)) {
            clearPasidEntry(pe); // another binding of the PASID: taken down, never rewritten under P
        }
        publishPasidEntry(pe, w0, w1, w2);
        return 0;
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        if (pasid <= RID_PASID || pasid >= 1 << PASID_BITS || !scalableMode()) {
            return;
        }
        long dir = directoryOf(contextEntryPa(bdf, false));
        long pe = dir == 0 ? -1 : pasidEntryPa(dir, pasid, false);
        if (pe >= 0) {
            clearPasidEntry(pe);
        }
    }

    @Override
    public BitSet reachablePages() {
        BitSet pages = new BitSet();
        long regs = file.rootPa();
        if (!addPage(pages, regs)) {
            return pages;
        }
        long root = rootTablePa();
        if (!addPage(pages, root)) {
            return pages;
        }
        boolean sm = scalableMode();
        for (int bus = 0; bus < VtdRootEntry.ENTRIES; bus++) {
            for (int half = 0; half < (sm ? 2 : 1); half++) {
                long re = file.readDescriptor(root + VtdRootEntry.offset(bus) + half * 8L);
                if ((re & VtdRootEntry.LO_P) == 0 || !addPage(pages, re & VtdRootEntry.LO_CTP) || !sm) {
                    continue;
                }
                long ct = re & VtdRootEntry.LO_CTP;
                for (int i = 0; i < VtdScalableContextEntry.ENTRIES; i++) {
                    long dir = VtdScalableContextEntry.directoryPa(file.readDescriptor(ct + (long) i * VtdScalableContextEntry.BYTES));
                    if (dir != 0) {
                        addPasidDirectory(pages, dir);
                    }
                }
            }
        }
        return pages;
    }

    private void addPasidDirectory(BitSet pages, long dir) {
        for (int i = 0; i < SM_DIRECTORY_PAGES; i++) {
            if (!addPage(pages, dir + (long) i * PageTableFileDescriptor.PAGE_SIZE)) {
                return;
            }
        }
        int entries = SM_DIRECTORY_PAGES * PageTableFileDescriptor.PAGE_SIZE / VtdPasidDirectoryEntry.BYTES;
        for (int d = 0; d < entries; d++) {
            long de = file.readDescriptor(dir + (long) d * VtdPasidDirectoryEntry.BYTES);
            if (VtdPasidDirectoryEntry.present(de)) {
                addPage(pages, VtdPasidDirectoryEntry.pasidTablePa(de));
            }
        }
    }
}
