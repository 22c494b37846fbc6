package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;

import static org.junit.jupiter.api.Assertions.*;

/** The hotswap restore: fresh tables, atomic device-table switch, old tables freed; crash in the middle. */
class DomainHotswapTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");

    int container() {
        int c = k.openContainer();
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x40000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x200000, 0x4000_0000L, 0x400000)));
        return c;
    }

    long deviceRoot() {
        return k.unit(0).deviceTable().lookup(DEV1).stage2RootPa();
    }

    @Test
    void swapBuildsFreshTablesSwitchesTheDeviceAndFreesTheOld() {
        boot();
        int c = container();
        PageTableFile f = mount.openTableFile(mount.pageTablePath("vm1"));
        long oldRoot = deviceRoot();
        long pa = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).pa();
        long pagesBefore = f.allocatedTablePages();

        DomainHotswap.Result r = DomainHotswap.swap(k, c);

        assertEquals(oldRoot, r.oldRoot());
        assertNotEquals(oldRoot, r.newRoot());
        assertEquals(r.newRoot(), deviceRoot(), "the device-table entry names the fresh root");
        assertEquals(r.newRoot(), f.rootPa(), "and so does the file header");
        assertTrue(r.descriptorsWritten() > 0);
        assertEquals(pagesBefore, r.oldPagesFreed(), "every old page was freed");
        assertEquals(pagesBefore, f.allocatedTablePages(), "the fresh tree has the same shape");
        assertFalse(f.isAllocated(f.pageIndexOf(oldRoot)));
        assertEquals(pa, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).pa(),
                "same translation through the fresh tables (IOTLB flushed)");
        // map/unmap now go to the fresh table
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x800000, 0x8000_0000L, 0x1000)));
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x8000_0000L, Prot.READ).ok());
    }

    /** A kill at {@code point} of the swap, then the recovering boot and a reattach. */
    void crashAtThenRecoverAndReattach(String point) {
        boot();
        int c = container();
        long oldRoot = deviceRoot();
        PageTableFile f0 = mount.openTableFile(mount.pageTablePath("vm1"));
        long pagesBefore = f0.allocatedTablePages();
        long pa = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).pa();
        long pa2 = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101234L, Prot.READ).pa();
        k.setCrashPoints(CrashPoints.at(point, 1));
        assertThrows(SimulatedCrash.class, () -> DomainHotswap.swap(k, c));
        crashAndBoot();

        PageTableFile f = mount.openTableFile(mount.pageTablePath("vm1"));
        assertNotEquals(oldRoot, f.rootPa(), "the header had the new root");
        assertEquals(f.rootPa(), deviceRoot(), "recovery finished the swap: the device walks the published root");
        assertFalse(f.isAllocated(f.pageIndexOf(oldRoot)), "the old tree was swept");
        assertEquals(pagesBefore, f.allocatedTablePages(), "no page leaked");
        assertEquals(pa, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).pa());
        assertEquals(pa2, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101234L, Prot.READ).pa());
        assertTrue(k.recoveryReport().toString().contains("HOTSWAP"), k.recoveryReport().toString());

        PageTableFile hw = k.unit(0).deviceTable().file();
        long hw0 = hw.descriptorWrites();
        long pt0 = f.descriptorWrites();
        int c2 = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c2)));
        assertEquals(0, k.ioctl(c2, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c2, SET_IOMMU, TYPE1v2));
        assertEquals(hw0, hw.descriptorWrites(), "reattach wrote no device-table descriptor");
        assertEquals(pt0, f.descriptorWrites(), "adopting the tables wrote no descriptor");
        assertEquals(pa, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).pa());
    }

    @Test
    void killBetweenPublishAndSwitchIsFinishedByRecovery() {
        crashAtThenRecoverAndReattach("hotswap:published");
    }

    @Test
    void killAfterTheSwitchBeforeTheFreeLeaksNothing() {
        crashAtThenRecoverAndReattach("hotswap:switched");
    }

    @Test
    void killBeforePublishIsUndone() {
        boot();
        int c = container();
        long oldRoot = deviceRoot();
        PageTableFile f0 = mount.openTableFile(mount.pageTablePath("vm1"));
        long pagesBefore = f0.allocatedTablePages();
        // the journal's begin is the first store of the intent; crash on the publish itself
        k.setCrashPoints(CrashPoints.at("hotswap:published", 1));
        k.journal.begin(KernelIntent.HOTSWAP, HotswapIntent.payload(k.container(c).id(), oldRoot, 0x7777_0000L));
        crashAndBoot();
        PageTableFile f = mount.openTableFile(mount.pageTablePath("vm1"));
        assertEquals(oldRoot, f.rootPa());
        assertEquals(oldRoot, deviceRoot(), "nothing was switched");
        assertEquals(pagesBefore, f.allocatedTablePages());
        assertTrue(k.recoveryReport().toString().contains("undone"), k.recoveryReport().toString());
    }
}
