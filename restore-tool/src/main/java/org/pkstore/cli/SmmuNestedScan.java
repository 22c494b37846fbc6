package org.pkstore.cli;

import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.DomainRecord;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the SMMU would fetch beyond the .hw file for a nested STE (docs/FORMAT.md 6.5): the guest's
 * linear CD table, at an IPA, read through the device's stage 2 out of guest memory. Reports, with
 * file and offset: a CD table (S1ContextPtr .. + 64 * 2^S1CDMax) that stage 2 does not map
 * (outside the aperture: the CD fetch faults); a bound SSID (bindings registry) beyond S1CDMax or
 * whose STE does not name the binding's table; and, when the guest memory file is in the mount, a
 * bound SSID's CD that the hardware refuses or the model cannot walk (V = 0, reserved bits, AA64,
 * EPD0, TG0, T0SZ: {@link SmmuContextDescriptor#check}). Walks are bounded: at most 2^20 CDs,
 * 16384 pages, per STE.
 */
final class SmmuNestedScan {
    private static final long PAGE = 4096;

    private final MountModel m;
    private final List<Finding> out = new ArrayList<>();
    private final Map<String, GuestMemoryFile> opened = new HashMap<>();

    private SmmuNestedScan(MountModel m) {
        this.m = m;
    }

    static List<Finding> check(MountModel m) {
        SmmuNestedScan s = new SmmuNestedScan(m);
        try {
            for (DeviceScan u : m.units) {
                if (!"smmuv3".equals(u.driver)) {
                    continue;
                }
                for (DeviceScan.Device d : u.devices) {
                    if (d.present() && d.nested()) {
                        s.device(u, d);
                    }
                }
            }
        } finally {
            s.opened.values().forEach(GuestMemoryFile::close);
        }
        return s.out;
    }

    private void device(DeviceScan u, DeviceScan.Device d) {
        long w0 = d.words()[0];
        long steOff = d.entryPa() - u.file.paBase();
        MountView.TableFile tf = m.view.tableFileAt(d.stage2Root());
        if (tf == null || tf.file() == null || SmmuStreamTableEntry.s1CdMax(w0) > SmmuStreamTableEntry.MAX_S1CDMAX) {
            return; // the root and S1CDMax are reported by the device-table checks
        }
        DeviceTranslation walk = new DeviceTranslation(tf.file());
        long table = SmmuStreamTableEntry.s1ContextPtr(w0);
        long end = table + SmmuStreamTableEntry.cdTableBytes(w0);
        for (long ipa = table; ipa < end; ipa = (ipa & ~(PAGE - 1)) + PAGE) {
            long pa = walk.translate(d.stage2Root(), ipa, Prot.READ);
            if (DeviceTranslation.isFault(pa)) {
                out.add(Finding.error("smmu-cd", u.table.rel(), steOff, String.format(
                        "STE of %s: S1ContextPtr 0x%x (%d CDs) is outside the stage-2 aperture: IPA 0x%x faults (%s),"
                                + " so the CD fetch aborts", d.bdf(), table, 1L << SmmuStreamTableEntry.s1CdMax(w0), ipa,
                        DeviceTranslation.faultName(pa))));
                break;
            }
        }
        DomainScan scan = m.scanWithRoot(d.stage2Root());
        DomainRecord dom = scan == null ? null : m.domainOfFile(scan.table.name());
        if (dom == null) {
            return;
        }
        for (BindingRecord b : m.bindings.values()) {
            if (b.containerId() == dom.containerId()) {
                boundSsid(u, d, b, walk, steOff);
            }
        }
    }

    private void boundSsid(DeviceScan u, DeviceScan.Device d, BindingRecord b, DeviceTranslation walk, long steOff) {
        long w0 = d.words()[0];
        int ssid = b.hpasid();
        if (SmmuStreamTableEntry.s1ContextPtr(w0) != b.gpgd()) {
            out.add(Finding.error("smmu-cd", u.table.rel(), steOff, String.format("STE of %s names CD table 0x%x, "
                    + "PASID %d is bound to table 0x%x", d.bdf(), SmmuStreamTableEntry.s1ContextPtr(w0), ssid, b.gpgd())));
            return;
        }
        if (ssid >= 1L << SmmuStreamTableEntry.s1CdMax(w0)) {
            out.add(Finding.error("smmu-cd", u.table.rel(), steOff, String.format("STE of %s: bound SSID %d is beyond "
                    + "S1CDMax %d (C_BAD_SUBSTREAMID)", d.bdf(), ssid, SmmuStreamTableEntry.s1CdMax(w0))));
            return;
        }
        long ipa = b.gpgd() + SmmuContextDescriptor.offset(ssid);
        long pa = walk.translate(d.stage2Root(), ipa, Prot.READ);
        if (DeviceTranslation.isFault(pa)) {
            return; // reported as outside the aperture
        }
        MountView.MemFile g = memoryAt(pa);
        GuestMemoryFile f = g == null ? null : open(g);
        if (f == null) {
            out.add(Finding.note("smmu-cd", u.table.rel(), steOff, String.format("CD of SSID %d of %s (IPA 0x%x, PA 0x%x)"
                    + " not checked: no guest memory file of the mount holds it", ssid, d.bdf(), ipa, pa)));
            return;
        }
        long[] cd = new long[SmmuContextDescriptor.WORDS];
        for (int i = 0; i < cd.length; i++) {
            cd[i] = f.readLong(pa + 8L * i);
        }
        String bad = SmmuContextDescriptor.check(cd);
        if (bad != null) {
            out.add(Finding.error("smmu-cd", g.rel(), GuestMemoryFile.DATA_OFFSET + (pa - g.paBase()), String.format(
                    "CD of SSID %d of %s (IPA 0x%x): %s", ssid, d.bdf(), ipa, bad)));
        }
    }

    private MountView.MemFile memoryAt(long pa) {
        for (MountView.MemFile g : m.view.memoryFiles) {
            if (g.problem() == null && pa >= g.paBase() && pa - g.paBase() <= g.size() - SmmuContextDescriptor.BYTES) {
                return g;
            }
        }
        return null;
    }

    private GuestMemoryFile open(MountView.MemFile g) {
        return opened.computeIfAbsent(g.rel(), k -> {
            try {
                return GuestMemoryFile.openReadOnly(g.path());
            } catch (RuntimeException e) {
                return null;
            }
        });
    }
}
