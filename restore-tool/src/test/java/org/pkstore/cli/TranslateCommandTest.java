package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TranslateCommandTest extends StandardMountTest {

    @Test
    void aFourKilobytePageLevelByLevel() {
        Cli.Result r = Cli.run("translate", std.dir(), "--domain", "vm0", "0x40001234", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode j = r.json();
        JsonNode steps = j.path("steps");
        assertEquals(4, steps.size());
        String[] names = {"PML4E", "PDPE", "PDE", "PTE"};
        int[] index = {0, 1, 0, 1};
        for (int l = 0; l < 4; l++) {
            JsonNode s = steps.get(l);
            assertEquals(l, s.path("level").asInt());
            assertEquals(names[l], s.path("name").asText());
            assertEquals(index[l], s.path("index").asInt());
            long entry = Long.decode(s.path("entryPa").asText());
            assertEquals(Long.decode(s.path("tablePa").asText()) + 8L * index[l], entry);
            // the file offset really holds the raw descriptor printed
            assertEquals(Long.decode(s.path("offset").asText()),
                    Damage.pathOffsets(std.dir().resolve("pgtables/vm0.pt"), 0x4000_1234L).get(l));
            assertEquals(Damage.readLong(std.dir().resolve("pgtables/vm0.pt"), Long.decode(s.path("offset").asText())),
                    Long.parseUnsignedLong(s.path("raw").asText().substring(2), 16));
        }
        assertEquals("leaf", steps.get(3).path("action").asText());
        JsonNode res = j.path("result");
        assertTrue(res.path("translated").asBoolean());
        assertEquals("0x100401234", res.path("pa").asText());
        assertEquals("4K", res.path("pageSize").asText());
        assertEquals("R-C--", res.path("prot").asText());
    }

    @Test
    void aBlockAndTheHumanForm() {
        Cli.Result r = Cli.run("translate", std.dir(), "--domain", "vm0", "0x1ffff8");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("result: 0x1ffff8 -> 0x1001ffff8 (2M block, RWC--)"), r::toString);
        assertTrue(r.out().contains("2 PDE"), r::toString);
    }

    @Test
    void faultsSayWhereAndWhy() {
        Cli.Result np = Cli.run("translate", std.dir(), "--domain", "vm0", "0x40004000", "--json");
        assertEquals(1, np.exit(), np::toString);
        assertEquals("not-present", np.json().path("result").path("fault").asText());
        assertEquals(3, np.json().path("result").path("faultLevel").asInt());
        Cli.Result far = Cli.run("translate", std.dir(), "--domain", "vm0", "0x7000000000", "--json");
        assertEquals(1, far.exit());
        assertEquals(1, far.json().path("result").path("faultLevel").asInt()); // PML4E 0 exists, PDPE 448 does not
        Cli.Result perm = Cli.run("translate", std.dir(), "--domain", "vm0", "0x40000000", "--access", "w");
        assertEquals(1, perm.exit());
        assertTrue(perm.out().contains("FAULT (permission at level 3)"), perm::toString);
        Cli.Result ok = Cli.run("translate", std.dir(), "--domain", "vm0", "0x40000000", "--access", "r");
        assertEquals(0, ok.exit());
        Cli.Result range = Cli.run("translate", std.dir(), "--domain", "vm0", "0x1000000000000", "--json");
        assertEquals(1, range.exit());
        assertEquals("address-size", range.json().path("result").path("fault").asText());
    }

    @Test
    void throughTheDeviceTable() {
        Cli.Result r = Cli.run("translate", std.dir(), "--device", "00:01.0", "--pasid", std.pasid(), "0x100", "--json");
        assertEquals(1, r.exit(), r::toString);
        JsonNode dt = r.json().path("deviceTable");
        assertEquals("RTADDR_REG", dt.get(0).path("structure").asText());
        assertTrue(dt.get(0).path("decoded").asText().contains("scalable"), dt::toString);
        assertEquals("root entry (bus 00)", dt.get(1).path("structure").asText());
        assertEquals("scalable-mode context entry (devfn 08)", dt.get(2).path("structure").asText());
        assertEquals("RID_PASID PASID entry 0", dt.get(4).path("structure").asText());
        assertTrue(dt.get(4).path("decoded").asText().contains("PGTT=second-level only"), dt::toString);
        assertTrue(dt.get(4).path("decoded").asText().contains("DID=7"), dt::toString);
        // PASID 1 is in the RID_PASID entry's PASID table: its directory entry is not shown twice
        assertEquals("PASID entry " + std.pasid(), dt.get(5).path("structure").asText());
        assertTrue(dt.get(5).path("decoded").asText().contains("PGTT=nested"), dt::toString);
        assertTrue(dt.get(5).path("decoded").asText().contains("FLPTR=0x12345000"), dt::toString);
        assertTrue(dt.toString().contains("bound PASID " + std.pasid()), dt::toString);
        // with --pasid the address is the guest's: its first stage is walked (TranslatePasidTest)
        assertEquals("s2-on-table", r.json().path("nested").path("fault").asText(), r::toString);
        Cli.Result untagged = Cli.run("translate", std.dir(), "--device", "00:01.0", "0x100", "--json");
        assertEquals("0x100000100", untagged.json().path("result").path("pa").asText());
        Cli.Result h = Cli.run("translate", std.dir(), "--device", "00:02.0", "0x1000000");
        assertEquals(0, h.exit(), h::toString);
        assertTrue(h.out().contains("device table (iommu/unit0.hw)"), h::toString);
        assertTrue(h.out().contains("stage-2 walk (pgtables/domain-2.pt)"), h::toString);
    }
}
