package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.FaultRecords;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.SmmuStreamTable;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.vfio.uapi.IommuUapi;

import static org.junit.jupiter.api.Assertions.*;

/** The typed client over the same ioctl path; an SMMUv3 host end to end; a hostile device table. */
class VfioClientTest extends KernelTestBase {
    @Test
    void typedClientDrivesAVmLifecycle() {
        boot();
        VfioClient v = new VfioClient(k);
        int c = v.openContainer();
        assertEquals(0, v.apiVersion(c));
        assertEquals(1, v.checkExtension(c, TYPE1v2));
        int g = v.openGroup(1);
        assertEquals(0, v.setContainer(g, c));
        assertEquals(3, v.groupStatus(g).flags());
        assertEquals(0, v.setPersistentPgtables(c, v.openPageTableFile("vm", true)));
        assertEquals(0, v.setIommu(c, NESTING));
        VfioClient.IommuInfo info = v.getInfo(c);
        assertEquals(0, info.ret());
        assertEquals((1L << 48) - 1, info.iovaEnd());
        assertEquals(65535, info.dmaAvail());
        assertEquals(1, info.nestingCapabilities());
        VfioClient.IommuInfo small = v.getInfo(c, 24);
        assertEquals(88, small.argsz());
        assertEquals(0, v.mapGuestMemory(GUEST_VA, GUEST_SIZE, "ram"));
        assertEquals(0, v.mapDma(c, GUEST_VA, 0x100000, 0x200000));
        assertEquals(-17, v.mapDma(c, GUEST_VA, 0x100000, 0x1000));
        assertEquals(1, v.getVmid(c).vmid());
        assertEquals(0, v.setVmid(c, 42));
        assertEquals(42, v.getVmid(c).vmid());
        VfioClient.Pasid p = v.allocPasid(c, 10, 20);
        assertEquals(10, p.pasid());
        assertEquals(0, v.bindGuestPgtbl(c, true, p.pasid(), 0x5000, 3, true, 48, 0, 0, 0));
        assertTrue(k.unit(0).dmaTranslate(Bdf.parse("00:01.0"), p.pasid(), 0x100000, Prot.READ).ok());
        assertEquals(0, v.invalidatePasid(c, p.pasid()));
        assertEquals(0, v.invalidateAddr(c, 0x100000, 4096, 2, -1, true));
        assertEquals(0, v.invalidateDomain(c));
        k.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x900000, Prot.WRITE);
        k.unit(0).pageRequest(Bdf.parse("00:01.0"), p.pasid(), 0x2000, Prot.READ, 5, true);
        VfioClient.Faults f = v.readFaults(c, 8);
        assertEquals(2, f.faults().size());
        assertEquals(IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH, FaultRecords.reason(f.faults().get(0)));
        assertEquals(5, FaultRecords.prmGrpid(f.faults().get(1)));
        assertEquals(0, v.pageResponse(c, 5, p.pasid(), 0));
        assertEquals(0, v.bindGuestPgtbl(c, false, p.pasid(), 0, 0, false, 48, 0, 0, 0));
        assertEquals(0, v.freePasid(c, p.pasid()));
        assertEquals(-19, v.bindGuestStagePasidTable(c, 0x80000, 16), "no guest PASID table on VT-d (ENODEV)");
        assertEquals(-22, v.unbindGuestStage(c));
        VfioClient.Unmapped u = v.unmapDma(c, 0, 0, 2);
        assertEquals(0x200000, u.size());
        assertEquals(0, v.unsetContainer(g));
        assertEquals(0, v.close(c));
        assertEquals("EINVAL", VfioClient.result(-22));
    }

    @Test
    void smmuv3HostEndToEnd() {
        topo = HostTopology.parse("unit 0 smmuv3\ngroup 1 unit 0 device 00:01.0\ngroup 2 unit 0 device 01:00.0\n");
        boot();
        VfioClient v = new VfioClient(k);
        int c = v.openContainer();
        assertEquals(0, v.setContainer(v.openGroup(2), c));
        int arm = v.openPageTableFile("vm", true);
        assertEquals(2, mount.openTableFile(mount.pageTablePath("vm")).format(), "created in the unit's format");
        assertEquals(0, v.setPersistentPgtables(c, arm));
        assertEquals(0, v.setIommu(c, NESTING));
        assertEquals(0, v.mapGuestMemory(GUEST_VA, GUEST_SIZE, "ram"));
        assertEquals(0, v.mapDma(c, GUEST_VA, 0x40000000L, 0x200000L));
        Bdf dev = Bdf.parse("01:00.0");
        long pa = k.vmm().resolve(GUEST_VA, 4096);
        assertEquals(pa + 0x123, k.unit(0).dmaTranslate(dev, Iotlb.NO_PASID, 0x40000123L, Prot.WRITE).pa());
        assertEquals(-22, v.bindGuestStagePasidTable(c, 0x80000, 16), "PASID-table kind on an SMMU");
        assertEquals(0, v.bindGuestStageSmmu(c, 0x90040, false, false, false));
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit0"))) {
            DeviceTableReader.DeviceView view = r.view(dev);
            assertTrue(view.present());
            assertTrue(view.nested(), "Config 0b111");
            assertEquals(0x90040, view.guestStageBase());
            assertEquals(1, view.vmid());
        }
        VfioClient.Pasid p = v.allocPasid(c, 1, 100);
        assertEquals(-16, v.bindSmmuCdTable(c, true, p.pasid(), 0x5000, 3),
                "a seed 002 guest stage and gpasid bindings are exclusive");
        assertEquals(0, v.unbindGuestStage(c));
        assertEquals(-22, v.bindGuestPgtbl(c, true, p.pasid(), 0x5000, 3, true, 48, 0, 0, 0), "VT-d format on an SMMU");
        assertEquals(0, v.bindSmmuCdTable(c, true, p.pasid(), 0x5000, 3));
        DeviceTableReader.DeviceView view = k.unit(0).deviceTable().reader().view(dev);
        assertTrue(view.nested());
        assertEquals(0x5000, view.guestStageBase(), "S1ContextPtr = the guest CD table's IPA");
        assertTrue(view.boundPasids().isEmpty(), "no host-written PASID record");
    }

    @Test
    void readerSurvivesAHostileDeviceTable() {
        boot();
        int c = containerWith(TYPE1v2, 1);
        assertNotNull(k.container(c).domain());
        PageTableFile hw = k.unit(0).deviceTable().file();
        long root = hw.readDescriptor(hw.rootPa() + 0x20) & ~0xFFFL; // RTADDR_REG: the root table
        // bus 0's context pointer aimed beyond the file, bus 1's at the header page
        hw.writeDescriptor(root, (hw.paLimit() + 0x10000) | 1);
        hw.writeDescriptor(root + 16, hw.paBase() | 1);
        hw.writeDescriptor(root + 24, 0xFFFF_FFFF_F000L | 1);
        DeviceTableReader r = k.unit(0).deviceTable().reader();
        assertNotNull(r.lookup(Bdf.parse("00:01.0")).problem());
        assertFalse(r.lookup(Bdf.parse("00:01.0")).entry().present());
        assertNotNull(r.lookup(Bdf.parse("01:00.0")).problem());
        assertFalse(k.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0, Prot.READ).ok());
        assertTrue(k.unit(0).deviceTable().reachablePages().get((int) hw.pageIndexOf(root)));
        assertEquals(SmmuStreamTable.MIN_LOG2SIZE, 6);
    }
}
