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
import org.pkstore.vfio.uapi.IommuGpasidBindData;
import org.pkstore.vfio.uapi.IommuGpasidBindDataVtd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The VT-d half of {@link DeviceTableReader}: RTADDR_REG -> root entry -> context entry (legacy or
 * scalable mode) -> PASID directory entry -> PASID-table entry, in the order the hardware reads
 * them (VT-d specification 3.4.3, 9.1-9.6; layout in {@link VtdDeviceTable}). Every pointer is
 * checked before it is followed; loops are bounded by the structure sizes (PDTS: at most 2^14
 * directory entries of 64 PASIDs).
 */
public final class VtdTableReader {
    private static final int MAX_DIRECTORY_ENTRIES = 1 << (DeviceTable.PASID_BITS - VtdPasidDirectoryEntry.PDE_SHIFT);

    private final DeviceTableReader reader;
    private final PageTableFile file;

    VtdTableReader(DeviceTableReader reader) {
        this.reader = reader;
        this.file = reader.file();
    }

    /** What the walk to one device's entries found: the context entry words and, in scalable mode, one PASID entry. */
    static final class Walk {
        boolean scalable;
        long contextPa = -1;
        final long[] context = new long[VtdScalableContextEntry.WORDS];
        long pasidEntryPa = -1;
        final long[] pasidEntry = new long[VtdPasidEntry.WORDS];
        String problem;

        boolean contextPresent() { return scalable ? VtdScalableContextEntry.present(context[0]) : VtdContextEntry.present(context[0]); }
        boolean pasidEntryPresent() { return VtdPasidEntry.present(pasidEntry[0]); }

        Walk fail(String why) {
            problem = why;
            return this;
        }

        /** Ready for another walk (a reused one: the device's DMA path allocates none). */
        Walk reset() {
            scalable = false;
            contextPa = -1;
            java.util.Arrays.fill(context, 0);
            pasidEntryPa = -1;
            java.util.Arrays.fill(pasidEntry, 0);
            problem = null;
            return this;
        }
    }

    /**
     * Walks to {@code bdf}'s context entry and, in scalable mode, to the PASID entry of {@code pasid}
     * ({@link PasidTranslation#UNTAGGED}: the context entry's RID_PASID). Stops at the first problem.
     */
    Walk walk(Bdf bdf, int pasid) {
        return walk(new Walk(), bdf, pasid);
    }

    /** As {@link #walk(Bdf, int)} into {@code w}, reset first. */
    Walk walk(Walk w, Bdf bdf, int pasid) {
        w.reset();
        long regs = file.rootPa();
        if (bdf.segment() != 0) {
            return w.fail("segment " + bdf.segment() + " is not behind this unit");
        }
        if (!reader.inFile(regs + VtdRootTableAddress.REGISTER_OFFSET, 8)) {
            return w.fail("register page at 0x" + Long.toHexString(regs) + " outside the file");
        }
        long rtaddr = reader.rd(regs + VtdRootTableAddress.REGISTER_OFFSET);
        String bad = VtdRootTableAddress.check(rtaddr);
        if (bad != null) {
            return w.fail(bad);
        }
        w.scalable = VtdRootTableAddress.scalable(rtaddr);
        long root = VtdRootTableAddress.rootTablePa(rtaddr);
        long rePa = root + VtdRootEntry.offset(bdf.bus());
        if (!reader.inFile(rePa, VtdRootEntry.BYTES)) {
            return w.fail("root table at 0x" + Long.toHexString(root) + " outside the file");
        }
        return w.scalable ? walkScalable(w, rePa, bdf, pasid) : walkLegacy(w, rePa, bdf);
    }

    private Walk walkLegacy(Walk w, long rePa, Bdf bdf) {
        long lo = reader.rd(rePa);
        long hi = reader.rd(rePa + 8);
        if (!VtdRootEntry.present(lo)) {
            return w;
        }
        if (VtdRootEntry.reservedLo(lo) != 0 || hi != 0) {
            // legacy mode reserves bits 127:64 and the low ones: a reserved-field fault for the bus
            return w.fail(String.format("root entry of bus %02x: reserved field set (lo 0x%x, hi 0x%x)", bdf.bus(), lo, hi));
        }
        long cePa = VtdRootEntry.contextTablePa(lo) + VtdContextEntry.offset(bdf.devfn());
        if (!reader.inFile(cePa, VtdContextEntry.BYTES)) {
            return w.fail(String.format("context-table pointer of bus %02x (0x%x) outside the file", bdf.bus(),
                    VtdRootEntry.contextTablePa(lo)));
        }
        w.contextPa = cePa;
        w.context[0] = reader.rd(cePa);
        w.context[1] = reader.rd(cePa + 8);
        if (VtdContextEntry.present(w.context[0])
                && (VtdContextEntry.reservedLo(w.context[0]) != 0 || VtdContextEntry.reservedHi(w.context[1]) != 0)) {
            return w.fail("context entry of " + bdf + ": reserved field set (lo 0x" + Long.toHexString(w.context[0])
                    + ", hi 0x" + Long.toHexString(w.context[1]) + ")");
        }
        return w;
    }

    private Walk walkScalable(Walk w, long rePa, Bdf bdf, int pasid) {
        long re = reader.rd(rePa + VtdScalableRootEntry.wordOffset(bdf.devfn()));
        if (!VtdScalableRootEntry.present(re)) {
            return w;
        }
        String half = VtdScalableRootEntry.wordOffset(bdf.devfn()) == 0 ? "lo" : "hi";
        if (VtdScalableRootEntry.reserved(re) != 0) {
            return w.fail(String.format("root entry %s of bus %02x: reserved field set (raw 0x%x)", half, bdf.bus(), re));
        }
        long ct = VtdScalableRootEntry.contextTablePa(re);
        long cePa = ct + VtdScalableRootEntry.contextEntryOffset(bdf.devfn());
        if (!reader.inFile(cePa, VtdScalableContextEntry.BYTES)) {
            return w.fail(String.format("context-table pointer (%s) of bus %02x (0x%x) outside the file", half, bdf.bus(), ct));
        }
        w.contextPa = cePa;
        for (int i = 0; i < VtdScalableContextEntry.WORDS; i++) {
            w.context[i] = reader.rd(cePa + i * 8L);
        }
        if (!VtdScalableContextEntry.present(w.context[0])) {
            return w;
        }
        String bad = VtdScalableContextEntry.check(w.context[0], w.context[1], w.context[2], w.context[3]);
        if (bad != null) {
            return w.fail("context entry of " + bdf + ": " + bad);
        }
        int target = pasid == PasidTranslation.UNTAGGED ? VtdScalableContextEntry.ridPasid(w.context[1]) : pasid;
        if (pasid != PasidTranslation.UNTAGGED && !VtdScalableContextEntry.pasidEnabled(w.context[0])) {
            return w.fail("context entry of " + bdf + ": PASIDE clear, requests with PASID are blocked");
        }
        return readPasidEntry(w, VtdScalableContextEntry.directoryPa(w.context[0]),
                VtdScalableContextEntry.directoryEntries(w.context[0]), target);
    }

    /** Reads {@code pasid}'s entry under the directory {@code dir} of {@code entries} entries into {@code w}. */
    private Walk readPasidEntry(Walk w, long dir, int entries, int pasid) {
        if (pasid < 0 || VtdPasidDirectoryEntry.index(pasid) >= entries) {
            return w.fail("PASID " + pasid + " beyond the PASID directory (" + entries + " entries)");
        }
        long dePa = dir + VtdPasidDirectoryEntry.offset(pasid);
        if (!reader.inFile(dePa, VtdPasidDirectoryEntry.BYTES)) {
            return w.fail(String.format("PASID directory at 0x%x outside the file", dir));
        }
        long de = reader.rd(dePa);
        if (!VtdPasidDirectoryEntry.present(de)) {
            return w;
        }
        if (VtdPasidDirectoryEntry.reserved(de) != 0) {
            return w.fail("PASID directory entry of PASID " + pasid + ": reserved field set (raw 0x" + Long.toHexString(de) + ")");
        }
        long pe = VtdPasidDirectoryEntry.pasidTablePa(de) + VtdPasidDirectoryEntry.tableOffset(pasid);
        if (!reader.inFile(pe, VtdPasidEntry.BYTES)) {
            return w.fail(String.format("PASID table of PASID %d (0x%x) outside the file", pasid, VtdPasidDirectoryEntry.pasidTablePa(de)));
        }
        w.pasidEntryPa = pe;
        for (int i = 0; i < VtdPasidEntry.WORDS; i++) {
            w.pasidEntry[i] = reader.rd(pe + i * 8L);
        }
        if (w.pasidEntryPresent()) {
            String bad = VtdPasidEntry.check(w.pasidEntry);
            if (bad != null) {
                return w.fail("PASID entry " + pasid + ": " + bad);
            }
        }
        return w;
    }

    DeviceTableReader.Lookup lookup(Bdf bdf) {
        Walk w = walk(bdf, PasidTranslation.UNTAGGED);
        int fmt = file.format();
        long dir = w.scalable && w.contextPa >= 0 ? VtdScalableContextEntry.directoryPa(w.context[0]) : 0;
        if (w.problem != null) {
            return new DeviceTableReader.Lookup(new DeviceEntry(false, 0, 0, fmt, false, 0, 0, dir), w.problem);
        }
        if (!w.scalable) {
            return new DeviceTableReader.Lookup(!VtdContextEntry.present(w.context[0]) ? DeviceEntry.ABSENT
                    : new DeviceEntry(true, VtdContextEntry.stage2Root(w.context[0]), VtdContextEntry.did(w.context[1]), fmt,
                    false, 0, 0, 0), null);
        }
        if (!w.contextPresent()) {
            return new DeviceTableReader.Lookup(new DeviceEntry(false, 0, 0, fmt, false, 0, 0, dir), null);
        }
        if (!w.pasidEntryPresent()) {
            return new DeviceTableReader.Lookup(new DeviceEntry(false, 0, 0, fmt, false, 0, 0, dir),
                    "RID_PASID entry (PASID " + VtdScalableContextEntry.ridPasid(w.context[1]) + ") of " + bdf + " not present");
        }
        return new DeviceTableReader.Lookup(new DeviceEntry(true, VtdPasidEntry.stage2Root(w.pasidEntry[0]),
                VtdPasidEntry.did(w.pasidEntry[1]), fmt, false, 0, 0, dir), null);
    }

    /**
     * The stage-2 root of {@code bdf}'s untagged DMA when {@link #lookup} finds a present entry, else
     * -1; walks into {@code w} and allocates nothing unless the structures are refused.
     */
    long presentStage2Root(Bdf bdf, Walk w) {
        walk(w, bdf, PasidTranslation.UNTAGGED);
        if (w.problem != null || !w.contextPresent()) {
            return -1;
        }
        if (!w.scalable) {
            return VtdContextEntry.stage2Root(w.context[0]);
        }
        return w.pasidEntryPresent() ? VtdPasidEntry.stage2Root(w.pasidEntry[0]) : -1;
    }

    /** How {@code bdf}'s DMA with {@code pasid} translates, from the hardware structures only. */
    PasidTranslation resolve(Bdf bdf, int pasid) {
        PasidTranslationBuffer out = new PasidTranslationBuffer();
        resolve(bdf, pasid, out);
        return out.toRecord();
    }

    /** As {@link #resolve(Bdf, int)} into {@code out}; allocates nothing unless it faults. */
    void resolve(Bdf bdf, int pasid, PasidTranslationBuffer out) {
        Walk w = walk(out.walk, bdf, pasid);
        if (w.problem != null) {
            out.fault(pasid, w.problem);
            return;
        }
        if (!w.contextPresent()) {
            out.fault(pasid, "no present context entry");
            return;
        }
        if (!w.scalable) {
            if (pasid == PasidTranslation.UNTAGGED) {
                out.set(pasid, VtdContextEntry.did(w.context[1]), VtdContextEntry.stage2Root(w.context[0]),
                        Stage1Format.NONE, 0);
            } else {
                out.fault(pasid, "legacy mode: requests with PASID are blocked");
            }
            return;
        }
        if (!w.pasidEntryPresent()) {
            out.fault(pasid, (pasid == PasidTranslation.UNTAGGED ? "RID_PASID" : "PASID " + pasid) + " entry not present");
            return;
        }
        long[] pe = w.pasidEntry;
        int tag = VtdPasidEntry.did(pe[1]);
        long s2 = VtdPasidEntry.stage2Root(pe[0]);
        if (VtdPasidEntry.pgtt(pe[0]) == VtdPasidEntry.PGTT_SL_ONLY) {
            out.set(pasid, tag, s2, Stage1Format.NONE, 0);
            return;
        }
        Stage1Format f = VtdPasidEntry.flpm(pe[2]) == VtdPasidEntry.FLPM_5_LEVEL ? Stage1Format.VTD_FIRST_LEVEL_5
                : Stage1Format.VTD_FIRST_LEVEL_4;
        out.set(pasid, tag, s2, f, VtdPasidEntry.firstLevelRoot(pe[2]));
    }

    /** The binding a nested PASID entry expresses (hardware fields only: gpasid, pat and emt are not in it), or null. */
    public static BoundPasidEntry bindingOf(int pasid, long[] pe) {
        if (!VtdPasidEntry.present(pe[0]) || VtdPasidEntry.pgtt(pe[0]) != VtdPasidEntry.PGTT_NESTED || VtdPasidEntry.check(pe) != null) {
            return null;
        }
        long flags = (VtdPasidEntry.sre(pe[2]) ? IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_SRE : 0)
                | (VtdPasidEntry.eafe(pe[2]) ? IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EAFE : 0);
        return new BoundPasidEntry(pasid, false, VtdPasidEntry.addressWidthOfFlpm(VtdPasidEntry.flpm(pe[2])),
                IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD, VtdPasidEntry.firstLevelRoot(pe[2]), 0, flags, 0, 0);
    }

    BoundPasidEntry boundPasid(DeviceEntry e, int pasid) {
        if (e.pasidDirectoryPa() == 0 || pasid <= 0 || pasid >= 1 << DeviceTable.PASID_BITS) {
            return null;
        }
        Walk w = readPasidEntry(new Walk(), e.pasidDirectoryPa(), MAX_DIRECTORY_ENTRIES, pasid);
        return w.problem != null ? null : bindingOf(pasid, w.pasidEntry);
    }

    List<BoundPasidEntry> boundPasids(DeviceEntry e) {
        long dir = e.pasidDirectoryPa();
        if (dir == 0 || !reader.inFile(dir, (long) MAX_DIRECTORY_ENTRIES * VtdPasidDirectoryEntry.BYTES)) {
            return Collections.emptyList();
        }
        List<BoundPasidEntry> out = new ArrayList<>();
        long[] pe = new long[VtdPasidEntry.WORDS];
        for (int d = 0; d < MAX_DIRECTORY_ENTRIES; d++) {
            long de = reader.rd(dir + (long) d * VtdPasidDirectoryEntry.BYTES);
            long table = VtdPasidDirectoryEntry.pasidTablePa(de);
            if (!VtdPasidDirectoryEntry.present(de) || VtdPasidDirectoryEntry.reserved(de) != 0
                    || !reader.inFile(table, PageTableFileDescriptor.PAGE_SIZE)) {
                continue;
            }
            for (int s = 0; s < VtdPasidDirectoryEntry.ENTRIES_PER_TABLE; s++) {
                int pasid = d << VtdPasidDirectoryEntry.PDE_SHIFT | s;
                for (int i = 0; i < pe.length; i++) {
                    pe[i] = reader.rd(table + (long) s * VtdPasidEntry.BYTES + i * 8L);
                }
                BoundPasidEntry b = pasid == VtdScalableContextEntry.RID_PASID_DEFAULT ? null : bindingOf(pasid, pe);
                if (b != null) {
                    out.add(b);
                }
            }
        }
        return out;
    }
}
