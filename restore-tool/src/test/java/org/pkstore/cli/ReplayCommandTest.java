package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.PkernfsMount;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Traces written byte by byte here (docs/TRACE.md), never through TraceWriter. */
class ReplayCommandTest {
    @TempDir
    Path tmp;

    /** A trace under construction: the 24-byte header, then records padded to 8 bytes. */
    static final class Trace {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Trace() {
            put(le(24).put("PKSTTRC1".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(0).putLong(0));
        }

        private void put(ByteBuffer b) {
            bytes.write(b.array(), 0, b.position());
        }

        static ByteBuffer le(int n) {
            return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        }

        Trace record(int type, byte[] payload) {
            int padded = (payload.length + 7) & ~7;
            ByteBuffer b = le(8 + padded).putInt(type).putInt(payload.length).put(payload);
            b.position(8 + padded);
            put(b);
            return this;
        }

        long size() {
            return bytes.size();
        }

        Trace openContainer(int fd) {
            return record(1, le(4).putInt(fd).array());
        }

        Trace openGroup(int fd, int group) {
            return record(2, le(8).putInt(fd).putInt(group).array());
        }

        Trace mapGuestMemory(long vaddr, long size, String name) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            return record(4, le(20 + n.length).putLong(vaddr).putLong(size).putInt(n.length).put(n).array());
        }

        Trace ioctl(int fd, int request, byte[] arg) {
            return record(5, le(16 + arg.length).putInt(fd).putInt(request).putInt(arg.length).putInt(0).put(arg).array());
        }

        Trace ioctlScalar(int fd, int request, long value) {
            return record(5, le(24).putInt(fd).putInt(request).putInt(8).putInt(1).putLong(value).array());
        }

        Trace close(int fd) {
            return record(6, le(4).putInt(fd).array());
        }

        Trace kexec(int kind) {
            return record(7, le(4).putInt(kind).array());
        }

        Path write(Path p) throws Exception {
            Files.write(p, bytes.toByteArray());
            return p;
        }
    }

    static final long VA = 0x7f00_0000_0000L;

    /** Open, attach, map 2 x 1 MiB, read the VMID, a call on a bad fd, unmap the first, planned kexec, a call on a lost fd. */
    static Trace session() {
        return new Trace()
                .openContainer(3)
                .openGroup(4, 1)
                .ioctl(4, 0x3B68, Trace.le(4).putInt(3).array())                                  // GROUP_SET_CONTAINER
                .ioctlScalar(3, 0x3B66, 3)                                                         // SET_IOMMU TYPE1v2
                .mapGuestMemory(VA, 64L << 20, "ram")
                .ioctl(3, 0x3B71, Trace.le(32).putInt(32).putInt(3).putLong(VA).putLong(0x10_0000).putLong(1L << 20).array())
                .ioctl(3, 0x3B71, Trace.le(32).putInt(32).putInt(3).putLong(VA + (1 << 20)).putLong(0x20_0000).putLong(1L << 20).array())
                .ioctl(3, 0x3B7D, new byte[4])                                                     // GET_VMID
                .ioctl(99, 0x3B64, new byte[0])                                                    // bad fd
                .ioctl(3, 0x3B72, Trace.le(24).putInt(24).putInt(0).putLong(0x10_0000).putLong(1L << 20).array())
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
        Trace t = session();
        long bad = t.size();
        t.bytes.write(Trace.le(16).putInt(5).putInt(100).putLong(0).array(), 0, 16); // IOCTL claims 100 bytes, has 8
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
}
