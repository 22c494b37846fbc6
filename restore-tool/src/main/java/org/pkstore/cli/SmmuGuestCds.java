package org.pkstore.cli;

import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.vfio.uapi.IommuGpasidBindData;

import java.util.ArrayList;
import java.util.List;

/**
 * The substreams of an SMMUv3 nested STE as the SMMU sees them: the valid CDs of the guest's linear
 * CD table (S1ContextPtr, 2^S1CDMax CDs), each fetched through the device's stage 2 from the mount's
 * guest memory files (docs/FORMAT.md 6.5). Each valid CD becomes the device's bound-PASID entry for
 * inspect, translate and walk: pasid = SSID, gpgd = CD.TTB0, addr width = 64 - T0SZ, format
 * IOMMU_PASID_FORMAT_SMMUV3 (the gpasid is registry bookkeeping: 0 here). A CD table that stage 2
 * does not map, or guest memory that is not in the mount, yields no entries (verify says why).
 * Bounded: at most {@link #MAX_CDS} CDs per STE.
 */
final class SmmuGuestCds {
    static final int MAX_CDS = 1 << 16;
    private static final long PAGE = 4096;

    private SmmuGuestCds() {}

    static void fill(MountView view, DeviceScan scan) {
        List<GuestMemoryFile> opened = new ArrayList<>();
        try {
            scan.devices.replaceAll(d -> d.present() && d.nested() ? withCds(view, d, opened) : d);
        } finally {
            opened.forEach(GuestMemoryFile::close);
        }
    }

    private static DeviceScan.Device withCds(MountView view, DeviceScan.Device d, List<GuestMemoryFile> opened) {
        long w0 = d.words()[0];
        MountView.TableFile tf = view.tableFileAt(d.stage2Root());
        if (tf == null || tf.file() == null || SmmuStreamTableEntry.s1Fmt(w0) != SmmuStreamTableEntry.S1FMT_LINEAR
                || SmmuStreamTableEntry.s1CdMax(w0) > SmmuStreamTableEntry.MAX_S1CDMAX) {
            return d;
        }
        DeviceTranslation walk = new DeviceTranslation(tf.file());
        long table = SmmuStreamTableEntry.s1ContextPtr(w0);
        long cds = Math.min(1L << SmmuStreamTableEntry.s1CdMax(w0), MAX_CDS);
        List<BoundPasidEntry> bound = new ArrayList<>();
        long pagePa = -1;
        long pageIpa = -1;
        for (int ssid = 0; ssid < cds; ssid++) {
            long ipa = table + SmmuContextDescriptor.offset(ssid);
            if ((ipa & ~(PAGE - 1)) != pageIpa) {
                pageIpa = ipa & ~(PAGE - 1);
                pagePa = walk.translate(d.stage2Root(), pageIpa, Prot.READ);
            }
            if (DeviceTranslation.isFault(pagePa)) {
                continue;
            }
            long pa = pagePa + (ipa - pageIpa);
            GuestMemoryFile g = memoryAt(view, pa, opened);
            if (g == null) {
                continue;
            }
            long cd0 = g.readLong(pa);
            if (SmmuContextDescriptor.valid(cd0)) {
                bound.add(new BoundPasidEntry(ssid, false, 64 - SmmuContextDescriptor.t0sz(cd0),
                        IommuGpasidBindData.IOMMU_PASID_FORMAT_SMMUV3, SmmuContextDescriptor.ttb0(g.readLong(pa + 8)),
                        0, 0, 0, 0));
            }
        }
        return new DeviceScan.Device(d.unit(), d.driver(), d.bdf(), d.present(), d.entryPa(), d.words(), d.stage2Root(),
                d.did(), d.nested(), d.guestStageBase(), d.guestPasidBits(), d.pasidDirectory(), bound);
    }

    private static GuestMemoryFile memoryAt(MountView view, long pa, List<GuestMemoryFile> opened) {
        for (GuestMemoryFile g : opened) {
            if (g.contains(pa, SmmuContextDescriptor.BYTES)) {
                return g;
            }
        }
        for (MountView.MemFile m : view.memoryFiles) {
            if (m.problem() == null && pa >= m.paBase() && pa - m.paBase() <= m.size() - SmmuContextDescriptor.BYTES) {
                try {
                    GuestMemoryFile g = GuestMemoryFile.openReadOnly(m.path());
                    opened.add(g);
                    return g;
                } catch (RuntimeException e) {
                    return null; // refused files are reported by the mount view
                }
            }
        }
        return null;
    }
}
