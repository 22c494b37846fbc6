package org.pkstore.iommu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.hw.VtdPasidEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The device's reader refuses a present entry with reserved bits set, as the hardware faults it. */
class DeviceTableReaderReservedFieldTest {
    @TempDir
    Path dir;
    PkernfsMount mount;

    @AfterEach
    void close() {
        if (mount != null) {
            mount.close();
        }
    }

    private DeviceTable attached(IommuDriver driver, Bdf bdf) {
        return attached(driver.configName(), bdf);
    }

    private DeviceTable attached(String unitSpec, Bdf bdf) {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.parse("unit 0 " + unitSpec + "\ngroup 1 unit 0 device " + bdf + "\n");
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(bdf), new PhysicalMemory(), null);
        PageTableFile f = mount.createTableFile(mount.pageTablePath("d"), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                unit.stage2Format().id(), 64, 1);
        IommuDomain d = IommuDomain.allocate(1, unit, f, "d", 1, IommuDomain.STAGE_PAGING, 7);
        assertEquals(0, d.attachDevice(bdf));
        assertTrue(unit.deviceTable().reader().lookup(bdf).entry().present());
        return unit.deviceTable();
    }

    @Test
    void vtdLegacyContextEntryWithReservedBitsIsNotPresent() {
        Bdf bdf = Bdf.parse("00:01.0");
        VtdDeviceTable t = (VtdDeviceTable) attached("vtd " + HostTopology.NO_PASID, bdf);
        assertFalse(t.scalableMode());
        PageTableFile hw = t.file();
        long ce = t.contextEntryPa(bdf, false);
        long hi = hw.readDescriptor(ce + 8);
        hw.writeDescriptor(ce + 8, hi | (1L << 40)); // hi bits 63:24 are reserved
        DeviceTableReader.Lookup l = t.reader().lookup(bdf);
        assertFalse(l.entry().present());
        assertTrue(l.problem().contains("reserved field"), l.problem());
        hw.writeDescriptor(ce + 8, hi | 0x8); // bits 6:3 are ignored by the hardware, not reserved
        assertTrue(t.reader().lookup(bdf).entry().present());
    }

    @Test
    void vtdScalablePasidEntryWithReservedBitsOrBadPgttIsNotPresent() {
        Bdf bdf = Bdf.parse("00:10.1"); // devfn 0x81: the upper context table (UCTP)
        VtdDeviceTable t = (VtdDeviceTable) attached(IommuDriver.VTD, bdf);
        assertTrue(t.scalableMode());
        PageTableFile hw = t.file();
        long pe = t.pasidEntryPa(bdf, 0);
        long w0 = hw.readDescriptor(pe);
        assertEquals(VtdPasidEntry.PGTT_SL_ONLY, VtdPasidEntry.pgtt(w0));
        hw.writeDescriptor(pe, w0 | (1L << 10)); // w0 bits 11:10 reserved
        DeviceTableReader.Lookup l = t.reader().lookup(bdf);
        assertFalse(l.entry().present());
        assertTrue(l.problem().contains("reserved bits"), l.problem());
        hw.writeDescriptor(pe, w0 & ~VtdPasidEntry.W0_PGTT); // PGTT 000: reserved
        l = t.reader().lookup(bdf);
        assertFalse(l.entry().present());
        assertTrue(l.problem().contains("PGTT 0b (reserved)"), l.problem());
        hw.writeDescriptor(pe, w0);
        assertTrue(t.reader().lookup(bdf).entry().present());
        long ce = t.contextEntryPa(bdf, false);
        hw.writeDescriptor(ce + 16, 1); // context w2 reserved
        assertTrue(t.reader().lookup(bdf).problem().contains("reserved"));
    }

    @Test
    void smmuSteWithReservedBitsIsNotPresent() {
        Bdf bdf = Bdf.parse("00:01.0");
        SmmuStreamTable t = (SmmuStreamTable) attached(IommuDriver.SMMUV3, bdf);
        PageTableFile hw = t.file();
        long ste = t.stePa(bdf);
        hw.writeDescriptor(ste + 24, hw.readDescriptor(ste + 24) | (1L << 60)); // S2TTB is 51:4
        DeviceTableReader.Lookup l = t.reader().lookup(bdf);
        assertFalse(l.entry().present());
        assertTrue(l.problem().contains("reserved field"), l.problem());
    }
}
