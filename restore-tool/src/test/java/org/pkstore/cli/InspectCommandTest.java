package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InspectCommandTest {
    @TempDir
    static Path tmp;
    static Fixtures.Standard std;

    @BeforeAll
    static void build() {
        std = Fixtures.standard(tmp.resolve("m"));
    }

    static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode n : array) {
            if (value.equals(n.path(field).asText())) {
                return n;
            }
        }
        throw new AssertionError("no element with " + field + " = " + value + " in " + array);
    }

    @Test
    void jsonListsFilesContainersDomainsDevicesPasidsAndBindings() {
        Cli.Result r = Cli.run("inspect", std.dir(), "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode j = r.json();
        assertEquals(1, j.path("superblock").path("generation").asInt());
        assertTrue(j.path("superblock").path("clean").asBoolean());
        assertFalse(j.path("superblock").path("held").asBoolean());

        JsonNode sb = find(j.path("files"), "path", "pkernfs.super");
        assertEquals("superblock", sb.path("type").asText());
        assertEquals("pkstore-pkernfs-v1", sb.path("format").asText());
        assertEquals(1, sb.path("version").asInt());
        assertEquals(4096, sb.path("size").asLong());
        JsonNode pt = find(j.path("files"), "path", "pgtables/vm0.pt");
        assertEquals("pkstore-iommu-pgtable-v1 (vtd-sl)", pt.path("format").asText());
        assertTrue(pt.path("clean").asBoolean());
        assertEquals(64L << 20, pt.path("size").asLong());

        assertEquals(2, j.path("containers").size());
        JsonNode c1 = find(j.path("containers"), "id", String.valueOf(std.containerId()));
        assertEquals("7", c1.path("vmid").asText());
        assertEquals("vm0", c1.path("pgtableFile").asText());
        assertEquals(6, c1.path("iommuType").asInt());
        assertEquals("[1]", c1.path("groups").toString());

        JsonNode d = find(j.path("domains"), "file", "pgtables/vm0.pt");
        assertEquals(std.domainId(), d.path("id").asLong());
        assertEquals("vtd-sl", d.path("format").asText());
        assertEquals(7, d.path("vmid").asInt());
        assertEquals("nested", d.path("stage").asText());
        assertEquals((2L << 20) + (24 << 10), d.path("mappedBytes").asLong());
        assertEquals(1, d.path("leaves").path("2M").asLong());
        assertEquals(6, d.path("leaves").path("4K").asLong());
        assertEquals(0, d.path("leaves").path("1G").asLong());
        assertEquals(2L << 20, d.path("bytesByPageSize").path("2M").asLong());
        assertEquals(5, d.path("tablePages").asLong());
        assertEquals(5, d.path("allocatedPages").asLong());
        assertEquals("0000:00:01.0", d.path("devices").get(0).asText());

        JsonNode dev = find(j.path("devices"), "bdf", "0000:00:01.0");
        assertTrue(dev.path("present").asBoolean());
        assertEquals(d.path("rootPa").asText(), dev.path("stage2Root").asText());
        assertEquals("pgtables/vm0.pt", dev.path("domainFile").asText());
        assertEquals(7, dev.path("did").asInt());
        assertEquals("[" + std.pasid() + "]", dev.path("boundPasids").toString());
        JsonNode dev2 = find(j.path("devices"), "bdf", "0000:00:02.0");
        assertEquals("pgtables/domain-2.pt", dev2.path("domainFile").asText());

        JsonNode p = find(j.path("pasids"), "pasid", String.valueOf(std.pasid()));
        assertEquals(std.containerId(), p.path("container").asInt());
        assertEquals("0000:00:01.0", p.path("boundOn").get(0).asText());
        JsonNode b = find(j.path("bindings"), "hpasid", String.valueOf(std.pasid()));
        assertEquals(9, b.path("gpasid").asLong());
        assertEquals("0x12345000", b.path("gpgd").asText());
        assertEquals(2, j.path("vmids").size());
        assertEquals(4, j.path("dmaMappings").asInt());
        assertEquals("0x100000000", j.path("guestMemory").get(0).path("paBase").asText());
        assertEquals(0, j.path("problems").size());
    }

    @Test
    void humanOutputHasAlignedSections() {
        Cli.Result r = Cli.run("inspect", std.dir());
        assertEquals(0, r.exit(), r::toString);
        for (String s : new String[] {"files", "containers", "domains", "devices", "pasids and guest bindings", "vmids",
                "guest memory", "pgtables/vm0.pt", "0000:00:01.0", "2.00 MiB", "64.00 MiB"}) {
            assertTrue(r.out().contains(s), "missing \"" + s + "\":\n" + r.out());
        }
        assertEquals("", r.err());
    }

    /** Read-only beside a running host: no lock taken, and the host is named. */
    @Test
    void besideALiveHost() {
        Path live = tmp.resolve("live");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(live);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setIommu(a, 3));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0x10_0000, 1 << 20));
            Cli.Result r = Cli.run("inspect", live, "--json");
            assertEquals(0, r.exit(), r::toString);
            JsonNode sb = r.json().path("superblock");
            assertTrue(sb.path("held").asBoolean());
            assertEquals(ProcessHandle.current().pid(), sb.path("heldByPid").asLong());
            assertFalse(sb.path("clean").asBoolean());
            JsonNode dom = r.json().path("domains").get(0);
            assertEquals(1L << 20, dom.path("mappedBytes").asLong());
            // the host keeps working after the tool ran
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA + (1 << 20), 0x20_0000, 1 << 20));
        }
    }

    /** What a recovering boot did to the registries stays visible after it (registry/recovery.log). */
    @Test
    void showsWhatRecoveringBootsDid() {
        Path crashed = tmp.resolve("crashed");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(crashed)) {
            m.abandon(); // as SIGKILL
        }
        long generation;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(crashed)) {
            generation = m.generation();
        }
        Cli.Result r = Cli.run("inspect", crashed, "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode first = r.json().path("registryRecoveries").get(0);
        assertNotNull(first, r::toString);
        assertEquals(generation, first.path("generation").asLong(), r::toString);
        assertTrue(first.path("what").asText().startsWith("recovering boot: "), r::toString);
        Cli.Result text = Cli.run("inspect", crashed);
        assertTrue(text.out().contains("registry recovery, generation " + generation + ": recovering boot: "), text::toString);
        assertTrue(Cli.run("inspect", std.dir(), "--json").json().path("registryRecoveries").isEmpty(),
                "a mount that never recovered shows none");
    }

    @Test
    void notAMountIsUnusableInput() {
        Cli.Result r = Cli.run("inspect", tmp.resolve("nowhere"));
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("no such directory"), r::toString);
        Cli.Result r2 = Cli.run("inspect", tmp);
        assertEquals(2, r2.exit());
        assertTrue(r2.err().contains("not a pkernfs mount"), r2::toString);
        assertNotNull(r2.err());
    }
}
