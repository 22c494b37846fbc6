package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.DomainRecord;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A host killed inside a hotswap or a SET_IOMMU, then {@code verify} and {@code verify --repair}
 * run on the mount before the next boot, through the one definition they share with the boot sweep
 * ({@link MountReachability}): the repair frees nothing a device still walks (the device keeps
 * translating every mapped IOVA from the files alone), the consistency check names a device entry
 * no domain record backs, and the boot that follows recovers to a mount every crash invariant holds on.
 */
class InterruptedRepairTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final long IOVA1 = 0x100000;
    static final long IOVA2 = 0x4000_0000L;

    int vm1(boolean mapped) {
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        if (mapped) {
            assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
            mapGuest();
            assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, IOVA1, 0x40000)));
            assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x200000, IOVA2, 0x400000)));
        }
        return c;
    }

    /** DEV1's present entry as the device reads it from the unit's file (no kernel). */
    DeviceEntry deviceEntry() {
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(dir.resolve(PkernfsMount.IOMMU_DIR).resolve("unit0.hw"))) {
            return r.lookup(DEV1).entry();
        }
    }

    /** verify's consistency check of DEV1 (null: backed by a domain record whose VMID is held). */
    String verifyDevice() {
        try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
            DeviceEntry e = deviceEntry();
            assertTrue(e.present());
            return MountReachability.unbacked(0, e.did(), ro.registries().domains.values(),
                    v -> ro.registries().vmids.get(v) != null);
        }
    }

    /** verify --repair on vm1.pt: frees what the shared definition does not reach; the count freed. */
    long repair() {
        IntentJournal.Intent pending;
        try (IntentJournal j = IntentJournal.openReadOnly(dir.resolve(IntentJournal.FILE_NAME))) {
            pending = j.pending();
        }
        List<Long> deviceRoots = new ArrayList<>();
        DeviceEntry e = deviceEntry();
        if (e.present()) {
            deviceRoots.add(e.stage2RootPa());
        }
        Path p = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("vm1" + PkernfsMount.PGTABLE_SUFFIX);
        long generation;
        try (PageTableFile ro = PageTableFile.openReadOnly(p)) {
            generation = ro.generation();
        }
        try (PageTableFile f = PageTableFile.openReadWrite(p, generation)) {
            BitSet live = MountReachability.reachable(f, deviceRoots, pending, new PageTableVisitor() {});
            return f.reclaimUnreachable(live);
        }
    }

    /** The device's own walk of DEV1's entry, from the table file alone. */
    long deviceTranslates(long iova) {
        Path p = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("vm1" + PkernfsMount.PGTABLE_SUFFIX);
        try (PageTableFile f = PageTableFile.openReadOnly(p)) {
            return new DeviceTranslation(f).translate(deviceEntry().stage2RootPa(), iova, Prot.READ);
        }
    }

    void bootAndCheck() {
        boot();
        assertFalse(k.journal.active(), "recovery resolved the intent");
        assertEquals(List.of(), CrashInvariants.check(mount, topo));
    }

    @Test
    void repairAfterAKillBetweenPublishAndSwitchKeepsTheTreeTheDeviceWalks() {
        boot();
        int c = vm1(true);
        long pa1 = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA1 + 0x234, Prot.READ).pa();
        long pa2 = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA2 + 0x1234, Prot.READ).pa();
        long oldRoot = deviceEntry().stage2RootPa();
        k.setCrashPoints(CrashPoints.at("hotswap:published", 1));
        assertThrows(SimulatedCrash.class, () -> DomainHotswap.swap(k, c));
        k.crash();

        assertEquals(oldRoot, deviceEntry().stage2RootPa(), "killed before the device-table switch");
        assertNull(verifyDevice(), "the entry is backed by its domain record and a held VMID");
        repair();
        assertEquals(pa1, deviceTranslates(IOVA1 + 0x234), "after --repair the device still walks its (old) tree");
        assertEquals(pa2, deviceTranslates(IOVA2 + 0x1234));

        bootAndCheck();
        assertEquals(pa1, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA1 + 0x234, Prot.READ).pa());
        assertEquals(pa2, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA2 + 0x1234, Prot.READ).pa());
        assertNotEquals(oldRoot, deviceEntry().stage2RootPa(), "recovery finished the swap");
        assertEquals(0, repair(), "after recovery --repair finds nothing to free");
    }

    @Test
    void repairAfterAKillAfterTheSwitchKeepsTheNewTreeAndFreesOnlyTheOld() {
        boot();
        int c = vm1(true);
        long pa2 = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA2 + 0x1234, Prot.READ).pa();
        long oldRoot = deviceEntry().stage2RootPa();
        k.setCrashPoints(CrashPoints.at("hotswap:switched", 1));
        assertThrows(SimulatedCrash.class, () -> DomainHotswap.swap(k, c));
        k.crash();

        assertNotEquals(oldRoot, deviceEntry().stage2RootPa(), "killed after the switch");
        repair();
        assertEquals(pa2, deviceTranslates(IOVA2 + 0x1234), "the device walks the fresh tree after --repair");
        bootAndCheck();
        assertEquals(pa2, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, IOVA2 + 0x1234, Prot.READ).pa());
    }

    @Test
    void verifyNamesTheUnbackedEntryOfAnInterruptedSetIommuAndRepairKeepsItsTree() {
        boot();
        mapGuest();
        int c = vm1(false);
        k.setCrashPoints(CrashPoints.at("setiommu:attached", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, SET_IOMMU, TYPE1v2));
        k.crash();

        DeviceEntry e = deviceEntry();
        assertTrue(e.present(), "killed after the device entry's store");
        String why = verifyDevice();
        assertNotNull(why, "verify names the entry: no domain record backs it yet");
        assertTrue(why.contains("no domain record"), why);
        repair();
        Path p = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("vm1" + PkernfsMount.PGTABLE_SUFFIX);
        try (PageTableFile f = PageTableFile.openReadOnly(p)) {
            assertTrue(f.isAllocated(f.pageIndexOf(e.stage2RootPa())), "--repair did not free the root the device walks");
        }

        bootAndCheck();
        assertFalse(deviceEntry().present(), "recovery undid the attach of the SET_IOMMU that never returned");
        for (DomainRecord d : k.registries.domains.values()) {
            assertNotEquals(k.container(c) == null ? -1 : k.container(c).id(), d.containerId());
        }
    }
}
