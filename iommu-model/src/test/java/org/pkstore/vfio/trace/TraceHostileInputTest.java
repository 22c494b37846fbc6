package org.pkstore.vfio.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.pkstore.vfio.trace.TraceRoundTripTest.ascii;
import static org.pkstore.vfio.trace.TraceRoundTripTest.cat;
import static org.pkstore.vfio.trace.TraceRoundTripTest.u32;
import static org.pkstore.vfio.trace.TraceRoundTripTest.u64;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad traces: each must end in a TraceFormatException with the right offset and a reason, never
 * another exception, never an allocation driven by an absurd length.
 */
class TraceHostileInputTest {

    private static final byte[] HEADER = cat(ascii("PKSTTRC1"), u32(1), u32(0), u64(0));

    /** Read all, expecting a format error; return it. Any other exception fails the test. */
    private static TraceFormatException bad(byte[] data) {
        try {
            List<TraceRecord> r = TraceReader.readAll(data, "bad.trace");
            fail("accepted a bad trace: " + r);
            return null;
        } catch (TraceFormatException e) {
            assertEquals("bad.trace", e.source());
            assertTrue(e.getMessage().startsWith("bad.trace: offset " + e.offset() + " "), e.getMessage());
            assertTrue(!e.reason().isBlank());
            return e;
        } catch (Exception e) {
            throw new AssertionError("wrong exception for a bad trace", e);
        }
    }

    private static void badAt(byte[] data, long offset, String reasonPart) {
        TraceFormatException e = bad(data);
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.reason().contains(reasonPart), "reason \"" + e.reason() + "\" lacks \"" + reasonPart + "\"");
    }

    @Test
    void truncatedAtEveryOffset() throws Exception {
        byte[] full = TraceTestData.write(TraceTestData.allTypes());
        // record start offsets
        List<Long> starts = new ArrayList<>();
        try (TraceReader r = TraceReader.of(full, "full")) {
            while (r.next() != null) {
                starts.add(r.lastRecordOffset());
            }
        }
        starts.add((long) full.length);
        int boundaries = 0;
        for (int cut = 0; cut < full.length; cut++) {
            byte[] part = Arrays.copyOf(full, cut);
            if (cut < TraceFormat.HEADER_SIZE) {
                badAt(part, 0, cut == 0 ? "empty file" : "truncated header");
                continue;
            }
            int recordsBefore = 0;
            while (starts.get(recordsBefore + 1) <= cut) {
                recordsBefore++;
            }
            long recordStart = starts.get(recordsBefore);
            if (recordStart == cut) {
                // exactly at a boundary: a valid, shorter trace
                assertEquals(TraceTestData.allTypes().subList(0, recordsBefore), TraceReader.readAll(part, "cut"));
                boundaries++;
                continue;
            }
            // the records before the cut are returned, then the error names the cut record
            try (TraceReader r = TraceReader.of(part, "cut")) {
                for (int i = 0; i < recordsBefore; i++) {
                    assertEquals(TraceTestData.allTypes().get(i), r.next());
                }
                TraceFormatException e = assertThrows(TraceFormatException.class, r::next, "cut at " + cut);
                assertEquals(recordStart, e.offset(), "cut at " + cut + ": " + e.getMessage());
                assertTrue(e.reason().contains("truncated"), e.getMessage());
            }
        }
        assertEquals(TraceTestData.allTypes().size(), boundaries);
    }

    @Test
    void truncatedFileOnDisk(@TempDir Path tmp) throws Exception {
        byte[] full = TraceTestData.write(TraceTestData.allTypes());
        Path f = tmp.resolve("cut.trace");
        Files.write(f, Arrays.copyOf(full, full.length - 3));
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceReader.readAll(f));
        assertEquals(f.toString(), e.source());
        assertEquals(full.length - 16, e.offset(), e.getMessage());
    }

    @Test
    void wrongMagic() {
        badAt(cat(ascii("PKSTTRC2"), u32(1), u32(0), u64(0)), 0, "bad magic");
        badAt(ascii("\u007fELF"), 0, "bad magic");
        badAt(cat(ascii("pkstTRC1"), u32(1), u32(0), u64(0)), 0, "bad magic");
        badAt(ascii("PKST"), 0, "truncated header");
    }

    @Test
    void badHeaderFields() {
        badAt(cat(ascii("PKSTTRC1"), u32(2), u32(0), u64(0)), TraceFormat.OFFSET_VERSION, "unsupported trace version 2");
        badAt(cat(ascii("PKSTTRC1"), u32(0), u32(0), u64(0)), TraceFormat.OFFSET_VERSION, "version 0");
        badAt(cat(ascii("PKSTTRC1"), u32(1), u32(1), u64(0)), TraceFormat.OFFSET_FLAGS, "header flags");
        badAt(cat(ascii("PKSTTRC1"), u32(1), u32(0), u64(5)), TraceFormat.OFFSET_RESERVED, "reserved");
    }

    @Test
    void absurdLengths() {
        int at = TraceFormat.HEADER_SIZE;
        badAt(cat(HEADER, u32(TraceFormat.TYPE_IOCTL), u32(0xFFFF_FFFFL)), at, "exceeds the maximum");
        badAt(cat(HEADER, u32(TraceFormat.TYPE_IOCTL), u32(TraceFormat.MAX_PAYLOAD + 1)), at, "exceeds the maximum");
        badAt(cat(HEADER, u32(TraceFormat.TYPE_IOCTL), u32(TraceFormat.MAX_PAYLOAD), new byte[64]), at,
                "truncated payload");
        badAt(cat(HEADER, u32(TraceFormat.TYPE_CLOSE), u32(4), u32(3)), at, "truncated padding");
        // arg_len disagrees with the payload length, both ways, including an absurd arg_len
        badAt(cat(HEADER, u32(5), u32(24), u32(3), u32(0x3B71), u32(0xFFFF_FFF0L), u32(0), u64(0)), at, "arg_len");
        badAt(cat(HEADER, u32(5), u32(24), u32(3), u32(0x3B71), u32(4), u32(0), u64(0)), at, "arg_len 4");
        // name_len disagrees / absurd / zero / too long
        badAt(cat(HEADER, u32(3), u32(10), u32(5), u32(0x7FFF_FFFF), ascii("ab"), new byte[6]), at, "name_len");
        badAt(cat(HEADER, u32(3), u32(10), u32(5), u32(1), ascii("ab"), new byte[6]), at, "name_len 1");
        badAt(cat(HEADER, u32(3), u32(8), u32(5), u32(0)), at, "name_len 0");
        byte[] longName = new byte[256];
        Arrays.fill(longName, (byte) 'x');
        badAt(cat(HEADER, u32(3), u32(8 + 256), u32(5), u32(256), longName), at, "name_len 256");
        // fixed-size records with the wrong length
        badAt(cat(HEADER, u32(1), u32(8), u32(3), u32(0)), at, "must be 4");
        badAt(cat(HEADER, u32(2), u32(4), u32(3), u32(0)), at, "must be 8");
        badAt(cat(HEADER, u32(7), u32(0)), at, "must be 4");
        badAt(cat(HEADER, u32(5), u32(8), u64(0)), at, "shorter than its fixed part");
        badAt(cat(HEADER, u32(4), u32(16), u64(0), u64(0)), at, "shorter than its fixed part");
    }

    @Test
    void badRecordContents() {
        int at = TraceFormat.HEADER_SIZE;
        byte[] ok = cat(u32(1), u32(4), u32(3), u32(0)); // OPEN_CONTAINER 3
        int second = at + ok.length;
        badAt(cat(HEADER, ok, u32(0), u32(0)), second, "unknown record type 0");
        badAt(cat(HEADER, ok, u32(8), u32(0)), second, "unknown record type 8");
        badAt(cat(HEADER, ok, u32(0xFFFF_FFFFL), u32(0xFFFF_FFFFL)), second, "unknown record type");
        badAt(cat(HEADER, u32(1), u32(4), u32(3), u32(0x100)), at, "padding byte at +13");
        badAt(cat(HEADER, u32(1), u32(4), u32(-1), u32(0)), at, "cannot be negative");
        badAt(cat(HEADER, u32(7), u32(4), u32(3), u32(0)), at, "unknown kexec kind 3");
        badAt(cat(HEADER, u32(5), u32(16), u32(3), u32(0x3B66), u32(0), u32(2)), at, "unknown bits");
        badAt(cat(HEADER, u32(5), u32(20), u32(3), u32(0x3B66), u32(4), u32(1), u32(3), u32(0)), at, "must be 8");
        badAt(cat(HEADER, u32(3), u32(10), u32(5), u32(2), new byte[] {(byte) 0xC3, (byte) 0x28}, new byte[6]), at,
                "not valid UTF-8");
        badAt(cat(HEADER, u32(3), u32(10), u32(5), u32(2), ascii("a/"), new byte[6]), at, "path component");
        badAt(cat(HEADER, u32(3), u32(10), u32(5), u32(2), ascii(".."), new byte[6]), at, "path component");
        badAt(cat(HEADER, u32(4), u32(21), u64(0x1000), u64(0), u32(1), ascii("m"), new byte[3]), at, "size is 0");
        badAt(cat(HEADER, u32(4), u32(21), u64(-4096), u64(8192), u32(1), ascii("m"), new byte[3]), at, "wraps");
        // the good record before an error is still returned
        try (TraceReader r = TraceReader.of(cat(HEADER, ok, u32(9), u32(0)), "x")) {
            assertEquals(new TraceRecord.OpenContainer(3), r.next());
            assertThrows(TraceFormatException.class, r::next);
            assertThrows(IllegalStateException.class, r::next, "no reading on after a format error");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Random corruption of a valid trace: only success or TraceFormatException, never anything else. */
    @Test
    void randomCorruptionNeverEscapesAsAnotherException() throws Exception {
        byte[] full = TraceTestData.write(TraceTestData.allTypes());
        Random rnd = new Random(20240205);
        int rejected = 0;
        for (int iter = 0; iter < 20_000; iter++) {
            byte[] b = full.clone();
            int flips = 1 + rnd.nextInt(4);
            for (int k = 0; k < flips; k++) {
                int pos = TraceFormat.HEADER_SIZE + rnd.nextInt(b.length - TraceFormat.HEADER_SIZE);
                switch (rnd.nextInt(3)) {
                    case 0: b[pos] = (byte) rnd.nextInt(256); break;
                    case 1: b[pos] ^= (byte) (1 << rnd.nextInt(8)); break;
                    default: b[pos] = (byte) 0xFF; break;
                }
            }
            if (rnd.nextInt(4) == 0) {
                b = Arrays.copyOf(b, TraceFormat.HEADER_SIZE + rnd.nextInt(b.length - TraceFormat.HEADER_SIZE));
            }
            try {
                TraceReader.readAll(b, "fuzz");
            } catch (TraceFormatException e) {
                rejected++;
                assertTrue(e.offset() >= 0 && e.offset() <= b.length, e.getMessage());
            } catch (Throwable t) {
                throw new AssertionError("iteration " + iter + ": " + t, t);
            }
        }
        assertTrue(rejected > 10_000, "only " + rejected + " corruptions detected");
    }
}
