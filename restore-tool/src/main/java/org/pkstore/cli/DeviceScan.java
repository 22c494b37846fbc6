package org.pkstore.cli;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.SmmuStreamTable;
import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Enumerates a unit's hardware device table ({@code iommu/unitN.hw}; layouts in
 * {@link org.pkstore.iommu.VtdDeviceTable} ({@link VtdDeviceScan}) and {@link SmmuStreamTable}, docs/FORMAT.md 6.5; every word decoded by the
 * codecs of {@code org.pkstore.iommu.hw}) the way the IOMMU reads it, checking every
 * pointer before following it: each structure page must be a table page of the file, allocated,
 * and reached once. Loops are bounded by the structure sizes (256 x 256 entries for VT-d, 2^24
 * STEs for SMMUv3, 2^14 PASID-directory entries x 64 PASID entries per VT-d device). Produces one {@link Device} per
 * configured requester id, the pages reached (for the leak check) and {@link Finding}s.
 */
final class DeviceScan {
    /**
     * One device entry: a VT-d context entry (with, in scalable mode, its RID_PASID PASID entry) or an
     * SMMUv3 STE.
     *
     * @param entryPa     PA of the context entry / STE (file offset = entryPa - paBase); VT-d scalable mode:
     *                    the RID_PASID PASID entry when there is one
     * @param words       the entry's raw words (VT-d legacy: lo, hi; VT-d scalable: context w0..w3 then
     *                    the RID_PASID entry's w0..w7; SMMUv3: STE words 0..3)
     * @param did         VT-d domain id / SMMUv3 S2VMID: the VMID the IOTLB is tagged with
     */
    record Device(int unit, String driver, Bdf bdf, boolean present, long entryPa, long[] words, long stage2Root,
                  int did, boolean nested, long guestStageBase, int guestPasidBits, long pasidDirectory,
                  List<BoundPasidEntry> bound) {}

    private static final long PAGE = PageTableFileDescriptor.PAGE_SIZE;

    final MountView.TableFile table;
    final PageTableFile file;
    final int unit;
    final String driver;
    final List<Device> devices = new ArrayList<>();
    final List<Finding> findings = new ArrayList<>();
    final BitSet reachable = new BitSet();

    private DeviceScan(MountView.TableFile table) {
        this.table = table;
        this.file = table.file();
        this.unit = MountView.unitId(table);
        this.driver = file.format() == PageTableFormat.FORMAT_VTD_SL ? "vtd"
                : file.format() == PageTableFormat.FORMAT_ARM_LPAE_S2 ? "smmuv3" : "unknown";
    }

    static DeviceScan run(MountView.TableFile table) {
        DeviceScan s = new DeviceScan(table);
        long root = s.file.rootPa();
        if (root == 0) {
            s.findings.add(Finding.note("root", table.rel(), PageTableFileDescriptor.ROOT_PA_OFFSET,
                    "no root published: the device table was never initialised"));
            return s;
        }
        if (!s.page(root, PageTableFileDescriptor.ROOT_PA_OFFSET, "root structure")) {
            return s;
        }
        switch (s.file.format()) {
            case PageTableFormat.FORMAT_VTD_SL:
                new VtdDeviceScan(s).scan(root);
                break;
            case PageTableFormat.FORMAT_ARM_LPAE_S2:
                s.scanSmmu(root);
                break;
            default:
                s.findings.add(Finding.error("header", table.rel(), PageTableFileDescriptor.FORMAT_OFFSET,
                        "unknown stage-2 format " + s.file.format() + ": cannot tell VT-d from SMMUv3"));
        }
        return s;
    }

    /** The device entry of {@code bdf}, or null. */
    Device device(Bdf bdf) {
        for (Device d : devices) {
            if (d.bdf().equals(bdf)) {
                return d;
            }
        }
        return null;
    }

    long rd(long pa) {
        return file.readDescriptor(pa);
    }

    long off(long pa) {
        return pa - file.paBase();
    }

    /**
     * Checks that {@code pa} starts a table page of this file that is allocated and not reached yet,
     * and marks it reached. {@code pointerOffset}: file offset of the word that points to it.
     */
    boolean page(long pa, long pointerOffset, String what) {
        String rel = table.rel();
        if ((pa & (PAGE - 1)) != 0) {
            findings.add(Finding.error("encoding", rel, pointerOffset, what + " at 0x" + Long.toHexString(pa)
                    + " is not page aligned"));
            return false;
        }
        if (!file.isTablePage(pa)) {
            boolean inFile = pa >= file.paBase() && pa < file.paLimit();
            findings.add(Finding.error(inFile ? "header-page" : "outside-file", rel, pointerOffset, what + " at 0x"
                    + Long.toHexString(pa) + (inFile ? " is the file's header or allocation bitmap"
                    : " is outside the file's table area [0x" + Long.toHexString(file.paOfPage(file.firstTablePage()))
                    + ", 0x" + Long.toHexString(file.paLimit()) + ")")));
            return false;
        }
        long p = file.pageIndexOf(pa);
        if (!file.isAllocated(p)) {
            findings.add(Finding.error("free-page", rel, pointerOffset, what + " at 0x" + Long.toHexString(pa)
                    + " (page " + p + ") is free in the allocation bitmap"));
            return false;
        }
        if (reachable.get((int) p)) {
            findings.add(Finding.error("shared-table", rel, pointerOffset, what + " at 0x" + Long.toHexString(pa)
                    + " (page " + p + ") is already reachable from another entry"));
            return false;
        }
        reachable.set((int) p);
        return true;
    }

    /** {@code count} consecutive pages from {@code pa}, all checked; false at the first bad one. */
    boolean pages(long pa, long count, long pointerOffset, String what) {
        for (long i = 0; i < count; i++) {
            if (!page(pa + i * PAGE, pointerOffset, what + (count > 1 ? " (page " + (i + 1) + " of " + count + ")" : ""))) {
                return false;
            }
        }
        return true;
    }

    // ---- SMMUv3 ------------------------------------------------------------------------------------

    private void scanSmmu(long regs) {
        long baseWord = rd(regs);
        long base = SmmuStreamTableBase.streamTablePa(baseWord);
        long cfg = rd(regs + 8);
        int log2 = SmmuStreamTableBase.log2Size(cfg);
        if (log2 > SmmuStreamTableBase.MAX_LOG2SIZE || log2 < SmmuStreamTable.MIN_LOG2SIZE) {
            findings.add(Finding.error("encoding", table.rel(), off(regs + 8), "STRTAB_BASE_CFG.LOG2SIZE " + log2
                    + " outside [" + SmmuStreamTable.MIN_LOG2SIZE + ", " + SmmuStreamTableBase.MAX_LOG2SIZE + "]"));
            return;
        }
        if ((cfg & SmmuStreamTableBase.CFG_NOT_LOG2SIZE) != 0) {
            findings.add(Finding.error("encoding", table.rel(), off(regs + 8), "STRTAB_BASE_CFG: FMT is not linear or "
                    + "reserved bits set (raw 0x" + Long.toHexString(cfg) + ")"));
            return;
        }
        long entries = 1L << log2;
        long bytes = entries * SmmuStreamTableEntry.BYTES;
        long nPages = (bytes + PAGE - 1) / PAGE;
        if (!pages(base, nPages, off(regs), "stream table")) {
            return;
        }
        for (long sid = 0; sid < entries; sid++) {
            long ste = base + SmmuStreamTableEntry.offset((int) sid);
            long w0 = rd(ste);
            if (w0 == 0) {
                continue;
            }
            long w1 = rd(ste + 8);
            long w2 = rd(ste + 16);
            long w3 = rd(ste + 24);
            Bdf bdf = Bdf.ofRequesterId((int) sid);
            boolean valid = SmmuStreamTableEntry.valid(w0);
            if (valid) {
                String p0 = SmmuStreamTableEntry.checkConfig(w0);
                if (p0 != null) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste), "STE of " + bdf + ": " + p0));
                }
                String p2 = SmmuStreamTableEntry.checkWord2(w2);
                if (p2 != null) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste + 16), "STE of " + bdf + ": " + p2));
                }
                String p3 = SmmuStreamTableEntry.checkWord3(w3);
                if (p3 != null) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste + 24), "STE of " + bdf + ": " + p3));
                }
                String p1 = SmmuStreamTableEntry.nested(w0) ? SmmuStreamTableEntry.checkNested(w0, w1)
                        : w1 != 0 ? "word 1 0x" + Long.toHexString(w1) + " is not 0 (stage 2 only)" : null;
                if (p1 != null) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste + 8), "STE of " + bdf + ": " + p1));
                }
            }
            // a nested STE names the guest's CD table, an IPA in guest memory: nothing of it is in this file
            boolean nested = SmmuStreamTableEntry.nested(w0);
            devices.add(new Device(unit, driver, bdf, valid, ste, new long[] {w0, w1, w2, w3},
                    valid ? SmmuStreamTableEntry.stage2Root(w3) : 0, valid ? SmmuStreamTableEntry.vmid(w2) : 0,
                    nested, nested ? SmmuStreamTableEntry.s1ContextPtr(w0) : 0,
                    nested ? SmmuStreamTableEntry.s1CdMax(w0) : 0, 0, List.of()));
        }
    }
}
