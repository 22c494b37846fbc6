package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.PkernfsMount;

import org.pkstore.vfio.trace.TraceBytes;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Traces written byte by byte ({@link TraceBytes}, docs/TRACE.md), never through TraceWriter. */
class ReplayCommandTest {
    @TempDir
    Path tmp;

    static final long VA = 0x7f00_0000_0000L;

    /** Open, attach, map 2 x 1 MiB, read the VMID, a call on a bad fd, unmap the first, planned kexec, a call on a lost fd. */
    static TraceBytes session() {
        return new TraceBytes()
                .openContainer(3)
                .openGroup(4, 1)
                .ioctl(4, 0x3B68, TraceBytes.s32(3))                                               // GROUP_SET_CONTAINER
                .ioctlScalar(3, 0x3B66, 3)                                                         // SET_IOMMU TYPE1v2
                .mapGuestMemory(VA, 64L << 20, "ram")
                .ioctl(3, 0x3B71, TraceBytes.dmaMap(3, VA, 0x10_0000, 1L << 20))                    // MAP_DMA
                .ioctl(3, 0x3B71, TraceBytes.dmaMap(3, VA + (1 << 20), 0x20_0000, 1L << 20))
                .ioctl(3, 0x3B7D, new byte[4])                                                     // GET_VMID
                .ioctl(99, 0x3B64, new byte[0])                                                    // bad fd
                .ioctl(3, 0x3B72, TraceBytes.dmaUnmap(0x10_0000, 1L << 20))                         // UNMAP_DMA
                .kexec(1)
                .ioctl(3, 0x3B64, new byte[0]);                                                    // the fd died with kexec
    }

    @Test
    void everyRecordsResultAndOutputBytes() throws Exception {
        Path trace = session().write(tmp.resolve("t.bin"));
        Cli.Result r = Cli.run("replay", trace, "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode recs = r.json().path("records");
        assertTrue(r.json().path("temporary").asBoolean());
        assertFalse(Files.exists(Path.of(r.json().path("mount").asText())), "the temporary mount is removed");
        String[][] want = {
                {"OPEN_CONTAINER", "3"}, {"OPEN_GROUP", "4"}, {"VFIO_GROUP_SET_CONTAINER", "0"}, {"VFIO_SET_IOMMU", "0"},
                {"MAP_GUEST_MEMORY", "0"}, {"VFIO_IOMMU_MAP_DMA", "0"}, {"VFIO_IOMMU_MAP_DMA", "0"}, {"VFIO_IOMMU_GET_VMID", "0"},
                {"VFIO_GET_API_VERSION", "EBADF"}, {"VFIO_IOMMU_UNMAP_DMA", "0"}, {"KEXEC_PLANNED", "0"},
                {"VFIO_GET_API_VERSION", "EBADF"}};
        assertEquals(want.length, recs.size(), r::toString);
        for (int i = 0; i < want.length; i++) {
            assertEquals(i, recs.get(i).path("index").asInt());
            assertEquals(want[i][0], recs.get(i).path("name").asText(), recs.get(i)::toString);
            assertEquals(want[i][1], recs.get(i).path("result").asText(), recs.get(i)::toString);
        }
        assertEquals("0x18", recs.get(0).path("offset").asText());
        assertEquals("IOCTL", recs.get(7).path("type").asText());
        assertEquals("0x3b7d", recs.get(7).path("request").asText());
        assertEquals("01000000", recs.get(7).path("out").asText(), "VMID 1, little-endian");
        assertEquals(-9, recs.get(8).path("ret").asInt());
        // UNMAP_DMA writes the unmapped size back into the struct (copy_to_user): 1 MiB at offset 16
        assertEquals("180000000000000000001000000000000000100000000000", recs.get(9).path("out").asText());

        Cli.Result h = Cli.run("replay", trace);
        assertEquals(0, h.exit(), h::toString);
        assertTrue(h.out().contains("VFIO_IOMMU_GET_VMID"), h::toString);
        assertTrue(h.out().contains("EBADF"), h::toString);
        assertTrue(h.out().contains("12 records run"), h::toString);
    }

    @Test
    void intoAMountThatCanThenBeInspected() throws Exception {
        Path trace = session().write(tmp.resolve("t.bin"));
        Path m = tmp.resolve("m");
        Cli.Result r = Cli.run("replay", trace, "--mount", m);
        assertEquals(0, r.exit(), r::toString);
        Cli.Result w = Cli.run("walk", m, "--device", "00:01.0", "--json");
        assertEquals(0, w.exit(), w::toString);
        JsonNode range = w.json().path("ranges").get(0);
        assertEquals("0x200000", range.path("iova").asText(), "the second megabyte stays mapped");
        assertEquals(1L << 20, range.path("size").asLong());
        try (PkernfsMount held = PkernfsMount.mountReadWrite(m)) {
            Cli.Result busy = Cli.run("replay", trace, "--mount", m);
            assertEquals(2, busy.exit());
            assertTrue(busy.err().contains("held by pid " + ProcessHandle.current().pid()), busy::toString);
        }
    }

    @Test
    void aMalformedRecordStopsTheReplayWithItsOffset() throws Exception {
        TraceBytes t = session();
        long bad = t.size();
        t.raw(TraceBytes.le(16).putInt(5).putInt(100).putLong(0).array()); // IOCTL claims 100 bytes, has 8
        Path trace = t.write(tmp.resolve("bad.bin"));
        Cli.Result r = Cli.run("replay", trace, "--json");
        assertEquals(2, r.exit(), r::toString);
        assertEquals(12, r.json().path("records").size(), "everything before the bad record ran");
        assertEquals(Fmt.hex(bad), r.json().path("error").path("offset").asText());
        assertTrue(r.err().contains("@ offset " + Fmt.hex(bad)), r::toString);

        Path garbage = tmp.resolve("garbage.bin");
        Files.write(garbage, "not a trace at all".getBytes(StandardCharsets.US_ASCII));
        Cli.Result g = Cli.run("replay", garbage);
        assertEquals(2, g.exit());
        assertTrue(g.err().contains("offset 0"), g::toString);
    }

    /** An OPEN_* returning a trace fd still open: the replay stops there, naming the record, its offset and the fd. */
    @Test
    void anOpenReusingAnOpenFdIsRefused() throws Exception {
        TraceBytes t = new TraceBytes().openContainer(3).openGroup(4, 1);
        long bad = t.size();
        t.openGroup(3, 2).close(3);
        Cli.Result r = Cli.run("replay", t.write(tmp.resolve("reuse.bin")), "--json");
        assertEquals(2, r.exit(), r::toString);
        assertEquals(2, r.json().path("records").size(), "the two opens before it ran, nothing after");
        assertEquals(Fmt.hex(bad), r.json().path("error").path("offset").asText());
        String reason = r.json().path("error").path("reason").asText();
        assertTrue(reason.contains("record #2 OPEN_GROUP returns fd 3, which record #0 opened and nothing closed"), reason);
        assertTrue(r.err().contains("@ offset " + Fmt.hex(bad) + ": record #2 OPEN_GROUP returns fd 3"), r::toString);
    }

    /**
     * docs/examples/replay.topology, as docs/CLI.md shows it: a VT-d and an SMMUv3 unit. The trace
     * creates its guest memory and a persistent page-table file in the mount; the SMMUv3 group's
     * two functions translate through one kernel domain.
     */
    @Test
    void theDocumentedTopologyExample() throws Exception {
        Path topology = Path.of("..", "docs", "examples", "replay.topology");
        assertTrue(Files.isRegularFile(topology), "the example docs/CLI.md names: " + topology.toAbsolutePath());
        TraceBytes t = new TraceBytes()
                .mapGuestMemory(VA, 16L << 20, "ram")
                .openContainer(3)
                .openGroup(4, 5)                                                                   // unit 1, smmuv3
                .ioctl(4, 0x3B68, TraceBytes.s32(3))
                .ioctlScalar(3, 0x3B66, 3)
                .ioctl(3, 0x3B71, TraceBytes.dmaMap(3, VA, 0x10_0000, 1L << 20))
                .openContainer(5)
                .openGroup(6, 1)                                                                   // unit 0, vtd
                .openPgtable(7, "vm1")
                .ioctl(6, 0x3B68, TraceBytes.s32(5))
                .ioctl(5, 0x3B7F, TraceBytes.s32(7))                                               // SET_PERSISTENT_PGTABLES
                .ioctlScalar(5, 0x3B66, 3)
                .ioctl(5, 0x3B71, TraceBytes.dmaMap(3, VA + (2 << 20), 0, 2L << 20));
        Path m = tmp.resolve("two-units");
        Cli.Result r = Cli.run("replay", t.write(tmp.resolve("two.bin")), "--mount", m, "--topology", topology, "--json");
        assertEquals(0, r.exit(), r::toString);
        for (JsonNode rec : r.json().path("records")) {
            assertTrue(rec.path("ret").asLong() >= 0, rec::toString);
        }
        assertEquals(16L << 20, Files.size(m.resolve("mem/ram.gmem")) - 4096, "MAP_GUEST_MEMORY created the file");
        assertTrue(Files.isRegularFile(m.resolve("pgtables/vm1.pt")), "OPEN_PGTABLE_FILE created the file");
        for (String bdf : new String[] {"0000:40:00.0", "0000:40:00.1"}) {
            Cli.Result w = Cli.run("walk", m, "--device", bdf, "--json");
            assertEquals(0, w.exit(), w::toString);
            assertEquals("pgtables/domain-1.pt", w.json().path("target").path("file").asText(), w::toString);
            assertEquals("arm-lpae-s2", w.json().path("target").path("format").asText(), w::toString);
            assertEquals("0x100000", w.json().path("ranges").get(0).path("iova").asText(), w::toString);
            assertEquals(1L << 20, w.json().path("summary").path("mappedBytes").asLong(), w::toString);
        }
        Cli.Result vtd = Cli.run("walk", m, "--device", "00:01.0", "--json");
        assertEquals(0, vtd.exit(), vtd::toString);
        assertEquals("pgtables/vm1.pt", vtd.json().path("target").path("file").asText(), vtd::toString);
        assertEquals(2L << 20, vtd.json().path("summary").path("mappedBytes").asLong(), vtd::toString);
        assertEquals(0, Cli.run("verify", m).exit());

        Path unitLast = Files.writeString(tmp.resolve("bad.topology"), "group 1 unit 0 device 00:01.0\nunit 0 vtd\n");
        Cli.Result bad = Cli.run("replay", tmp.resolve("two.bin"), "--topology", unitLast);
        assertEquals(2, bad.exit(), bad::toString);
        assertTrue(bad.err().contains(unitLast + ": topology line 1: unit 0 is not declared"), bad::toString);
        assertTrue(bad.out().isEmpty(), "nothing ran: " + bad);
    }
}
