package org.pkstore.iommu;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * The hardware-visible device table of one {@link IommuUnit}, kept in the pkernfs file
 * {@code iommu/unitN.hw} (kind {@link PageTableFileDescriptor#KIND_IOMMU_TABLES}, format field =
 * the unit's stage-2 format id) so that a device keeps translating through kexec.
 * {@link VtdDeviceTable} and {@link SmmuStreamTable} document their layouts; the bits of every
 * entry are owned by the codecs of {@code org.pkstore.iommu.hw}; docs/FORMAT.md section 6.5 gives
 * the file byte by byte.
 *
 * <h2>Crash-safe, idempotent writes</h2>
 * Every store is an 8-byte release store through {@link PageTableFile#writeDescriptor}. A new
 * entry's other words are filled first and the word holding its valid/present bit is stored last;
 * clearing (detach, an explicit take-down) stores that word first. A <b>present</b> entry is never
 * taken down to be rewritten: attach changes it in place, one word at a time, each store leaving
 * it present and valid (one store when one word differs, as on reattach and hotswap). Before any store the word is compared with the wanted value and nothing
 * is written when it already holds it, so re-attaching the same domain after kexec writes zero
 * descriptors. A stage-2 root switch (hotswap restore) is one store of the word holding the root.
 *
 * <h2>Bound PASIDs</h2>
 * Only in the hardware's own structures; this file holds no pkstore PASID record. VT-d: nested
 * (PGTT 011b) entries of the scalable-mode PASID tables under the context entry's PASID directory
 * ({@link VtdDeviceTable}). SMMUv3: the guest's context descriptors, in guest memory at the nested
 * STE's S1ContextPtr (an IPA); the host file holds only the STE ({@link SmmuStreamTable}).
 */
public abstract class DeviceTable {
    /** Capacity of a unit's .hw file: 16 MiB, sparse. */
    public static final long FILE_PAGES = 4096;
    /** PASID width of both architectures (VT-d PASID, SMMUv3 SubstreamID): 20 bits. */
    public static final int PASID_BITS = 20;
    static final long PAGE_MASK = ~(PageTableFileDescriptor.PAGE_SIZE - 1L);

    protected final PageTableFile file;
    protected final int unitId;

    protected DeviceTable(PageTableFile file, int unitId) {
        this.file = file;
        this.unitId = unitId;
    }

    /**
     * Opens the unit's table as it is (after kexec: zero writes), or creates it on first boot.
     *
     * @param devices every device behind the unit (sizes the SMMUv3 stream table)
     */
    public static DeviceTable openOrCreate(PkernfsMount mount, int unitId, IommuDriver driver, List<Bdf> devices) {
        return openOrCreate(mount, new HostTopology.Unit(unitId, driver), devices);
    }

    /**
     * As above for a unit of the host topology, whose capabilities choose the layout of a new file
     * (VT-d: scalable mode with PASID capability, else legacy); an existing file keeps its own.
     */
    public static DeviceTable openOrCreate(PkernfsMount mount, HostTopology.Unit unit, List<Bdf> devices) {
        int unitId = unit.id();
        IommuDriver driver = unit.driver();
        Path path = mount.iommuTablePath("unit" + unitId);
        int formatId = driver.stage2Format().id();
        if (Files.exists(path)) {
            PageTableFile f = mount.openTableFile(path);
            if (f.kind() != PageTableFileDescriptor.KIND_IOMMU_TABLES || f.format() != formatId) {
                throw new IllegalStateException(path + " is kind " + f.kind() + " format " + f.format()
                        + ", expected IOMMU tables of format " + formatId + " (" + driver.configName() + ")");
            }
            DeviceTable t = wrap(f, unit);
            if (f.rootPa() == 0) {
                t.initialise(devices); // crash during first boot: the root was never published
            }
            return t;
        }
        PageTableFile f = mount.createTableFile(path, PageTableFileDescriptor.KIND_IOMMU_TABLES, formatId, FILE_PAGES, unitId);
        DeviceTable t = wrap(f, unit);
        t.initialise(devices);
        return t;
    }

    static DeviceTable wrap(PageTableFile f, HostTopology.Unit unit) {
        return unit.driver() == IommuDriver.VTD ? new VtdDeviceTable(f, unit.id(), unit.pasid())
                : new SmmuStreamTable(f, unit.id());
    }

    /** Builds the empty top-level structure and publishes it as the file's root. */
    protected abstract void initialise(List<Bdf> devices);

    public PageTableFile file() { return file; }
    public abstract IommuDriver driver();

    /** A reader over this (live) file: the same decoding a device in another process uses. */
    public DeviceTableReader reader() {
        return new DeviceTableReader(file);
    }

    /**
     * Points {@code bdf} at a stage-2 table: root {@code s2Root}, domain id / VMID {@code did}.
     * Writes only the words that differ. A present entry is never taken down: a new root with the
     * same DID is one store; a new DID and root is two (DID first), each leaving it present and valid.
     *
     * @return 0, -ENOMEM (file full) or -ENODEV (the device is outside the table)
     */
    public abstract int attach(Bdf bdf, long s2Root, int did);

    /** Clears the device's entry (valid word first). Bound PASIDs stay in their table, unreachable by DMA. */
    public abstract void detach(Bdf bdf);

    /** Hotswap: ONE release store of the word holding the stage-2 root. */
    public abstract void switchStage2Root(Bdf bdf, long newRoot);

    /** Retags the device with another DID / VMID: one store. */
    public abstract void setDid(Bdf bdf, int did);

    /** Installs a guest stage-1 configuration (nested): guest table pointer and PASID bits. */
    public abstract int setGuestStage(Bdf bdf, long guestBase, int pasidBits);

    public abstract void clearGuestStage(Bdf bdf);

    /** Writes a bound PASID entry (other words first, word 0 last). */
    public abstract int bindPasid(Bdf bdf, BoundPasidEntry e);

    public abstract void unbindPasid(Bdf bdf, int pasid);

    /**
     * Page indices of every page reachable from the file's root (for the reachability sweep after an
     * unclean end: everything else allocated is a leak). Pointers outside the table area are skipped.
     */
    public abstract BitSet reachablePages();

    public DeviceEntry lookup(Bdf bdf) {
        return reader().lookup(bdf).entry();
    }

    // ---- shared helpers ----------------------------------------------------------------------

    /** Release-stores {@code value} at {@code pa} unless it already holds it. */
    protected final void put(long pa, long value) {
        if (file.readDescriptor(pa) != value) {
            file.writeDescriptor(pa, value);
        }
    }

    protected final boolean addPage(BitSet pages, long pa) {
        if (!file.isTablePage(pa & PAGE_MASK)) {
            return false;
        }
        pages.set((int) file.pageIndexOf(pa & PAGE_MASK));
        return true;
    }
}
