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

    @Test
    void crashBetweenPublishingAndSwitchingKeepsBothTreesTheDeviceCanWalk() {
        boot();
        int c = container();
        long oldRoot = deviceRoot();
        k.setCrashPoints(CrashPoints.at("hotswap:published", 1));
        assertThrows(SimulatedCrash.class, () -> DomainHotswap.swap(k, c));
        crashAndBoot();
        PageTableFile f = mount.openTableFile(mount.pageTablePath("vm1"));
        assertNotEquals(oldRoot, f.rootPa(), "the header had the new root");
        assertEquals(oldRoot, deviceRoot(), "the device still walks the old one");
        assertTrue(f.isAllocated(f.pageIndexOf(oldRoot)), "the sweep kept the tree the device walks");
        PageTableWalker w = PageTableWalker.of(f);
        long[] leaves = {0};
        w.walk(oldRoot, 0, 1L << 48, new PageTableVisitor() {
            @Override
            public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                leaves[0]++;
            }
        });
        assertTrue(leaves[0] > 0);
        w.walk(oldRoot, 0, 1L << 48, new PageTableVisitor() {});
        for (int p = w.reachablePages().nextSetBit(0); p >= 0; p = w.reachablePages().nextSetBit(p + 1)) {
            assertTrue(f.isAllocated(p), "page " + p + " of the device's tree is still allocated");
        }
        assertTrue(k.recoveryReport().notes().stream().anyMatch(n -> n.contains("interrupted hotswap")),
                k.recoveryReport().toString());
    }
}
