package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WalkCommandTest extends StandardMountTest {

    static void range(JsonNode r, long iova, long size, long pa, String page, long leaves, String prot) {
        assertEquals(Fmt.hex(iova), r.path("iova").asText(), r::toString);
        assertEquals(Fmt.hex(iova + size), r.path("end").asText(), r::toString);
        assertEquals(size, r.path("size").asLong(), r::toString);
        assertEquals(Fmt.hex(pa), r.path("pa").asText(), r::toString);
        assertEquals(page, r.path("pageSize").asText(), r::toString);
        assertEquals(leaves, r.path("leaves").asLong(), r::toString);
        assertEquals(prot, r.path("prot").asText(), r::toString);
    }

    @Test
    void coalescedRangesByFileNameAndByDomainId() {
        Cli.Result r = Cli.run("walk", std.dir(), "--domain", "vm0", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode j = r.json();
        JsonNode ranges = j.path("ranges");
        assertEquals(3, ranges.size(), j::toString);
        long mem = 0x1_0000_0000L; // the guest memory window starts at the superblock's first memory PA
        range(ranges.get(0), 0, 2L << 20, mem, "2M", 1, "RWC--");
        range(ranges.get(1), 0x4000_0000L, 16 << 10, mem + (4L << 20), "4K", 4, "R-C--");
        range(ranges.get(2), 0x4010_0000L, 8 << 10, mem + (8L << 20), "4K", 2, "RWC--");
        assertEquals(7, j.path("summary").path("leaves").asLong());
        assertEquals(1, j.path("summary").path("leaves2M").asLong());
        assertEquals(5, j.path("summary").path("tablePages").asLong());
        assertEquals("pgtables/vm0.pt", j.path("target").path("file").asText());

        Cli.Result byId = Cli.run("walk", std.dir(), "--domain", String.valueOf(std.domainId()), "--json");
        assertEquals(0, byId.exit(), byId::toString);
        assertEquals(ranges, byId.json().path("ranges"));
        assertEquals(std.domainId(), byId.json().path("target").path("domain").asLong());

        Cli.Result h = Cli.run("walk", std.dir(), "--domain", "vm0");
        assertEquals(0, h.exit());
        assertTrue(h.out().contains("0x000040000000-0x000040004000  0x000100400000-0x000100404000   16.00 KiB  4K"), h::toString);
        assertTrue(h.out().contains("3 ranges, 7 leaves (0 x 1G, 1 x 2M, 6 x 4K), 2.02 MiB mapped"), h::toString);
    }

    /** --raw: one row per leaf, the descriptors a translation reads, checked against the model's own DeviceTranslation. */
    @Test
    void rawRowsCarryEveryLevelsDescriptor() {
        Cli.Result r = Cli.run("walk", std.dir(), "--domain", "vm0", "--raw", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode leaves = r.json().path("leaves");
        assertEquals(7, leaves.size());
        try (PageTableFile f = PageTableFile.openReadOnly(std.dir().resolve("pgtables/vm0.pt"))) {
            DeviceTranslation dt = new DeviceTranslation(f);
            for (JsonNode l : leaves) {
                long iova = Long.decode(l.path("iova").asText());
                assertEquals(Long.decode(l.path("pa").asText()), dt.translate(iova, Prot.READ));
                assertEquals(l.path("level").asInt() + 1, l.path("descriptors").size());
            }
        }
        assertEquals(3, leaves.get(0).path("descriptors").size(), "the 2 MiB block is a level-2 leaf");
        Cli.Result h = Cli.run("walk", std.dir(), "--domain", "vm0", "--raw", "--decode");
        assertTrue(h.out().startsWith("pgtables/vm0.pt"), h::toString);
        assertTrue(h.out().contains("IOVA_PFN" + " ".repeat(11) + "PML4E"), h::toString);
        assertTrue(h.out().contains("0x0000000040000 |  0x"), h::toString);
        assertTrue(h.out().contains("# PTE 4K oa=0x100400000 R- SNP"), h::toString);
    }

    @Test
    void filtersByIovaRangeDeviceAndPasid() {
        Cli.Result r = Cli.run("walk", std.dir(), "--domain", "vm0", "--iova-range", "0x40000000-0x40002000", "--json");
        assertEquals(0, r.exit(), r::toString);
        assertEquals(1, r.json().path("ranges").size());
        range(r.json().path("ranges").get(0), 0x4000_0000L, 8 << 10, 0x1_0040_0000L, "4K", 2, "R-C--");
        Cli.Result plus = Cli.run("walk", std.dir(), "--domain", "vm0", "--iova-range", "1G+8K", "--json");
        assertEquals(r.json().path("ranges"), plus.json().path("ranges"));

        Cli.Result dev = Cli.run("walk", std.dir(), "--device", "00:01.0", "--json");
        assertEquals(0, dev.exit(), dev::toString);
        assertEquals("pgtables/vm0.pt", dev.json().path("target").path("file").asText());
        assertEquals(7, dev.json().path("target").path("did").asInt());
        assertEquals(3, dev.json().path("ranges").size());
        Cli.Result dev2 = Cli.run("walk", std.dir(), "--device", "0000:00:02.0", "--json");
        assertEquals("pgtables/domain-2.pt", dev2.json().path("target").path("file").asText());
        assertEquals(1, dev2.json().path("ranges").size());

        Cli.Result pasid = Cli.run("walk", std.dir(), "--device", "00:01.0", "--pasid", std.pasid(), "--json");
        assertEquals(0, pasid.exit(), pasid::toString);
        assertEquals("0x12345000", pasid.json().path("target").path("gpgd").asText());
        Cli.Result pasidOnly = Cli.run("walk", std.dir(), "--pasid", std.pasid(), "--json");
        assertEquals("pgtables/vm0.pt", pasidOnly.json().path("target").path("file").asText());
    }

    @Test
    void contradictionsAndUnknownsAreUnusableInput() {
        Cli.Result r = Cli.run("walk", std.dir(), "--domain", "nope");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("no page-table file pgtables/nope.pt"), r::toString);
        assertTrue(r.err().contains("domain-2, vm0"), r::toString);
        Cli.Result both = Cli.run("walk", std.dir(), "--domain", "vm0", "--device", "00:02.0");
        assertEquals(2, both.exit());
        assertTrue(both.err().contains("translates through pgtables/domain-2.pt, not pgtables/vm0.pt"), both::toString);
        Cli.Result absent = Cli.run("walk", std.dir(), "--device", "00:1f.7");
        assertEquals(2, absent.exit());
        assertTrue(absent.err().contains("no entry"), absent::toString);
        Cli.Result notBound = Cli.run("walk", std.dir(), "--device", "00:02.0", "--pasid", std.pasid());
        assertEquals(2, notBound.exit());
        assertTrue(notBound.err().contains("not bound on device 0000:00:02.0"), notBound::toString);
        assertEquals(2, Cli.run("walk", std.dir()).exit());
        assertEquals(2, Cli.run("walk", std.dir(), "--domain", "vm0", "--iova-range", "5-1").exit());
        assertEquals(2, Cli.run("walk", std.dir(), "--domain", "vm0", "--bogus").exit());
    }

    /** One million 4 KiB mappings made by the model: walked in well under the test's time, and coalesced to one range. */
    @Test
    void millionMappings() {
        Path big = tmp.resolve("big");
        Fixtures.large(big, 1 << 20);
        long t0 = System.nanoTime();
        Cli.Result r = Cli.run("walk", big, "--domain", "big", "--json");
        long walkMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, r.exit(), r::toString);
        assertEquals(1, r.json().path("ranges").size());
        range(r.json().path("ranges").get(0), 0, 4L << 30, 0x1_0000_1000L, "4K", 1 << 20, "RWC--");
        long t1 = System.nanoTime();
        Cli.Result v = Cli.run("verify", big, "--json");
        long verifyMs = (System.nanoTime() - t1) / 1_000_000;
        assertEquals(0, v.exit(), v::toString);
        assertEquals(1 << 20, v.json().path("summary").path("leaves").asLong());
        assertTrue(walkMs < 10_000 && verifyMs < 15_000, "walk " + walkMs + " ms, verify " + verifyMs + " ms");
        System.out.println("1M 4 KiB mappings: walk " + walkMs + " ms, verify " + verifyMs + " ms (in-process, warm JVM)");
    }

    /** An update under way (odd mutation sequence, as a live writer leaves it): retried, then shown with a note. */
    @Test
    void tablesChangingDuringTheWalkAreFlagged() {
        Path m = Damage.copy(std.dir(), tmp.resolve("busy"));
        Damage.writeLong(m.resolve("pgtables/vm0.pt"), org.pkstore.persist.PageTableFileDescriptor.MUTATION_SEQ_OFFSET, 11);
        Cli.Result r = Cli.run("walk", m, "--domain", "vm0", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode note = r.json().path("problems").get(0);
        assertEquals("changed-during-walk", note.path("kind").asText(), r::toString);
        assertEquals("note", note.path("severity").asText());
        assertTrue(note.path("reason").asText().contains("(5 tries)"), note::toString);
        assertEquals(3, r.json().path("ranges").size());
    }

    /** walk and translate name their tables with the same options (docs/CLI.md: "Same ... as walk"), word for word. */
    @Test
    void walkAndTranslateShareTheTargetOptions() {
        CommandLine cl = PkstoreCommand.commandLine();
        CommandSpec walk = cl.getSubcommands().get("walk").getCommandSpec();
        CommandSpec translate = cl.getSubcommands().get("translate").getCommandSpec();
        for (String name : new String[] {"--domain", "--device", "--unit", "--pasid"}) {
            OptionSpec w = walk.findOption(name);
            OptionSpec t = translate.findOption(name);
            assertTrue(w != null && t != null, name);
            assertEquals(w.paramLabel(), t.paramLabel(), name);
            assertEquals(List.of(w.description()), List.of(t.description()), name);
            assertEquals(w.type(), t.type(), name);
        }
        Cli.Result both = Cli.run("translate", std.dir(), "--domain", "vm0", "--device", "00:02.0", "0x0");
        assertEquals(2, both.exit(), both::toString);
        assertTrue(both.err().contains("translates through pgtables/domain-2.pt, not pgtables/vm0.pt"), both::toString);
    }
}
