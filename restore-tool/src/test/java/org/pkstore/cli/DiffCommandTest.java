package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiffCommandTest {
    @TempDir
    static Path tmp;
    static Fixtures.Standard a;
    static Fixtures.Standard b;

    @BeforeAll
    static void build() {
        a = Fixtures.standard(tmp.resolve("a"), false);
        b = Fixtures.standard(tmp.resolve("b"), true);
    }

    static List<String> changes(JsonNode ranges) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : ranges) {
            out.add(r.path("domain").asText() + " " + r.path("change").asText() + " " + r.path("iova").asText() + "-"
                    + r.path("end").asText() + " " + r.path("what"));
        }
        return out;
    }

    @Test
    void aMountAgainstItself() {
        Cli.Result r = Cli.run("diff", a.dir(), a.dir());
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("no differences"), r::toString);
    }

    @Test
    void mappingsDevicesAndRegistries() {
        Cli.Result r = Cli.run("diff", a.dir(), b.dir(), "--json");
        assertEquals(1, r.exit(), r::toString);
        JsonNode j = r.json();
        assertEquals(List.of(
                "domain-2 removed 0x1000000-0x1100000 []",
                "domain-2 added 0x2000000-0x2100000 []",
                "vm0 changed 0x40000000-0x40004000 [\"prot\"]",
                "vm0 added 0x40102000-0x40103000 []"), changes(j.path("ranges")));
        JsonNode prot = j.path("ranges").get(2);
        assertEquals("R-C--", prot.path("a").path("prot").asText());
        assertEquals("RWC--", prot.path("b").path("prot").asText());
        assertEquals(0x1_0080_2000L, Long.decode(j.path("ranges").get(3).path("b").path("pa").asText()));

        JsonNode dev = j.path("devices").get(0);
        assertEquals("0000:00:01.0", dev.path("bdf").asText());
        assertEquals("[\"vmid\"]", dev.path("what").toString());
        assertEquals(7, dev.path("a").path("did").asInt());
        assertEquals(8, dev.path("b").path("did").asInt());

        List<String> regs = new ArrayList<>();
        for (JsonNode x : j.path("registries")) {
            regs.add(x.path("registry").asText() + " " + x.path("key").asLong() + " " + x.path("change").asText());
        }
        assertTrue(regs.contains("containers " + a.containerId() + " changed"), regs::toString);
        assertTrue(regs.contains("vmids 7 removed"), regs::toString);
        assertTrue(regs.contains("vmids 8 added"), regs::toString);
        assertTrue(regs.contains("bindings " + a.pasid() + " changed"), regs::toString);
        assertEquals(9, j.path("registries").path(regs.indexOf("bindings " + a.pasid() + " changed")).path("a").path("gpasid").asLong());
        assertEquals(2, j.path("summary").path("rangesAdded").asInt());
        assertEquals((1L << 20) + 4096, j.path("summary").path("bytesAdded").asLong());

        Cli.Result h = Cli.run("diff", a.dir(), b.dir());
        assertEquals(1, h.exit());
        assertTrue(h.out().contains("  ~ [0x40000000, 0x40004000) 16.00 KiB  0x100400000 4K R-C-- -> 0x100400000 4K RWC--  (prot)"),
                h::toString);
        assertTrue(h.out().contains("  + [0x40102000, 0x40103000) 4.00 KiB  -> 0x100802000 4K RWC--"), h::toString);
        assertTrue(h.out().contains("  - vmids key 7"), h::toString);
    }

    /** A leaf re-pointed by a byte edit is a change of PA, and only that page. */
    @Test
    void aRepointedLeaf() {
        Path c = Damage.copy(a.dir(), tmp.resolve("repointed"));
        Path pt = c.resolve("pgtables/vm0.pt");
        long leaf = Damage.pathOffsets(pt, 0x4010_1000L).get(3);
        Damage.writeLong(pt, leaf, Damage.readLong(pt, leaf) + 0x10_0000);
        Cli.Result r = Cli.run("diff", a.dir(), c, "--json");
        assertEquals(1, r.exit(), r::toString);
        assertEquals(List.of("vm0 changed 0x40101000-0x40102000 [\"pa\"]"), changes(r.json().path("ranges")));
        assertEquals(0, r.json().path("registries").size());
    }
}
