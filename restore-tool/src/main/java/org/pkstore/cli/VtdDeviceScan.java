package org.pkstore.cli;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.VtdTableReader;
import org.pkstore.iommu.hw.VtdContextEntry;
import org.pkstore.iommu.hw.VtdPasidDirectoryEntry;
import org.pkstore.iommu.hw.VtdPasidEntry;
import org.pkstore.iommu.hw.VtdRootEntry;
import org.pkstore.iommu.hw.VtdRootTableAddress;
import org.pkstore.iommu.hw.VtdScalableContextEntry;
import org.pkstore.iommu.hw.VtdScalableRootEntry;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.ArrayList;
import java.util.List;

/**
 * The VT-d half of {@link DeviceScan}: RTADDR_REG, then legacy root/context entries or scalable-mode
 * root entries (both halves), context entries, PASID directories and PASID tables (docs/FORMAT.md
 * 6.5.1), every word checked through the codecs of {@code org.pkstore.iommu.hw} and every pointer
 * through {@link DeviceScan#page}. Findings: reserved bits, a reserved or unwritten PGTT, a reserved
 * FLPM ({@code encoding}); a pointer outside the table area ({@code outside-file}); a bound PASID
 * entry whose DID or SLPTPTR differs from its device's RID_PASID entry ({@code vmid},
 * {@code device-root}: one DID must mean one stage-2 configuration). Bounded: 256 buses x 256
 * devfns, at most 2^14 directory entries x 64 PASIDs per device.
 */
final class VtdDeviceScan {
    private static final long PAGE = PageTableFileDescriptor.PAGE_SIZE;

    private final DeviceScan s;
    private final String rel;

    VtdDeviceScan(DeviceScan s) {
        this.s = s;
        this.rel = s.table.rel();
    }

    private void error(String kind, long pa, String reason) {
        s.findings.add(Finding.error(kind, rel, s.off(pa), reason));
    }

    void scan(long regs) {
        long regPa = regs + VtdRootTableAddress.REGISTER_OFFSET;
        long rtaddr = s.rd(regPa);
        String bad = VtdRootTableAddress.check(rtaddr);
        if (bad != null) {
            error("encoding", regPa, bad);
            return;
        }
        long root = VtdRootTableAddress.rootTablePa(rtaddr);
        if (!s.page(root, s.off(regPa), "root table")) {
            return;
        }
        boolean scalable = VtdRootTableAddress.scalable(rtaddr);
        for (int bus = 0; bus < VtdRootEntry.ENTRIES; bus++) {
            long rePa = root + VtdRootEntry.offset(bus);
            if (scalable) {
                scalableHalf(bus, rePa, 0);
                scalableHalf(bus, rePa + 8, VtdScalableRootEntry.UPPER_DEVFN);
            } else {
                legacyBus(bus, rePa);
            }
        }
    }

    // ---- legacy mode ---------------------------------------------------------------------------------

    private void legacyBus(int bus, long rePa) {
        long lo = s.rd(rePa);
        String p = VtdRootEntry.check(lo, s.rd(rePa + 8));
        if (p != null) {
            error("encoding", p.contains(" hi") ? rePa + 8 : rePa, String.format("root entry of bus %02x: %s", bus, p));
            return;
        }
        if (!VtdRootEntry.present(lo) || !s.page(VtdRootEntry.contextTablePa(lo), s.off(rePa),
                String.format("context table of bus %02x", bus))) {
            return;
        }
        long ctx = VtdRootEntry.contextTablePa(lo);
        for (int devfn = 0; devfn < VtdContextEntry.ENTRIES; devfn++) {
            long cePa = ctx + VtdContextEntry.offset(devfn);
            long clo = s.rd(cePa);
            long chi = s.rd(cePa + 8);
            if (!VtdContextEntry.present(clo)) {
                if (clo != 0 || chi != 0) {
                    error("encoding", cePa, "context entry of " + bdf(bus, devfn) + ": not present but not zero");
                }
                continue;
            }
            String loProblem = VtdContextEntry.checkLo(clo);
            if (loProblem != null) {
                error("encoding", cePa, "context entry of " + bdf(bus, devfn) + ": " + loProblem);
            }
            String hiProblem = VtdContextEntry.checkHi(chi);
            if (hiProblem != null) {
                error("encoding", cePa + 8, "context entry of " + bdf(bus, devfn) + ": " + hiProblem);
            }
            s.devices.add(new DeviceScan.Device(s.unit, s.driver, bdf(bus, devfn), true, cePa, new long[] {clo, chi},
                    VtdContextEntry.stage2Root(clo), VtdContextEntry.did(chi), false, 0, 0, 0, List.of()));
        }
    }

    // ---- scalable mode -------------------------------------------------------------------------------

    private static Bdf bdf(int bus, int devfn) {
        return Bdf.ofRequesterId(bus << 8 | devfn);
    }

    private void scalableHalf(int bus, long wordPa, int firstDevfn) {
        long re = s.rd(wordPa);
        String half = firstDevfn == 0 ? "lo" : "hi";
        String p = VtdScalableRootEntry.check(re, half);
        if (p != null) {
            error("encoding", wordPa, String.format("bus %02x: %s", bus, p));
            return;
        }
        if (!VtdScalableRootEntry.present(re) || !s.page(VtdScalableRootEntry.contextTablePa(re), s.off(wordPa),
                String.format("%s context table of bus %02x", firstDevfn == 0 ? "lower" : "upper", bus))) {
            return;
        }
        long ctx = VtdScalableRootEntry.contextTablePa(re);
        for (int i = 0; i < VtdScalableContextEntry.ENTRIES; i++) {
            scalableDevice(bdf(bus, firstDevfn + i), ctx + (long) i * VtdScalableContextEntry.BYTES);
        }
    }

    private void scalableDevice(Bdf bdf, long cePa) {
        long[] words = new long[VtdScalableContextEntry.WORDS + VtdPasidEntry.WORDS];
        for (int i = 0; i < VtdScalableContextEntry.WORDS; i++) {
            words[i] = s.rd(cePa + i * 8L);
        }
        if ((words[0] | words[1] | words[2] | words[3]) == 0) {
            return;
        }
        String p = VtdScalableContextEntry.check(words[0], words[1], words[2], words[3]);
        if (p != null) {
            error("encoding", cePa, "context entry of " + bdf + ": " + p);
        }
        long dir = VtdScalableContextEntry.directoryPa(words[0]);
        int entries = VtdScalableContextEntry.directoryEntries(words[0]);
        int ridPasid = VtdScalableContextEntry.ridPasid(words[1]);
        List<BoundPasidEntry> bound = new ArrayList<>();
        List<long[]> nested = new ArrayList<>(); // {pasid, entry PA, w0, w1}
        long ridPa = -1;
        if (dir != 0 && s.pages(dir, Math.max(1, entries * (long) VtdPasidDirectoryEntry.BYTES / PAGE), s.off(cePa),
                "PASID directory of " + bdf)) {
            long[] pe = new long[VtdPasidEntry.WORDS];
            for (int d = 0; d < entries; d++) {
                long dePa = dir + (long) d * VtdPasidDirectoryEntry.BYTES;
                long de = s.rd(dePa);
                String dp = VtdPasidDirectoryEntry.check(de);
                if (dp != null) {
                    error("encoding", dePa, "PASID directory entry " + d + " of " + bdf + ": " + dp);
                    continue;
                }
                if (!VtdPasidDirectoryEntry.present(de) || !s.page(VtdPasidDirectoryEntry.pasidTablePa(de), s.off(dePa),
                        "PASID table " + d + " of " + bdf)) {
                    continue;
                }
                long table = VtdPasidDirectoryEntry.pasidTablePa(de);
                for (int slot = 0; slot < VtdPasidDirectoryEntry.ENTRIES_PER_TABLE; slot++) {
                    int pasid = d << VtdPasidDirectoryEntry.PDE_SHIFT | slot;
                    long pePa = table + (long) slot * VtdPasidEntry.BYTES;
                    for (int i = 0; i < pe.length; i++) {
                        pe[i] = s.rd(pePa + i * 8L);
                    }
                    if (!VtdPasidEntry.present(pe[0])) {
                        continue;
                    }
                    String ep = VtdPasidEntry.check(pe);
                    if (ep != null) {
                        error("encoding", pePa, "PASID entry " + pasid + " of " + bdf + ": " + ep);
                        continue;
                    }
                    if (pasid == ridPasid) {
                        ridPa = pePa;
                        System.arraycopy(pe, 0, words, VtdScalableContextEntry.WORDS, pe.length);
                    } else {
                        BoundPasidEntry b = VtdTableReader.bindingOf(pasid, pe);
                        if (b != null) {
                            bound.add(b);
                        }
                        nested.add(new long[] {pasid, pePa, pe[0], pe[1]});
                    }
                }
            }
        }
        long rid0 = words[VtdScalableContextEntry.WORDS];
        long rid1 = words[VtdScalableContextEntry.WORDS + 1];
        boolean present = VtdScalableContextEntry.present(words[0]) && ridPa >= 0 && p == null;
        if (VtdScalableContextEntry.present(words[0]) && ridPa < 0 && p == null) {
            error("encoding", cePa, "context entry of " + bdf + " is present but its RID_PASID entry (PASID " + ridPasid
                    + ") is not: every DMA without PASID faults");
        }
        if (ridPa >= 0) {
            for (long[] n : nested) {
                if (VtdPasidEntry.did(n[3]) != VtdPasidEntry.did(rid1)) {
                    error("vmid", n[1] + 8, "PASID " + n[0] + " of " + bdf + " is tagged DID " + VtdPasidEntry.did(n[3])
                            + " but the device's RID_PASID entry DID " + VtdPasidEntry.did(rid1)
                            + ": one DID must name one stage-2 configuration");
                }
                if (VtdPasidEntry.stage2Root(n[2]) != VtdPasidEntry.stage2Root(rid0)) {
                    error("device-root", n[1], "PASID " + n[0] + " of " + bdf + " walks stage-2 root 0x"
                            + Long.toHexString(VtdPasidEntry.stage2Root(n[2])) + " but the device's RID_PASID entry 0x"
                            + Long.toHexString(VtdPasidEntry.stage2Root(rid0)));
                }
            }
        }
        // the device's entry is its RID_PASID PASID entry (root and DID live there), else its context entry
        s.devices.add(new DeviceScan.Device(s.unit, s.driver, bdf, present, ridPa >= 0 ? ridPa : cePa, words,
                present ? VtdPasidEntry.stage2Root(rid0) : 0, present ? VtdPasidEntry.did(rid1) : 0, !bound.isEmpty(), 0, 0,
                dir, bound));
    }
}
