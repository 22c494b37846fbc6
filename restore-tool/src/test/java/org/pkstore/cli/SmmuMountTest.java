package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Arm side: an SMMUv3 stream table and LPAE stage-2 tables, made by the model. */
class SmmuMountTest {
    @TempDir
    static Path tmp;
    static Path mount;
    static int pasid;

    @BeforeAll
    static void build() {
        mount = tmp.resolve("smmu");
        HostTopology topo = HostTopology.parse("unit 3 smmuv3\ngroup 1 unit 3 device 00:01.0\ngroup 2 unit 3 device 01:00.0\n");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(mount); VfioKernel k = VfioKernel.boot(m, topo)) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("arm0", true)));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0x8000_0000L, 4L << 20));
            VfioClient.Pasid p = c.allocPasid(a, 1, 1000);
            pasid = p.pasid();
            assertEquals(0, c.bindGuestPgtbl(a, true, pasid, 0x5000, 3, true, 48, 0, 0, 0));
            int b = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(2), b));
            assertEquals(0, c.setIommu(b, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            assertEquals(0, c.bindGuestStageSmmu(b, 0x7_0000_0040L, false, false, false));
            assertEquals(0, c.mapDma(b, Fixtures.GUEST_VA + (8L << 20), 0x1000, 64 << 10));
        }
    }

    @Test
    void inspectVerifyWalkTranslate() {
        Cli.Result v = Cli.run("verify", mount, "--json");
        assertEquals(0, v.exit(), v::toString);
        Cli.Result i = Cli.run("inspect", mount, "--json");
        assertEquals(0, i.exit(), i::toString);
        JsonNode devs = i.json().path("devices");
        assertEquals(2, devs.size(), devs::toString);
        JsonNode d1 = InspectCommandTest.find(devs, "bdf", "0000:00:01.0");
        assertEquals("smmuv3", d1.path("driver").asText());
        assertEquals(3, d1.path("unit").asInt());
        assertEquals("pgtables/arm0.pt", d1.path("domainFile").asText());
        assertEquals("[" + pasid + "]", d1.path("boundPasids").toString());
        JsonNode d2 = InspectCommandTest.find(devs, "bdf", "0000:01:00.0");
        assertEquals("0x700000040", d2.path("guestStageBase").asText());
        assertTrue(d2.path("nested").asBoolean());
        assertEquals("arm-lpae-s2", InspectCommandTest.find(i.json().path("domains"), "file", "pgtables/arm0.pt")
                .path("format").asText());

        Cli.Result w = Cli.run("walk", mount, "--device", "00:01.0", "--pasid", pasid, "--json");
        assertEquals(0, w.exit(), w::toString);
        assertEquals(4L << 20, w.json().path("summary").path("mappedBytes").asLong());
        assertEquals(2, w.json().path("summary").path("leaves2M").asLong());

        Cli.Result t = Cli.run("translate", mount, "--device", "01:00.0", "0x1234", "--json");
        assertEquals(0, t.exit(), t::toString);
        JsonNode dt = t.json().path("deviceTable");
        assertEquals("STE (sid 0x100)", dt.get(1).path("structure").asText());
        assertTrue(dt.get(1).path("decoded").asText().contains("Config=0b111"), dt::toString);
        assertEquals("L3", t.json().path("steps").get(3).path("name").asText());
    }
}
