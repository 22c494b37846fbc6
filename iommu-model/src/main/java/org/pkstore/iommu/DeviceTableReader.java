package org.pkstore.iommu;

import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * Reads a unit's device table ({@code iommu/unitN.hw}) as the IOMMU hardware would, for a
 * simulated device in another process: given a BDF, where its stage-2 table is, which VMID/DID
 * tags it, and which PASIDs are bound. Layouts: {@link VtdDeviceTable}, {@link SmmuStreamTable}.
 * Every word is decoded by the codecs of {@code org.pkstore.iommu.hw}.
 *
 * <p>Never reads outside the file's table area: every pointer taken from the file is checked
 * (aligned, inside {@code [first table page, end of file)}, with room for the whole entry) before
 * it is followed, and a bad one is reported as a problem, not an exception. Loops are bounded by
 * the structure sizes (256 buses x 256 devfns, 2^14 PASID-directory entries x 64 PASID entries), so a hostile
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
    private final VtdTableReader vtd;

    public DeviceTableReader(PageTableFile file) {
        this(file, false);
    }

    private DeviceTableReader(PageTableFile file, boolean owned) {
        this.file = file;
        this.owned = owned;
        this.tableStart = file.paBase() + file.firstTablePage() * PageTableFileDescriptor.PAGE_SIZE;
        this.vtd = new VtdTableReader(this);
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

    boolean inFile(long pa, long len) {
        return (pa & 7) == 0 && pa >= tableStart && len >= 0 && pa <= file.paLimit() - len;
    }

    long rd(long pa) {
        return file.readDescriptor(pa);
    }

    public Lookup lookup(Bdf bdf) {
        long root = file.rootPa();
        if (root == 0) {
            return new Lookup(DeviceEntry.ABSENT, "no root published (table never initialised)");
        }
        switch (file.format()) {
            case PageTableFormat.FORMAT_VTD_SL: return vtd.lookup(bdf);
            case PageTableFormat.FORMAT_ARM_LPAE_S2: return lookupSmmu(root, bdf);
            default: return new Lookup(DeviceEntry.ABSENT, "unknown format " + file.format() + " in the header");
        }
    }

    /** PA of {@code bdf}'s STE (-1 when there is none), for the SMMUv3 PASID lookup; same bounds as {@link #lookup}. */
    long stePa(Bdf bdf) {
        long regs = file.rootPa();
        if (file.format() != PageTableFormat.FORMAT_ARM_LPAE_S2 || regs == 0 || !inFile(regs, 16)) {
            return -1;
        }
        long base = SmmuStreamTableBase.streamTablePa(rd(regs));
        int log2 = SmmuStreamTableBase.log2Size(rd(regs + 8));
        int sid = bdf.requesterId();
        if (log2 > SmmuStreamTableBase.MAX_LOG2SIZE || bdf.segment() != 0 || sid >= (1 << log2)) {
            return -1;
        }
        long ste = base + SmmuStreamTableEntry.offset(sid);
        return inFile(ste, SmmuStreamTableEntry.BYTES) ? ste : -1;
    }

    /** The word at {@code pa} of this file (acquire load); {@code pa} from {@link #stePa}. */
    long word(long pa) {
        return rd(pa);
    }

    private Lookup lookupSmmu(long regs, Bdf bdf) {
        PasidTranslationBuffer ste = new PasidTranslationBuffer();
        decodeSte(regs, bdf, ste);
        if (ste.steProblem != null) {
            return new Lookup(DeviceEntry.ABSENT, ste.steProblem);
        }
        return new Lookup(new DeviceEntry(ste.stePresent, ste.steStage2RootPa, ste.steVmid, file.format(), ste.steNested,
                ste.steGuestBase, ste.steGuestBits, 0), null); // an STE has no host PASID table: the CDs are the guest's
    }

    /**
     * Decodes {@code bdf}'s STE into {@code out}'s STE fields: {@code steProblem} set (and the entry
     * absent) when the hardware would refuse it, else valid or not with its stage-2 root and VMID.
     * Allocates only for a refused entry (the reason).
     */
    void decodeSte(long regs, Bdf bdf, PasidTranslationBuffer out) {
        out.stePresent = false;
        out.steStage2RootPa = 0;
        out.steVmid = 0;
        out.steNested = false;
        out.steGuestBase = 0;
        out.steGuestBits = 0;
        out.steProblem = null;
        if (!inFile(regs, 16)) {
            out.steProblem = "register page outside the file";
            return;
        }
        long base = SmmuStreamTableBase.streamTablePa(rd(regs));
        int log2 = SmmuStreamTableBase.log2Size(rd(regs + 8));
        if (log2 > SmmuStreamTableBase.MAX_LOG2SIZE) {
            out.steProblem = "STRTAB_BASE_CFG.LOG2SIZE " + log2 + " is larger than a stream id";
            return;
        }
        int sid = bdf.requesterId();
        if (bdf.segment() != 0 || sid >= (1 << log2)) {
            out.steProblem = "stream id 0x" + Integer.toHexString(sid) + " beyond the stream table";
            return;
        }
        long ste = base + SmmuStreamTableEntry.offset(sid);
        if (!inFile(ste, SmmuStreamTableEntry.BYTES)) {
            out.steProblem = String.format("STE of sid 0x%x at 0x%x outside the file", sid, ste);
            return;
        }
        long w0 = rd(ste);
        long w2 = rd(ste + 16);
        long w3 = rd(ste + 24);
        int config = SmmuStreamTableEntry.config(w0);
        boolean nested = config == SmmuStreamTableEntry.CONFIG_NESTED;
        boolean valid = SmmuStreamTableEntry.valid(w0);
        if (valid && !SmmuStreamTableEntry.hasStage2(config)) {
            out.steProblem = "STE Config 0b" + Integer.toBinaryString(config) + " has no stage 2";
            return;
        }
        if (valid && (SmmuStreamTableEntry.reservedWord0(w0) | SmmuStreamTableEntry.reservedWord2(w2)
                | SmmuStreamTableEntry.reservedWord3(w3)) != 0) {
            // hardware: C_BAD_STE for a valid STE with reserved fields set
            out.steProblem = String.format("STE of sid 0x%x: reserved field set", sid);
            return;
        }
        out.stePresent = valid;
        out.steStage2RootPa = valid ? SmmuStreamTableEntry.stage2Root(w3) : 0;
        out.steVmid = valid ? SmmuStreamTableEntry.vmid(w2) : 0;
        out.steNested = nested;
        out.steGuestBase = nested ? SmmuStreamTableEntry.s1ContextPtr(w0) : 0;
        out.steGuestBits = nested ? SmmuStreamTableEntry.s1CdMax(w0) : 0;
    }

    /** {@link #decodeSte} from the file's register page; absent (with the reason) when none was published. */
    void decodeSte(Bdf bdf, PasidTranslationBuffer out) {
        long root = file.rootPa();
        decodeSte(root, bdf, out); // 0 is outside the file: refused
        if (root == 0) {
            out.steProblem = "no root published (table never initialised)";
        }
    }

    /**
     * For a device's DMA path: the stage-2 root of {@code bdf}'s untagged DMA when {@link #lookup}
     * finds a present entry, else -1. Decodes into {@code scratch}; allocates nothing unless the
     * structures are refused.
     */
    public long presentStage2Root(Bdf bdf, PasidTranslationBuffer scratch) {
        if (file.rootPa() == 0) {
            return -1;
        }
        switch (file.format()) {
            case PageTableFormat.FORMAT_VTD_SL: return vtd.presentStage2Root(bdf, scratch.walk);
            case PageTableFormat.FORMAT_ARM_LPAE_S2:
                decodeSte(file.rootPa(), bdf, scratch);
                return scratch.stePresent ? scratch.steStage2RootPa : -1;
            default: return -1;
        }
    }

    /**
     * The bound entry of {@code pasid} on the device, or null: VT-d, the nested PASID-table entry of
     * {@code pasid} under the device's PASID directory. SMMUv3: always null, the host file holds no
     * bound SSID (see {@link #boundPasids}).
     */
    public BoundPasidEntry boundPasid(DeviceEntry e, int pasid) {
        return file.format() == PageTableFormat.FORMAT_VTD_SL ? vtd.boundPasid(e, pasid) : null;
    }

    /**
     * Every PASID bound on the device, in PASID order, decoded from hardware words only. VT-d: the
     * present PASID-table entries with PGTT nested under the device's PASID directory (RID_PASID
     * excluded), pointers outside the file skipped. SMMUv3: empty. A bound SSID is the guest's own
     * context descriptor at S1ContextPtr + 64 x SSID, in guest memory the host cannot read; what the
     * host knows is the nested STE's S1CDMax range ({@link DeviceEntry#guestPasidBits}) plus the
     * bindings registry (vfio.PasidBindings), or the CDs themselves when guest memory is at hand
     * (restore-tool's SmmuGuestCds).
     */
    public List<BoundPasidEntry> boundPasids(DeviceEntry e) {
        return file.format() == PageTableFormat.FORMAT_VTD_SL ? vtd.boundPasids(e) : Collections.emptyList();
    }

    /** {@link #boundPasids(DeviceEntry)} of {@code bdf}'s entry (empty when it has none). */
    public List<BoundPasidEntry> boundPasids(Bdf bdf) {
        return boundPasids(lookup(bdf).entry());
    }

    /**
     * How {@code bdf}'s DMA tagged with {@code pasid} ({@link PasidTranslation#UNTAGGED} for none)
     * translates, from the hardware's structures only; {@code memory} reads what lives in guest
     * memory (SMMUv3 context descriptors) through stage 2.
     */
    public PasidTranslation pasidTranslation(Bdf bdf, int pasid, NestedMemory memory) {
        PasidTranslationBuffer out = new PasidTranslationBuffer();
        pasidTranslation(bdf, pasid, memory, out);
        return out.toRecord();
    }

    /**
     * As {@link #pasidTranslation(Bdf, int, NestedMemory)} into {@code out}, for a device's DMA
     * path: allocates nothing unless the structures fault (the reason). True when it translates.
     */
    public boolean pasidTranslation(Bdf bdf, int pasid, NestedMemory memory, PasidTranslationBuffer out) {
        switch (file.format()) {
            case PageTableFormat.FORMAT_VTD_SL: VtdPasidLookup.resolve(this, vtd, bdf, pasid, out); break;
            case PageTableFormat.FORMAT_ARM_LPAE_S2: SmmuPasidLookup.resolve(this, bdf, pasid, memory, out); break;
            default: out.fault(pasid, "unknown format " + file.format() + " in the header");
        }
        return out.ok();
    }

    /** Lookup plus bound PASIDs in one record. */
    public DeviceView view(Bdf bdf) {
        Lookup l = lookup(bdf);
        DeviceEntry e = l.entry();
        List<BoundPasidEntry> bound = boundPasids(e);
        // VT-d nests per PASID: the device is nested when any of its PASID entries is (PGTT 011b)
        boolean nested = e.nested() || (file.format() == PageTableFormat.FORMAT_VTD_SL && !bound.isEmpty());
        return new DeviceView(bdf, e.present(), e.stage2RootPa(), e.did(), file.format(), nested, e.guestStageBase(),
                e.guestPasidBits(), bound, l.problem());
    }

    @Override
    public void close() {
        if (owned) {
            file.close();
        }
    }
}
