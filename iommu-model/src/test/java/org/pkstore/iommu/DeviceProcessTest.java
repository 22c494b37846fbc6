package org.pkstore.iommu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.JavaCommand;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The device-side reader in another JVM, beside the live writer. */
class DeviceProcessTest {
    @TempDir
    Path dir;

    @Test
    void anotherProcessReadsTheLiveDeviceTable() throws Exception {
        try (PkernfsMount mount = PkernfsMount.mountReadWrite(dir)) {
            IommuUnit unit = IommuUnit.open(mount, HostTopology.defaultTopology().unit(0), List.of(), new PhysicalMemory(), null);
            PageTableFile df = mount.createTableFile(mount.pageTablePath("d"), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                    unit.stage2Format().id(), 64, 1);
            IommuDomain d = IommuDomain.allocate(1, unit, df, "d", 1, IommuDomain.STAGE_NESTED, 321);
            Bdf b = Bdf.parse("00:02.0");
            assertEquals(0, d.attachDevice(b));
            assertEquals(0, unit.deviceTable().bindPasid(b, new BoundPasidEntry(77, true, 48, 1, 0xBEEF000L, 1, 0, 0, 0)));
            Process p = new ProcessBuilder(JavaCommand.forMain(DeviceProcessMain.class,
                    mount.iommuTablePath("unit0").toString(), "00:02.0")).redirectErrorStream(false).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), err);
            String[] lines = out.split("\n");
            assertEquals("true " + Long.toHexString(d.pageTable().rootPa()) + " 321 1 true 77:beef000", // VT-d: a nested PASID entry
                    lines[lines.length - 1]);
        }
    }
}
