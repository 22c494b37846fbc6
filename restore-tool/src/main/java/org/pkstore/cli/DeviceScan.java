package org.pkstore.cli;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.SmmuStreamTable;
import org.pkstore.iommu.VtdDeviceTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Enumerates a unit's hardware device table ({@code iommu/unitN.hw}; layouts in
 * {@link VtdDeviceTable} and {@link SmmuStreamTable}) the way the IOMMU reads it, checking every
 * pointer before following it: each structure page must be a table page of the file, allocated,
 * and reached once. Loops are bounded by the structure sizes (256 x 256 entries for VT-d, 2^24
 * STEs for SMMUv3, 2^14 x 64 bound-PASID slots per device). Produces one {@link Device} per
 * configured requester id, the pages reached (for the leak check) and {@link Finding}s.
 */
final class DeviceScan {
    /**
     * One device entry: a VT-d context entry (plus pkstore's extension entry) or an SMMUv3 STE.
     *
     * @param entryPa     PA of the context entry / STE (file offset = entryPa - paBase)
     * @param words       the entry's raw words (VT-d: lo, hi, ext w0, ext w1; SMMUv3: STE words 0..3)
     * @param did         VT-d domain id / SMMUv3 S2VMID: the VMID the IOTLB is tagged with
     */
    record Device(int unit, String driver, Bdf bdf, boolean present, long entryPa, long[] words, long stage2Root,
                  int did, boolean nested, long guestStageBase, int guestPasidBits, long pasidDirectory,
                  List<BoundPasidEntry> bound) {}

    static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
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
                s.scanVtd(root);
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

    private long rd(long pa) {
        return file.readDescriptor(pa);
    }

    private long off(long pa) {
        return pa - file.paBase();
    }

    /**
     * Checks that {@code pa} starts a table page of this file that is allocated and not reached yet,
     * and marks it reached. {@code pointerOffset}: file offset of the word that points to it.
     */
    private boolean page(long pa, long pointerOffset, String what) {
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
    private boolean pages(long pa, long count, long pointerOffset, String what) {
        for (long i = 0; i < count; i++) {
            if (!page(pa + i * PAGE, pointerOffset, what + (count > 1 ? " (page " + (i + 1) + " of " + count + ")" : ""))) {
                return false;
            }
        }
        return true;
    }

    // ---- VT-d --------------------------------------------------------------------------------------

    private void scanVtd(long root) {
        for (int bus = 0; bus < 256; bus++) {
            long rePa = root + (long) bus * VtdDeviceTable.ENTRY_BYTES;
            long lo = rd(rePa);
            long hi = rd(rePa + 8);
            long ctx = -1;
            long ext = -1;
            String busName = String.format("bus %02x", bus);
            if ((lo & VtdDeviceTable.P) != 0) {
                if ((lo & ~(ADDR_MASK | VtdDeviceTable.P)) != 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(rePa), "root entry of " + busName
                            + ": reserved bits set (raw 0x" + Long.toHexString(lo) + ")"));
                } else if (page(lo & ADDR_MASK, off(rePa), "context table of " + busName)) {
                    ctx = lo & ADDR_MASK;
                }
            } else if (lo != 0) {
                findings.add(Finding.error("encoding", table.rel(), off(rePa), "root entry of " + busName
                        + ": not present but not zero (raw 0x" + Long.toHexString(lo) + ")"));
            }
            if ((hi & VtdDeviceTable.P) != 0) {
                if ((hi & ~(ADDR_MASK | VtdDeviceTable.P)) != 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(rePa + 8), "root entry of " + busName
                            + " (extension pointer): reserved bits set (raw 0x" + Long.toHexString(hi) + ")"));
                } else if (page(hi & ADDR_MASK, off(rePa + 8), "extension page of " + busName)) {
                    ext = hi & ADDR_MASK;
                }
            }
            if (ctx < 0 && ext < 0) {
                continue;
            }
            for (int devfn = 0; devfn < 256; devfn++) {
                scanVtdDevice(bus, devfn, ctx, ext);
            }
        }
    }

    private void scanVtdDevice(int bus, int devfn, long ctx, long ext) {
        Bdf bdf = Bdf.ofRequesterId(bus << 8 | devfn);
        long cePa = ctx < 0 ? -1 : ctx + (long) devfn * VtdDeviceTable.ENTRY_BYTES;
        long lo = cePa < 0 ? 0 : rd(cePa);
        long hi = cePa < 0 ? 0 : rd(cePa + 8);
        long extPa = ext < 0 ? -1 : ext + (long) devfn * VtdDeviceTable.ENTRY_BYTES;
        long w0 = extPa < 0 ? 0 : rd(extPa);
        long w1 = extPa < 0 ? 0 : rd(extPa + 8);
        if ((lo & VtdDeviceTable.P) == 0 && (w0 & VtdDeviceTable.P) == 0 && (w1 & VtdDeviceTable.GUEST_VALID) == 0) {
            return;
        }
        boolean present = (lo & VtdDeviceTable.P) != 0;
        long root = 0;
        int did = 0;
        if (present) {
            root = lo & ADDR_MASK;
            did = (int) ((hi & VtdDeviceTable.DID_MASK) >>> VtdDeviceTable.DID_SHIFT);
            int tt = (int) ((lo >>> VtdDeviceTable.TT_SHIFT) & 3);
            long reserved = lo & ~(ADDR_MASK | VtdDeviceTable.P | VtdDeviceTable.FPD | (3L << VtdDeviceTable.TT_SHIFT));
            if (tt != 0 || reserved != 0) {
                findings.add(Finding.error("encoding", table.rel(), off(cePa), "context entry of " + bdf
                        + ": translation type " + tt + (reserved != 0 ? " and reserved bits" : "")
                        + " (raw lo 0x" + Long.toHexString(lo) + "); this model writes TT 00 only"));
            }
            if ((hi & 7) != VtdDeviceTable.AW_48 || (hi & ~(VtdDeviceTable.DID_MASK | 7)) != 0) {
                findings.add(Finding.error("encoding", table.rel(), off(cePa + 8), "context entry of " + bdf
                        + ": address width field " + (hi & 7) + " or reserved bits set (raw hi 0x"
                        + Long.toHexString(hi) + "); expected AW 010 (48-bit, 4-level)"));
            }
        }
        boolean nested = (w1 & VtdDeviceTable.GUEST_VALID) != 0;
        long guestBase = nested ? w1 & ADDR_MASK : 0;
        int guestBits = nested ? (int) ((w1 >>> VtdDeviceTable.GUEST_PASID_BITS_SHIFT) & 0x3F) : 0;
        long dir = (w0 & VtdDeviceTable.P) != 0 ? w0 & ADDR_MASK : 0;
        List<BoundPasidEntry> bound = dir != 0 ? boundPasids(bdf, dir, off(extPa)) : List.of();
        devices.add(new Device(unit, driver, bdf, present, present ? cePa : extPa, new long[] {lo, hi, w0, w1}, root, did,
                nested, guestBase, guestBits, dir, bound));
    }

    // ---- SMMUv3 ------------------------------------------------------------------------------------

    private void scanSmmu(long regs) {
        long baseWord = rd(regs);
        long base = baseWord & SmmuStreamTable.STRTAB_BASE_ADDR_MASK;
        long cfg = rd(regs + 8);
        int log2 = (int) (cfg & 0x3F);
        if (log2 > 24 || log2 < SmmuStreamTable.MIN_LOG2SIZE) {
            findings.add(Finding.error("encoding", table.rel(), off(regs + 8), "STRTAB_BASE_CFG.LOG2SIZE " + log2
                    + " outside [" + SmmuStreamTable.MIN_LOG2SIZE + ", 24]"));
            return;
        }
        if ((cfg & ~0x3FL) != 0) {
            findings.add(Finding.error("encoding", table.rel(), off(regs + 8), "STRTAB_BASE_CFG: FMT is not linear or "
                    + "reserved bits set (raw 0x" + Long.toHexString(cfg) + ")"));
            return;
        }
        long entries = 1L << log2;
        long bytes = entries * SmmuStreamTable.STE_BYTES;
        long nPages = (bytes + PAGE - 1) / PAGE;
        if (!pages(base, nPages, off(regs), "stream table")) {
            return;
        }
        for (long sid = 0; sid < entries; sid++) {
            long ste = base + sid * SmmuStreamTable.STE_BYTES;
            long w0 = rd(ste);
            if (w0 == 0) {
                continue;
            }
            long w1 = rd(ste + 8);
            long w2 = rd(ste + 16);
            long w3 = rd(ste + 24);
            Bdf bdf = Bdf.ofRequesterId((int) sid);
            boolean valid = (w0 & SmmuStreamTable.V) != 0;
            int config = (int) ((w0 & SmmuStreamTable.CONFIG_MASK) >>> SmmuStreamTable.CONFIG_SHIFT);
            int s1fmt = (int) ((w0 & SmmuStreamTable.S1FMT_MASK) >>> SmmuStreamTable.S1FMT_SHIFT);
            long ctx = w0 & SmmuStreamTable.S1CTXPTR_MASK;
            int cdmax = (int) (w0 >>> SmmuStreamTable.S1CDMAX_SHIFT);
            if (valid && config != SmmuStreamTable.CONFIG_S2_ONLY && config != SmmuStreamTable.CONFIG_NESTED) {
                findings.add(Finding.error("encoding", table.rel(), off(ste), "STE of " + bdf + ": Config 0b"
                        + Integer.toBinaryString(config) + " has no stage 2 (this model writes 0b110 or 0b111)"));
            }
            if (valid) {
                long want2 = (w2 & SmmuStreamTable.S2VMID_MASK) | SmmuStreamTable.S2T0SZ | SmmuStreamTable.S2SL0
                        | SmmuStreamTable.S2TG_4K | SmmuStreamTable.S2PS_48 | SmmuStreamTable.S2AA64 | SmmuStreamTable.S2R;
                if (w2 != want2) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste + 16), "STE of " + bdf
                            + ": stage-2 configuration word 0x" + Long.toHexString(w2) + ", expected 0x"
                            + Long.toHexString(want2) + " (T0SZ 16, SL0 2, 4K granule, 48-bit PS, AA64, S2R)"));
                }
                if ((w3 & ~SmmuStreamTable.S2TTB_MASK) != 0 || (w3 & (PAGE - 1)) != 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(ste + 24), "STE of " + bdf
                            + ": S2TTB 0x" + Long.toHexString(w3) + " is not a page-aligned 48-bit address"));
                }
            }
            boolean twoLevel = ctx != 0 && s1fmt == SmmuStreamTable.S1FMT_2LVL;
            boolean guestTable = ctx != 0 && s1fmt == SmmuStreamTable.S1FMT_LINEAR;
            long dir = twoLevel ? ctx : 0;
            List<BoundPasidEntry> bound = twoLevel ? boundPasids(bdf, dir, off(ste)) : List.of();
            devices.add(new Device(unit, driver, bdf, valid, ste, new long[] {w0, w1, w2, w3},
                    valid ? w3 & SmmuStreamTable.S2TTB_MASK : 0, valid ? (int) (w2 & SmmuStreamTable.S2VMID_MASK) : 0,
                    config == SmmuStreamTable.CONFIG_NESTED, guestTable ? ctx : 0, guestTable ? cdmax : 0, dir, bound));
        }
    }

    // ---- bound PASIDs (both drivers: DeviceTable's directory shape) ----------------------------------

    private List<BoundPasidEntry> boundPasids(Bdf bdf, long dir, long pointerOffset) {
        if (!pages(dir, DeviceTable.PASID_DIR_PAGES, pointerOffset, "PASID directory of " + bdf)) {
            return List.of();
        }
        List<BoundPasidEntry> out = new ArrayList<>();
        long[] w = new long[BoundPasidEntry.WORDS];
        for (int d = 0; d < DeviceTable.PASID_DIR_ENTRIES; d++) {
            long dePa = dir + d * 8L;
            long de = rd(dePa);
            if ((de & 1) == 0) {
                if (de != 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(dePa), "PASID directory entry " + d + " of "
                            + bdf + ": not present but not zero (raw 0x" + Long.toHexString(de) + ")"));
                }
                continue;
            }
            long leaf = de & ADDR_MASK;
            if ((de & ~(ADDR_MASK | 1)) != 0) {
                findings.add(Finding.error("encoding", table.rel(), off(dePa), "PASID directory entry " + d + " of "
                        + bdf + ": reserved bits set (raw 0x" + Long.toHexString(de) + ")"));
                continue;
            }
            if (!page(leaf, off(dePa), "bound-PASID page " + d + " of " + bdf)) {
                continue;
            }
            for (int s = 0; s < DeviceTable.PASIDS_PER_LEAF; s++) {
                long slot = leaf + (long) s * BoundPasidEntry.BYTES;
                w[0] = rd(slot);
                if ((w[0] & BoundPasidEntry.P) == 0) {
                    continue;
                }
                for (int i = 1; i < w.length; i++) {
                    w[i] = rd(slot + i * 8L);
                }
                int pasid = d << 6 | s;
                if (w[5] != 0 || w[6] != 0 || w[7] != 0 || (w[0] & ~0xFFFF03L) != 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(slot), "bound PASID " + pasid + " of " + bdf
                            + ": reserved bits or words set"));
                }
                if (pasid == 0) {
                    findings.add(Finding.error("encoding", table.rel(), off(slot), "PASID 0 bound on " + bdf
                            + ": PASID 0 is reserved (requests without PASID)"));
                }
                out.add(BoundPasidEntry.decode(pasid, w));
            }
        }
        return out;
    }
}
