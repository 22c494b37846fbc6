package org.pkstore.iommu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.vfio.uapi.IommuFaultUnrecoverable;
import org.pkstore.vfio.uapi.IommuUapi;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class IommuUnitTest {
    @TempDir
    Path dir;
    PkernfsMount mount;
    final List<byte[]> faults = new ArrayList<>();

    @AfterEach
    void close() {
        if (mount != null) {
            mount.close();
        }
    }

    private IommuUnit unit(HostTopology topo, int id) {
        PhysicalMemory mem = new PhysicalMemory();
        HostTopology.Unit u = topo.unit(id);
        List<Bdf> devs = new ArrayList<>();
        topo.groups().values().stream().filter(g -> g.unitId() == id).forEach(g -> devs.addAll(g.devices()));
        IommuUnit unit = IommuUnit.open(mount, u, devs, mem, (uid, bdf, f) -> faults.add(f));
        return unit;
    }

    private PageTableFile domainFile(IommuUnit unit, String name) {
        return mount.createTableFile(mount.pageTablePath(name), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                unit.stage2Format().id(), 256, 1);
    }

    private IommuDomain domain(IommuUnit unit, PhysicalMemory mem, String name, int vmid) {
        PageTableFile f = domainFile(unit, name);
        return IommuDomain.allocate(1, unit, f, name, 1, IommuDomain.STAGE_PAGING, vmid);
    }

    @Test
    void anAdoptedDomainKeepsThePersistedUnmapPolicyAndPageSizes() {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.defaultTopology();
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(), mem, (u, b, f) -> faults.add(f));
        PageTableFile df = domainFile(unit, "d");
        mem.add(df);
        IommuDomain fresh = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 7);
        assertEquals(0, fresh.map(0x200000, 0x4000_0000L, 0x200000, Prot.READ | Prot.WRITE));
        DomainRecord before = fresh.record();
        assertEquals(0, before.partialUnmapPolicy(), "a new domain splits blocks");
        assertEquals(IommuUnit.PGSIZE_BITMAP, before.pgsizeBitmap());
        // the previous kernel's record said REFUSE and 4 KiB pages only: the adopted table keeps that
        DomainRecord persisted = new DomainRecord(1, unit.id(), before.format(), 7, "d", IommuDomain.STAGE_PAGING,
                1, 0x1000, 1);
        IommuDomain adopted = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 7, persisted);
        assertTrue(adopted.adopted());
        assertEquals(PartialUnmapPolicy.REFUSE, adopted.pageTable().partialUnmapPolicy());
        assertEquals(0x1000, adopted.pageTable().pageSizes());
        assertEquals(persisted, adopted.record());
        // without a record (or for a new table) the defaults hold
        assertEquals(PartialUnmapPolicy.SPLIT,
                IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 7).pageTable().partialUnmapPolicy());
    }

    @Test
    void topologyParsesAndPrintsBack() {
        HostTopology t = HostTopology.parse("# host\nunit 0 vtd\nunit 1 smmuv3\n"
                + "group 1 unit 0 device 00:01.0\ngroup 7 unit 1 device 0000:03:00.0 03:00.1\n");
        assertEquals(IommuDriver.SMMUV3, t.unit(1).driver());
        assertEquals(List.of(Bdf.parse("03:00.0"), Bdf.parse("03:00.1")), t.group(7).devices());
        assertEquals(0x0300, t.group(7).devices().get(0).requesterId());
        assertEquals(t.toConfig(), HostTopology.parse(t.toConfig()).toConfig());
        assertEquals("0000:00:01.0", HostTopology.defaultTopology().group(1).devices().get(0).toString());
        assertThrows(IllegalArgumentException.class, () -> HostTopology.parse("group 1 unit 0 device 00:01.0"));
        assertThrows(IllegalArgumentException.class, () -> HostTopology.parse("unit 0 vtd\ngroup 1 unit 0 device 00:01.0\n"
                + "group 2 unit 0 device 00:01.0"));
        assertThrows(IllegalArgumentException.class, () -> HostTopology.parse("unit 0 amd"));
    }

    @Test
    void vtdLegacyContextEntryBitsAndReader() {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.parse("unit 0 vtd " + HostTopology.NO_PASID + "\ngroup 1 unit 0 device 00:01.0\n");
        assertFalse(topo.unit(0).pasid());
        assertEquals(topo.toConfig(), HostTopology.parse(topo.toConfig()).toConfig());
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(), mem, (u, b, f) -> faults.add(f));
        PageTableFile df = domainFile(unit, "d");
        mem.add(df);
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 0x1234);
        Bdf bdf = Bdf.parse("00:01.0");
        assertEquals(0, d.attachDevice(bdf));
        PageTableFile hw = unit.deviceTable().file();
        long rtaddr = hw.readDescriptor(hw.rootPa() + 0x20);
        assertEquals(0, rtaddr & 0xFFF, "RTADDR_REG TTM 00: legacy mode");
        long re = hw.readDescriptor(rtaddr);
        assertEquals(1, re & 1);
        assertEquals(0, hw.readDescriptor(rtaddr + 8), "root entry hi reserved (0) in legacy mode");
        long ctp = re & ~0xFFFL;
        long lo = hw.readDescriptor(ctp + 8 * 16);
        long hi = hw.readDescriptor(ctp + 8 * 16 + 8);
        assertEquals(d.pageTable().rootPa() | 1, lo, "lo = SLPTPTR | P, TT 00, FPD 0");
        assertEquals(2L | (0x1234L << 8), hi, "hi = AW 010 | DID");
        assertLiveChangesAreOneStoreEach(unit, d, bdf, hw, "", "");
        assertEquals(-22, unit.deviceTable().bindPasid(bdf, new BoundPasidEntry(5, false, 48, 1, 0x5000, 0, 0, 0, 0)),
                "legacy mode has no PASID table (no ECAP.NEST)");
        assertEquals("legacy mode: requests with PASID are blocked",
                unit.deviceTable().reader().pasidTranslation(bdf, 5, null).problem());
    }

    @Test
    void vtdScalableModeBitsAndReader() {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.defaultTopology();
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(), mem, (u, b, f) -> faults.add(f));
        PageTableFile df = domainFile(unit, "d");
        mem.add(df);
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 0x1234);
        Bdf bdf = Bdf.parse("00:01.0");
        assertEquals(0, d.attachDevice(bdf));
        PageTableFile hw = unit.deviceTable().file();
        long rtaddr = hw.readDescriptor(hw.rootPa() + 0x20);
        assertEquals(0x400, rtaddr & 0xFFF, "RTADDR_REG TTM 01: scalable mode (DMA_RTADDR_SMT)");
        long root = rtaddr & ~0xFFFL;
        long lo = hw.readDescriptor(root);
        assertEquals(1, lo & 1, "LP");
        assertEquals(0, hw.readDescriptor(root + 8), "no device in devfn 80-ff: UP 0");
        long ce = (lo & ~0xFFFL) + 8 * 32;                                  // devfn 08, 32-byte entries
        long cw0 = hw.readDescriptor(ce);
        long dirPa = cw0 & ~0xFFFL;
        assertEquals(dirPa | 0xE09, cw0, "PASIDDIRPTR | PDTS 7 | PASIDE | P");
        assertEquals(0, hw.readDescriptor(ce + 8), "RID_PASID 0");
        long de = hw.readDescriptor(dirPa);
        assertEquals(1, de & 1);
        long pe = de & ~0xFFFL;                                             // PASID 0 at +0
        assertEquals(d.pageTable().rootPa() | 0x89, hw.readDescriptor(pe), "SLPTPTR | PGTT 010 | AW 010 | P");
        assertEquals(0x1234L | 1L << 23, hw.readDescriptor(pe + 8), "DID | PWSNP");
        for (int i = 2; i < 8; i++) {
            assertEquals(0, hw.readDescriptor(pe + 8L * i));
        }
        assertLiveChangesAreOneStoreEach(unit, d, bdf, hw, " (PASID entry w1)", " (PASID entry w0, P kept)");
        PasidTranslation t = unit.deviceTable().reader().pasidTranslation(bdf, PasidTranslation.UNTAGGED, null);
        assertTrue(t.ok(), t.problem());
        assertEquals(7, t.tag());
        assertFalse(t.nested());
        // detach: P first, directory kept; reattach reuses it
        d.detachDevice(bdf);
        assertFalse(unit.deviceTable().lookup(bdf).present());
        assertEquals(dirPa | 0xE08, hw.readDescriptor(ce));
        assertEquals(0, hw.readDescriptor(pe));
        assertEquals(0, d.attachDevice(bdf));
        assertEquals(dirPa | 0xE09, hw.readDescriptor(ce));
        assertTrue(unit.deviceTable().reachablePages().get((int) hw.pageIndexOf(pe)));
    }

    @Test
    void dmaTranslateUsesIotlbUntilInvalidated() {
        mount = PkernfsMount.mountReadWrite(dir);
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, HostTopology.defaultTopology().unit(0), List.of(), mem,
                (u, b, f) -> faults.add(f));
        PageTableFile df = domainFile(unit, "d");
        mem.add(df);
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 5);
        Bdf bdf = Bdf.parse("00:01.0");
        d.attachDevice(bdf);
        assertEquals(0, d.map(0x10000, 0x1_0000_0000L, 0x2000, Prot.READ | Prot.WRITE | Prot.CACHE));
        DmaTranslation t = unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x10123, Prot.READ);
        assertTrue(t.ok());
        assertFalse(t.iotlbHit());
        assertEquals(0x1_0000_0123L, t.pa());
        assertTrue(unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x10456, Prot.WRITE).iotlbHit());
        // change the table behind the IOTLB's back
        assertEquals(0x1000, d.pageTable().unmap(0x10000, 0x1000));
        assertEquals(0, d.pageTable().map(0x10000, 0x1_0000_8000L, 0x1000, Prot.READ));
        DmaTranslation stale = unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x10008, Prot.READ);
        assertEquals(0x1_0000_0008L, stale.pa(), "stale translation until invalidated");
        unit.iotlb().invalidateRange(5, true, 0, 0x10000, 0x1000, true);
        assertEquals(0x1_0000_8008L, unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x10008, Prot.READ).pa());
        // write to the now read-only page: permission fault
        DmaTranslation w = unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x10010, Prot.WRITE);
        assertFalse(w.ok());
        assertEquals(IommuUapi.IOMMU_FAULT_REASON_PERMISSION, w.faultReason());
        // unmapped IOVA: PTE fetch
        DmaTranslation u = unit.dmaTranslate(bdf, Iotlb.NO_PASID, 0x9_0000_0000L, Prot.READ);
        assertEquals(IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH, u.faultReason());
        assertEquals(2, faults.size());
        byte[] f = faults.get(1);
        assertEquals(IommuUapi.IOMMU_FAULT_DMA_UNRECOV, FaultRecords.type(f));
        assertEquals(IommuFaultUnrecoverable.IOMMU_FAULT_UNRECOV_ADDR_VALID, FaultRecords.eventFlags(f));
        assertEquals(IommuUapi.IOMMU_FAULT_PERM_READ, FaultRecords.eventPerm(f));
        assertEquals(0x9_0000_0000L, FaultRecords.eventAddr(f));
        assertEquals(IommuUapi.IOMMU_FAULT_PERM_WRITE, FaultRecords.eventPerm(faults.get(0)));
        assertEquals(0x10000, FaultRecords.eventAddr(faults.get(0)));
    }

    @Test
    void smmuSteLayoutAndReaderInReadOnlyFile() throws Exception {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.parse("unit 3 smmuv3\ngroup 1 unit 3 device 00:01.0\ngroup 2 unit 3 device 02:00.0\n");
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, topo.unit(3), List.of(Bdf.parse("00:01.0"), Bdf.parse("02:00.0")), mem,
                (u, b, f) -> faults.add(f));
        SmmuStreamTable st = (SmmuStreamTable) unit.deviceTable();
        assertEquals(10, st.log2Size(), "sid 0x200 needs 2^10 STEs");
        PageTableFile df = domainFile(unit, "d");
        mem.add(df);
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 9);
        Bdf b = Bdf.parse("02:00.0");
        assertEquals(0, d.attachDevice(b));
        long ste = st.stePa(b);
        PageTableFile hw = st.file();
        assertEquals(1L | (0b110L << 1), hw.readDescriptor(ste));
        long w2 = hw.readDescriptor(ste + 16);
        assertEquals(9, w2 & 0xFFFF);
        assertEquals(16, (w2 >>> 32) & 0x3F);
        assertEquals(2, (w2 >>> 38) & 3);
        assertEquals(0, (w2 >>> 46) & 3);
        assertEquals(5, (w2 >>> 48) & 7);
        assertEquals(1, (w2 >>> 51) & 1);
        assertEquals(1, (w2 >>> 58) & 1);
        assertEquals(d.pageTable().rootPa(), hw.readDescriptor(ste + 24));
        assertEquals(-Errno.EINVAL, st.bindPasid(b, new BoundPasidEntry(0x1234, true, 48, 1, 0xABC000L, 77, 1, 2, 3)),
                "an SMMUv3 unit writes no host PASID record");
        // the guest's linear CD table at IPA 0xABC000 with 2^13 CDs: word 1 first, then word 0 nested
        assertEquals(0, st.setGuestStage(b, 0xABC000L, 13));
        assertEquals(SmmuStreamTableEntry.W1_NESTED, hw.readDescriptor(ste + 8));
        assertEquals(0x6800_0000_00AB_C00FL, hw.readDescriptor(ste));
        assertEquals(0, d.map(0, 0x1_0000_0000L, 0x1000, Prot.READ));
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit3"))) {
            DeviceTableReader.DeviceView v = r.view(b);
            assertTrue(v.present());
            assertEquals(d.pageTable().rootPa(), v.stage2RootPa());
            assertEquals(9, v.vmid());
            assertTrue(v.nested());
            assertEquals(List.of(), v.boundPasids());
            assertEquals(0xABC000L, v.guestStageBase());
            assertEquals(13, v.guestPasidBits());
            assertFalse(r.view(Bdf.parse("00:01.0")).present());
            assertNotNull(r.lookup(Bdf.parse("05:00.0")).problem(), "sid beyond the table is reported");
        }
        assertTrue(unit.dmaTranslate(b, 0x1234, 0x10, Prot.READ).ok());
        assertEquals(IommuUapi.IOMMU_FAULT_REASON_BAD_PASID_ENTRY, unit.dmaTranslate(b, 0x2000, 0x10, Prot.READ).faultReason(),
                "SSID 0x2000 is beyond S1CDMax 13");
        st.clearGuestStage(b);
        assertEquals(0xDL, hw.readDescriptor(ste));
        assertEquals(0L, hw.readDescriptor(ste + 8));
    }

    @Test
    void vtdPasidBindingsAreNestedPasidEntries() {
        mount = PkernfsMount.mountReadWrite(dir);
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = IommuUnit.open(mount, HostTopology.defaultTopology().unit(0), List.of(), mem, null);
        Bdf b = Bdf.parse("00:02.0");
        PageTableFile df = domainFile(unit, "d");
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_NESTED, 3);
        VtdDeviceTable t = (VtdDeviceTable) unit.deviceTable();
        BoundPasidEntry e1 = new BoundPasidEntry(5, false, 48, 1, 0x5000, 0, 0, 0, 0);
        assertEquals(-22, t.bindPasid(b, e1), "not attached: no RID_PASID entry to nest under");
        d.attachDevice(b);
        // gpasid, pat and emt are no hardware field: the entry (and so the reader) has none of them
        BoundPasidEntry e2 = new BoundPasidEntry(0xFFFFF, true, 48, 1, 0x6000, 9, 0x3, -1, 4);
        assertEquals(0, t.bindPasid(b, e1));
        assertEquals(0, t.bindPasid(b, e2));
        assertEquals(-22, t.bindPasid(b, new BoundPasidEntry(7, false, 39, 1, 0x7000, 0, 0, 0, 0)), "addr_width 39");
        assertEquals(-22, t.bindPasid(b, new BoundPasidEntry(7, false, 48, 1, 0x7000, 0, 0x4, 0, 0)),
                "PCD: intel_pasid_setup_bind_data has no memory type support");
        assertEquals(-19, t.setGuestStage(b, 0x7000_0000L, 20), "no VT-d structure holds a guest PASID table");
        PageTableFile hw = t.file();
        long root = d.pageTable().rootPa();
        long pe = t.pasidEntryPa(b, 0xFFFFF);
        assertEquals(root | 0xC9, hw.readDescriptor(pe), "SLPTPTR | PGTT 011 | AW 010 | P");
        assertEquals(3L | 1L << 23, hw.readDescriptor(pe + 8), "DID | PWSNP");
        assertEquals(0x6000L | 0x81, hw.readDescriptor(pe + 16), "FLPTR | EAFE | FLPM 00 | SRE");
        BoundPasidEntry seen2 = new BoundPasidEntry(0xFFFFF, false, 48, 1, 0x6000, 0, 0x3, 0, 0);
        DeviceTableReader.DeviceView v = t.reader().view(b);
        assertEquals(List.of(e1, seen2), v.boundPasids());
        assertTrue(v.nested(), "a PGTT 011b entry makes the device nested");
        PasidTranslation p5 = t.reader().pasidTranslation(b, 5, null);
        assertTrue(p5.ok(), p5.problem());
        // the device's DMA path: the same answers decoded into a reused buffer, nothing allocated
        PasidTranslationBuffer buf = new PasidTranslationBuffer();
        for (int pasid : new int[] {5, 0xFFFFF, PasidTranslation.UNTAGGED, 6}) {
            t.reader().pasidTranslation(b, pasid, null, buf);
            assertEquals(t.reader().pasidTranslation(b, pasid, null), buf.toRecord());
        }
        assertEquals(t.reader().lookup(b).entry().stage2RootPa(), t.reader().presentStage2Root(b, buf));
        DeviceTableReader dtr = t.reader();
        assertEquals(0, Allocations.of(() -> {
            dtr.pasidTranslation(b, 5, null, buf);
            dtr.presentStage2Root(b, buf);
        }, 20_000, 2_000), "bytes allocated by 2000 device lookups");
        assertEquals(Stage1Format.VTD_FIRST_LEVEL_4, p5.stage1Format());
        assertEquals(0x5000, p5.stage1RootGpa());
        assertEquals(root, p5.stage2RootPa());
        assertEquals(3, p5.tag());
        assertFalse(t.reader().pasidTranslation(b, 6, null).ok());
        long before = hw.descriptorWrites();
        assertEquals(0, t.bindPasid(b, e1), "binding the same again writes nothing");
        assertEquals(before, hw.descriptorWrites());
        d.setVmid(9);
        assertEquals(before + 3, hw.descriptorWrites(), "one DID store per entry (RID_PASID and two nested)");
        assertEquals(9, t.reader().pasidTranslation(b, 5, null).tag());
        t.switchStage2Root(b, root + 4096);
        assertEquals(before + 6, hw.descriptorWrites(), "one w0 store per entry");
        assertEquals(root + 4096, t.reader().pasidTranslation(b, 0xFFFFF, null).stage2RootPa());
        t.unbindPasid(b, 5);
        assertEquals(List.of(seen2), t.reader().view(b).boundPasids());
        assertFalse(unit.dmaTranslate(b, 5, 0x10, Prot.READ).ok());
    }

    @Test
    void reattachAfterRemountWritesNothing() {
        mount = PkernfsMount.mountReadWrite(dir);
        PhysicalMemory mem = new PhysicalMemory();
        HostTopology topo = HostTopology.defaultTopology();
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(), mem, null);
        PageTableFile df = domainFile(unit, "d");
        IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_PAGING, 3);
        Bdf b = Bdf.parse("00:01.0");
        d.attachDevice(b);
        d.map(0x200000, 0x1_0020_0000L, 0x200000, Prot.READ | Prot.WRITE);
        mount.close();
        mount = PkernfsMount.mountReadWrite(dir);
        IommuUnit unit2 = IommuUnit.open(mount, topo.unit(0), List.of(), new PhysicalMemory(), null);
        PageTableFile df2 = mount.openTableFile(mount.pageTablePath("d"));
        long hw0 = unit2.deviceTable().file().descriptorWrites();
        long pt0 = df2.descriptorWrites();
        IommuDomain d2 = IommuDomain.allocate(1, unit2, df2, "d", 1, IommuDomain.STAGE_PAGING, 3);
        assertTrue(d2.adopted());
        assertEquals(0, d2.attachDevice(b));
        assertEquals(hw0, unit2.deviceTable().file().descriptorWrites());
        assertEquals(pt0, df2.descriptorWrites());
        assertEquals(-1, d2.firstMismatch(0x200000, 0x200000, 0x1_0020_0000L, Prot.READ | Prot.WRITE));
        assertEquals(0x200000, d2.firstMismatch(0x200000, 0x200000, 0x1_0030_0000L, Prot.READ | Prot.WRITE));
        assertEquals(0x400000, d2.firstMismatch(0x200000, 0x201000, 0x1_0020_0000L, Prot.READ | Prot.WRITE));
    }

    /** A unit's .hw file of the layout before scalable mode / nested STE is refused at mount, never misread or rewritten. */
    @Test
    void oldLayoutDeviceTableIsRefusedAtMount() throws Exception {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.defaultTopology();
        IommuUnit.open(mount, topo.unit(0), List.of(), new PhysicalMemory(), null);
        Path hw = mount.iommuTablePath("unit0");
        mount.close();
        mount = null;
        byte[] header = java.nio.file.Files.readAllBytes(hw);
        byte[] compat = new byte[PageTableFileDescriptor.COMPAT_LENGTH];
        byte[] old = PageTableFileDescriptor.COMPAT_IOMMU_TABLES_V1.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(old, 0, compat, 0, old.length);
        System.arraycopy(compat, 0, header, PageTableFileDescriptor.COMPAT_OFFSET, compat.length);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(header, 0, PageTableFileDescriptor.CHECKSUMMED_LENGTH);
        java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.nativeOrder())
                .putLong(PageTableFileDescriptor.CHECKSUM_OFFSET, crc.getValue());
        java.nio.file.Files.write(hw, header);
        // the mount's acceptance check opens every table file before anything is written
        org.pkstore.persist.CorruptFileException e = assertThrows(org.pkstore.persist.CorruptFileException.class,
                () -> PkernfsMount.mountReadWrite(dir));
        assertEquals(PageTableFileDescriptor.COMPAT_OFFSET, e.offset());
        assertTrue(e.getMessage().contains(hw.toString()), e.getMessage());
        assertTrue(e.reason().contains("\"pkstore-iommu-hwtable-v1\", expected \"pkstore-iommu-hwtable-v2\""), e.reason());
        assertArrayEquals(header, java.nio.file.Files.readAllBytes(hw), "the refused file is left as it was");
    }

    /**
     * The entry of a freshly attached {@code bdf} names the domain's root and DID 0x1234; attaching
     * again writes nothing; a DID change and a root switch are one store each (issue 11: a present
     * entry is changed in place, never taken down).
     */
    private static void assertLiveChangesAreOneStoreEach(IommuUnit unit, IommuDomain d, Bdf bdf, PageTableFile hw,
                                                         String didStore, String rootStore) {
        DeviceEntry e = unit.deviceTable().lookup(bdf);
        assertTrue(e.present());
        assertEquals(d.pageTable().rootPa(), e.stage2RootPa());
        assertEquals(0x1234, e.did());
        long before = hw.descriptorWrites();
        assertEquals(0, d.attachDevice(bdf));
        assertEquals(before, hw.descriptorWrites(), "attaching again writes nothing");
        d.setVmid(7);
        assertEquals(before + 1, hw.descriptorWrites(), "a DID change is one store" + didStore);
        unit.deviceTable().switchStage2Root(bdf, d.pageTable().rootPa() + 4096 * 3);
        assertEquals(before + 2, hw.descriptorWrites(), "a root switch is one store" + rootStore);
        assertEquals(d.pageTable().rootPa() + 4096 * 3, unit.deviceTable().lookup(bdf).stage2RootPa());
    }
}
