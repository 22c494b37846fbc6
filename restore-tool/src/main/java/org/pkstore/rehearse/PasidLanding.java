package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The rehearsal's own check that PASID DMA landed where the guest asked: for every page of the
 * guest's PASID buffer, the guest-physical page the guest mapped (from its own record,
 * {@link VmmState.Stage1}, never from its stage-1 table) is translated through stage 2 by an
 * independent walk (the device-table entry's root, {@link DeviceTranslation} on the page-table file)
 * and the slot there must carry the tag of that PASID and virtual page ({@link GuestStage1#tag}).
 * A stage-1 walk that went to the wrong page leaves a slot untagged or tagged for another page.
 * Opens everything read-only.
 */
final class PasidLanding {
    record Result(int slots, int landed, String firstBad) {
        boolean allLanded() {
            return slots > 0 && landed == slots;
        }
    }

    private PasidLanding() {}

    /** The virtual address of the PASID slot in buffer page {@code i}. */
    static long slotVa(VmmState.Stage1 s, int i) {
        return s.gvaBase + i * 4096L + GuestStage1.SLOT_OFFSET + 8L * (i % 64);
    }

    static Result check(Path mount, VmmState.Stage1 s) {
        List<Path> hw = PkernfsMount.list(mount.resolve(PkernfsMount.IOMMU_DIR), PkernfsMount.IOMMU_SUFFIX);
        if (hw.isEmpty()) {
            return new Result(s.pageGpas.size(), 0, "no device table");
        }
        List<PageTableFile> tables = new ArrayList<>();
        List<GuestMemoryFile> memories = new ArrayList<>();
        try (DeviceTableReader dt = DeviceTableReader.openReadOnly(hw.get(0))) {
            DeviceEntry e = dt.lookup(Bdf.parse(s.bdf)).entry();
            if (!e.present()) {
                return new Result(s.pageGpas.size(), 0, "no present device-table entry for " + s.bdf);
            }
            long root = e.stage2RootPa();
            DeviceTranslation stage2 = null;
            for (Path p : PkernfsMount.list(mount.resolve(PkernfsMount.PGTABLES_DIR), PkernfsMount.PGTABLE_SUFFIX)) {
                PageTableFile f = PageTableFile.openReadOnly(p);
                tables.add(f);
                if (root >= f.paBase() && root < f.paLimit()) {
                    stage2 = new DeviceTranslation(f);
                }
            }
            if (stage2 == null) {
                return new Result(s.pageGpas.size(), 0, "stage-2 root 0x" + Long.toHexString(root) + " outside every table file");
            }
            for (Path p : PkernfsMount.list(mount.resolve(PkernfsMount.MEM_DIR), PkernfsMount.MEM_SUFFIX)) {
                memories.add(GuestMemoryFile.openReadOnly(p));
            }
            int landed = 0;
            String firstBad = null;
            for (int i = 0; i < s.pageGpas.size(); i++) {
                long va = slotVa(s, i);
                long gpa = s.pageGpas.get(i) + (va & 4095);
                long hpa = stage2.translate(root, gpa, Prot.READ);
                GuestMemoryFile g = hpa < 0 ? null : memoryAt(memories, hpa);
                long word = g == null ? 0 : g.readLong(hpa);
                long want = GuestStage1.tag(s.pasid, va);
                if (g != null && (word & GuestStage1.TAG_MASK) == want && (word & ~GuestStage1.TAG_MASK) != 0) {
                    landed++;
                } else if (firstBad == null) {
                    firstBad = String.format("va 0x%x -> gpa 0x%x -> %s: word 0x%016x, expected tag 0x%016x", va, gpa,
                            hpa < 0 ? DeviceTranslation.faultName(hpa) : "hpa 0x" + Long.toHexString(hpa), word, want);
                }
            }
            return new Result(s.pageGpas.size(), landed, firstBad);
        } finally {
            tables.forEach(PageTableFile::close);
            memories.forEach(GuestMemoryFile::close);
        }
    }

    private static GuestMemoryFile memoryAt(List<GuestMemoryFile> memories, long pa) {
        for (GuestMemoryFile g : memories) {
            if (g.contains(pa, 8)) {
                return g;
            }
        }
        return null;
    }
}
