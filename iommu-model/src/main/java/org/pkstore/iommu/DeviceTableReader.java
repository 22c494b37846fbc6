package org.pkstore.iommu;

import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Reads a unit's device table ({@code iommu/unitN.hw}) as the IOMMU hardware would, for a
 * simulated device in another process: given a BDF, where its stage-2 table is, which VMID/DID
 * tags it, and which PASIDs are bound. Layouts: {@link VtdDeviceTable}, {@link SmmuStreamTable},
 * {@link DeviceTable}.
 *
 * <p>Never reads outside the file's table area: every pointer taken from the file is checked
 * (aligned, inside {@code [first table page, end of file)}, with room for the whole entry) before
 * it is followed, and a bad one is reported as a problem, not an exception. Loops are bounded by
 * the structure sizes (256 buses x 256 devfns, 2^14 directory entries x 64 slots), so a hostile
 * file cannot make a lookup run away. Reads only (acquire loads); safe beside the live writer.
 */
public final class DeviceTableReader implements AutoCloseable {
    /** The result of a lookup: an entry, or ABSENT with the reason (null when simply not present). */
    public record Lookup(DeviceEntry entry, String problem) {}

    /** Everything a device needs to translate. */
    public record DeviceView(Bdf bdf, boolean present, long stage2RootPa, int vmid, int formatId,
                             boolean nested, long guestStageBase, int guestPasidBits,
                             List<BoundPasidEntry> boundPasids, String problem) {}

    private final PageTableFile file;
    private final boolean owned;
    private final long tableStart;

    public DeviceTableReader(PageTableFile file) {
        this(file, false);
    }

    private DeviceTableReader(PageTableFile file, boolean owned) {
        this.file = file;
        this.owned = owned;
        this.tableStart = file.paBase() + file.firstTablePage() * PageTableFileDescriptor.PAGE_SIZE;
    }

    /** Opens a .hw file read-only (writes nothing); close the reader to unmap it. */
    public static DeviceTableReader openReadOnly(Path hwFile) {
        PageTableFile f = PageTableFile.openReadOnly(hwFile);
        if (f.kind() != PageTableFileDescriptor.KIND_IOMMU_TABLES) {
            f.close();
            throw new IllegalArgumentException(hwFile + " is not an IOMMU device-table file (kind " + f.kind() + ")");
        }
        return new DeviceTableReader(f, true);
    }

    public PageTableFile file() { return file; }

    /** Stage-2 format id from the file header, which also says the driver. */
    public int formatId() { return file.format(); }

    private boolean inFile(long pa, long len) {
        return (pa & 7) == 0 && pa >= tableStart && len >= 0 && pa <= file.paLimit() - len;
    }

    private long rd(long pa) {
        return file.readDescriptor(pa);
    }

    public Lookup lookup(Bdf bdf) {
        long root = file.rootPa();
        if (root == 0) {
            return new Lookup(DeviceEntry.ABSENT, "no root published (table never initialised)");
        }
        switch (file.format()) {
            case PageTableFormat.FORMAT_VTD_SL: return lookupVtd(root, bdf);
            case PageTableFormat.FORMAT_ARM_LPAE_S2: return lookupSmmu(root, bdf);
            default: return new Lookup(DeviceEntry.ABSENT, "unknown format " + file.format() + " in the header");
        }
    }

    private Lookup lookupVtd(long root, Bdf bdf) {
        if (bdf.segment() != 0) {
            return new Lookup(DeviceEntry.ABSENT, "segment " + bdf.segment() + " is not behind this unit");
        }
        long rePa = root + (long) bdf.bus() * VtdDeviceTable.ENTRY_BYTES;
        if (!inFile(rePa, 16)) {
            return new Lookup(DeviceEntry.ABSENT, "root table at 0x" + Long.toHexString(root) + " outside the file");
        }
        long re = rd(rePa);
        if ((re & VtdDeviceTable.P) == 0) {
            return new Lookup(DeviceEntry.ABSENT, null);
        }
        long cePa = (re & DeviceTable.ADDR_MASK) + (long) bdf.devfn() * VtdDeviceTable.ENTRY_BYTES;
        if (!inFile(cePa, 16)) {
            return new Lookup(DeviceEntry.ABSENT, String.format("context-table pointer of bus %02x (0x%x) outside the file",
                    bdf.bus(), re & DeviceTable.ADDR_MASK));
        }
        long lo = rd(cePa);
        long hi = rd(cePa + 8);
        long dir = 0;
        long guestBase = 0;
        int guestBits = 0;
        boolean nested = false;
        long reHi = rd(rePa + 8);
        if ((reHi & VtdDeviceTable.P) != 0) {
            long extPa = (reHi & DeviceTable.ADDR_MASK) + (long) bdf.devfn() * VtdDeviceTable.ENTRY_BYTES;
            if (!inFile(extPa, 16)) {
                return new Lookup(DeviceEntry.ABSENT, String.format("extension page of bus %02x (0x%x) outside the file",
                        bdf.bus(), reHi & DeviceTable.ADDR_MASK));
            }
            long w0 = rd(extPa);
            long w1 = rd(extPa + 8);
            if ((w0 & VtdDeviceTable.P) != 0) {
                dir = w0 & DeviceTable.ADDR_MASK;
            }
            if ((w1 & VtdDeviceTable.GUEST_VALID) != 0) {
                nested = true;
                guestBase = w1 & DeviceTable.ADDR_MASK;
                guestBits = (int) ((w1 >>> VtdDeviceTable.GUEST_PASID_BITS_SHIFT) & 0x3F);
            }
        }
        if ((lo & VtdDeviceTable.P) == 0) {
            return new Lookup(new DeviceEntry(false, 0, 0, file.format(), nested, guestBase, guestBits, dir), null);
        }
        int did = (int) ((hi & VtdDeviceTable.DID_MASK) >>> VtdDeviceTable.DID_SHIFT);
        return new Lookup(new DeviceEntry(true, lo & DeviceTable.ADDR_MASK, did, file.format(), nested, guestBase,
                guestBits, dir), null);
    }

    private Lookup lookupSmmu(long regs, Bdf bdf) {
        if (!inFile(regs, 16)) {
            return new Lookup(DeviceEntry.ABSENT, "register page outside the file");
        }
        long base = rd(regs) & SmmuStreamTable.STRTAB_BASE_ADDR_MASK;
        int log2 = (int) (rd(regs + 8) & 0x3F);
        if (log2 > 24) {
            return new Lookup(DeviceEntry.ABSENT, "STRTAB_BASE_CFG.LOG2SIZE " + log2 + " is larger than a stream id");
        }
        int sid = bdf.requesterId();
        if (bdf.segment() != 0 || sid >= (1 << log2)) {
            return new Lookup(DeviceEntry.ABSENT, "stream id 0x" + Integer.toHexString(sid) + " beyond the stream table");
        }
        long ste = base + (long) sid * SmmuStreamTable.STE_BYTES;
        if (!inFile(ste, SmmuStreamTable.STE_BYTES)) {
            return new Lookup(DeviceEntry.ABSENT, String.format("STE of sid 0x%x at 0x%x outside the file", sid, ste));
        }
        long w0 = rd(ste);
        long w2 = rd(ste + 16);
        long w3 = rd(ste + 24);
        int config = (int) ((w0 & SmmuStreamTable.CONFIG_MASK) >>> SmmuStreamTable.CONFIG_SHIFT);
        long ctx = w0 & SmmuStreamTable.S1CTXPTR_MASK;
        int s1fmt = (int) ((w0 & SmmuStreamTable.S1FMT_MASK) >>> SmmuStreamTable.S1FMT_SHIFT);
        int cdmax = (int) (w0 >>> SmmuStreamTable.S1CDMAX_SHIFT);
        boolean nested = config == SmmuStreamTable.CONFIG_NESTED;
        long dir = nested && s1fmt == SmmuStreamTable.S1FMT_2LVL ? ctx : 0;
        long guestBase = nested && s1fmt == SmmuStreamTable.S1FMT_LINEAR ? ctx : 0;
        int guestBits = guestBase != 0 ? cdmax : 0;
        boolean valid = (w0 & SmmuStreamTable.V) != 0;
        if (valid && config != SmmuStreamTable.CONFIG_S2_ONLY && config != SmmuStreamTable.CONFIG_NESTED) {
            return new Lookup(DeviceEntry.ABSENT, "STE Config 0b" + Integer.toBinaryString(config) + " has no stage 2");
        }
        return new Lookup(new DeviceEntry(valid, valid ? w3 & SmmuStreamTable.S2TTB_MASK : 0,
                valid ? (int) (w2 & SmmuStreamTable.S2VMID_MASK) : 0, file.format(), nested, guestBase, guestBits, dir), null);
    }

    /** The bound entry of {@code pasid} on the device, or null. */
    public BoundPasidEntry boundPasid(DeviceEntry e, int pasid) {
        if (e.pasidDirectoryPa() == 0 || pasid <= 0 || pasid >= 1 << DeviceTable.PASID_BITS) {
            return null;
        }
        long dePa = e.pasidDirectoryPa() + (long) (pasid >>> 6) * 8;
        if (!inFile(dePa, 8)) {
            return null;
        }
        long de = rd(dePa);
        if ((de & 1) == 0) {
            return null;
        }
        long slot = (de & DeviceTable.ADDR_MASK) + (long) (pasid & 63) * BoundPasidEntry.BYTES;
        if (!inFile(slot, BoundPasidEntry.BYTES)) {
            return null;
        }
        long[] w = new long[BoundPasidEntry.WORDS];
        w[0] = rd(slot);
        for (int i = 1; i < w.length; i++) {
            w[i] = rd(slot + i * 8L);
        }
        return BoundPasidEntry.decode(pasid, w);
    }

    /** Every bound PASID of the device, in PASID order; pointers outside the file are skipped. */
    public List<BoundPasidEntry> boundPasids(DeviceEntry e) {
        if (e.pasidDirectoryPa() == 0 || !inFile(e.pasidDirectoryPa(), (long) DeviceTable.PASID_DIR_ENTRIES * 8)) {
            return Collections.emptyList();
        }
        List<BoundPasidEntry> out = new ArrayList<>();
        long[] w = new long[BoundPasidEntry.WORDS];
        for (int d = 0; d < DeviceTable.PASID_DIR_ENTRIES; d++) {
            long de = rd(e.pasidDirectoryPa() + d * 8L);
            if ((de & 1) == 0) {
                continue;
            }
            long leaf = de & DeviceTable.ADDR_MASK;
            if (!inFile(leaf, PageTableFileDescriptor.PAGE_SIZE)) {
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
                out.add(BoundPasidEntry.decode(d << 6 | s, w));
            }
        }
        return out;
    }

    /** Lookup plus bound PASIDs in one record. */
    public DeviceView view(Bdf bdf) {
        Lookup l = lookup(bdf);
        DeviceEntry e = l.entry();
        return new DeviceView(bdf, e.present(), e.stage2RootPa(), e.did(), file.format(), e.nested(), e.guestStageBase(),
                e.guestPasidBits(), boundPasids(e), l.problem());
    }

    @Override
    public void close() {
        if (owned) {
            file.close();
        }
    }
}
