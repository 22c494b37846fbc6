package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.VmmAddressSpace;
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
    static long cdPa;
    static Path memory;

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
            // the guest writes the CD of its PASID into its linear CD table at IPA CD_TABLE (GUEST_VA + 0x1000)
            guestWrite(k, Fixtures.GUEST_VA + 0x1000 + 64L * pasid, SmmuContextDescriptor.encode(0x5000, pasid, 16));
            assertEquals(0, c.bindSmmuCdTable(a, true, pasid, CD_TABLE, 3));
            cdPa = k.vmm().resolve(Fixtures.GUEST_VA + 0x1000 + 64L * pasid, 64);
            memory = m.guestMemoryPath("ram");
            int b = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(2), b));
            assertEquals(0, c.setIommu(b, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            assertEquals(0, c.mapDma(b, Fixtures.GUEST_VA + (8L << 20), 0x1000, 64 << 10));
            assertEquals(0, c.bindGuestStageSmmu(b, 0x1040L, false, false, false));
        }
    }

    static final long CD_TABLE = 0x8000_1000L;

    static void guestWrite(VfioKernel k, long vaddr, long[] words) {
        long pa = k.vmm().resolve(vaddr, 64);
        for (VmmAddressSpace.Mapping m : k.vmm().mappings().values()) {
            if (m.memory().contains(pa, 64)) {
                for (int i = words.length - 1; i >= 0; i--) {
                    m.memory().writeLong(pa + 8L * i, words[i]);
                }
            }
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
        assertEquals("0x1040", d2.path("guestStageBase").asText());
        assertEquals(CD_TABLE, Long.decode(d1.path("guestStageBase").asText()), "S1ContextPtr: the CD table's IPA");
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

    /** Each nested-STE / CD finding of issue 12, planted in a copy, is reported by verify with its file and offset. */
    @Test
    void verifyReportsPlantedNestedFindings() {
        Cli.Result i = Cli.run("inspect", mount, "--json");
        long steOff = Long.decode(InspectCommandTest.find(i.json().path("devices"), "bdf", "0000:00:01.0")
                .path("entryOffset").asText());
        long memPaBase = Long.decode(i.json().path("guestMemory").get(0).path("paBase").asText());
        long cdOff = GuestMemoryFile.DATA_OFFSET + (cdPa - memPaBase);
        String memRel = mount.relativize(memory).toString();

        // S1DSS 00 (terminate) with substreams: every DMA without a PASID would abort
        Path a = Damage.copy(mount, tmp.resolve("dss"));
        Path hw = a.resolve("iommu/unit3.hw");
        Damage.writeLong(hw, steOff + 8, Damage.readLong(hw, steOff + 8) & ~SmmuStreamTableEntry.W1_S1DSS);
        Cli.Result r = Cli.run("verify", a, "--json");
        assertEquals(1, r.exit(), r::toString);
        assertFinding(r, "iommu/unit3.hw", steOff + 8, "terminate");

        // the guest's CD with V = 0: read through stage 2 out of the guest memory file
        Path b = Damage.copy(mount, tmp.resolve("cd-v"));
        Path mem = b.resolve(mount.relativize(memory));
        Damage.writeLong(mem, cdOff, Damage.readLong(mem, cdOff) & ~SmmuContextDescriptor.W0_V);
        r = Cli.run("verify", b, "--json");
        assertEquals(1, r.exit(), r::toString);
        assertFinding(r, memRel, cdOff, "V = 0");

        // reserved bits in the CD's word 1
        Path c = Damage.copy(mount, tmp.resolve("cd-res0"));
        mem = c.resolve(mount.relativize(memory));
        Damage.writeLong(mem, cdOff + 8, Damage.readLong(mem, cdOff + 8) | 1L << 56);
        r = Cli.run("verify", c, "--json");
        assertEquals(1, r.exit(), r::toString);
        assertFinding(r, memRel, cdOff, "reserved");

        // S1ContextPtr outside the stage-2 aperture (the container maps IPA 0x80000000 + 4 MiB)
        Path d = Damage.copy(mount, tmp.resolve("cdptr"));
        hw = d.resolve("iommu/unit3.hw");
        long w0 = Damage.readLong(hw, steOff);
        Damage.writeLong(hw, steOff, (w0 & ~SmmuStreamTableEntry.W0_S1CTXPTR) | 0x9000_0000L);
        r = Cli.run("verify", d, "--json");
        assertEquals(1, r.exit(), r::toString);
        assertFinding(r, "iommu/unit3.hw", steOff, "outside the stage-2 aperture");
    }

    private static void assertFinding(Cli.Result r, String file, long offset, String text) {
        for (JsonNode f : r.json().path("findings")) {
            if (f.path("file").asText().equals(file) && f.path("reason").asText().contains(text)
                    && Long.decode(f.path("offset").asText()) == offset) {
                return;
            }
        }
        throw new AssertionError("no finding in " + file + " at 0x" + Long.toHexString(offset) + " with '" + text + "': " + r);
    }
}
