package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged input of every sort: every command ends, with exit 0, 1 or 2, never a stack trace and
 * never an "internal error" (an unexpected exception: exit 2 too, so the exit code alone would let
 * a NullPointerException pass).
 */
class HostileInputTest extends StandardMountTest {

    static void fill(Path f, long offset, int bytes, Random rnd) throws Exception {
        byte[] b = new byte[bytes];
        rnd.nextBytes(b);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(b), offset);
        }
    }

    static void allCommandsEnd(Path m) {
        for (Object[] args : List.of(
                new Object[] {"inspect", m, "--json"},
                new Object[] {"verify", m},
                new Object[] {"walk", m, "--domain", "vm0", "--raw"},
                new Object[] {"walk", m, "--device", "00:01.0"},
                new Object[] {"walk", m, "--pasid", "1"},
                new Object[] {"translate", m, "--domain", "vm0", "0x40001000"},
                new Object[] {"translate", m, "--device", "00:01.0", "--pasid", "1", "0x40001000", "--json"})) {
            ends(args);
        }
    }

    /** One command on damaged input: exit 0, 1 or 2; a refusal is one line naming the command, never an internal error. */
    static void ends(Object... args) {
        Cli.Result r = Cli.run(args); // also refuses a stack trace and an internal error (Cli.noInternalError)
        assertTrue(r.exit() >= 0 && r.exit() <= 2, r::toString);
        if (r.exit() == 2) {
            assertTrue(r.err().startsWith("pkstore " + args[0] + ": "), "unusable input is one line naming the command: " + r);
            assertFalse(r.err().contains(ErrorHandler.INTERNAL_ERROR), "a bug, not a refusal: " + r);
        }
    }

    @Command(name = "npe")
    static final class ThrowsNpe extends BaseCommand {
        @Override
        int execute() {
            throw new NullPointerException("a bug");
        }
    }

    /** What the checks above refuse: an unexpected exception is exit 2 with a "pkstore " line, yet fails Cli's check. */
    @Test
    void anUnexpectedExceptionIsCaughtByTheCheck() {
        CommandLine cl = new CommandLine(new ThrowsNpe()).setExecutionExceptionHandler(new ErrorHandler());
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(err, true));
        Cli.Result r = new Cli.Result(cl.execute(), "", err.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("pkstore npe: internal error: NullPointerException: a bug"), r::toString);
        assertThrows(AssertionFailedError.class, () -> Cli.noInternalError(r));
    }

    /** A table page full of random descriptors: cycles, foreign pointers, bad encodings, all bounded. */
    @Test
    void randomDescriptorsInTablePages() throws Exception {
        Random rnd = new Random(42);
        for (int i = 0; i < 2; i++) {
            Path m = Damage.copy(std.dir(), tmp.resolve("rnd" + i));
            Path pt = m.resolve("pgtables/vm0.pt");
            List<Long> path = Damage.pathOffsets(pt, 0x4000_0000L);
            long page = path.get(i + 1) & ~0xFFFL;
            // valid-looking table pointers into this file, mixed with noise
            Damage.Header h = Damage.header(pt);
            ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
            for (int e = 0; e < 512; e++) {
                long target = h.paBase() + (long) (rnd.nextInt((int) h.capacityPages())) * 4096;
                b.putLong(rnd.nextInt(3) == 0 ? rnd.nextLong() : target | 3);
            }
            try (FileChannel ch = FileChannel.open(pt, StandardOpenOption.WRITE)) {
                ch.write(b.flip(), page);
            }
            allCommandsEnd(m);
            assertEquals(1, Cli.run("verify", m).exit());
        }
    }

    /** Random bytes over headers, bitmaps, the device table and the superblock. */
    @Test
    void randomBytesAnywhere() throws Exception {
        Random rnd = new Random(7);
        String[] files = {"pgtables/vm0.pt", "pgtables/domain-2.pt", "iommu/unit0.hw", "pkernfs.super", "intent.log",
                "mem/ram.gmem"};
        for (int i = 0; i < 6; i++) {
            Path m = Damage.copy(std.dir(), tmp.resolve("any" + i));
            Path f = m.resolve(files[i]);
            long size = Files.size(f);
            for (int k = 0; k < 4; k++) {
                long off = k == 0 ? rnd.nextInt(256) : rnd.nextInt((int) Math.min(size, 64 << 10) - 64);
                fill(f, off, 1 + rnd.nextInt(48), rnd);
            }
            allCommandsEnd(m);
        }
    }

    @Test
    void damagedSuperblockIsReportedAndTheRestStillRead() {
        Path m = Damage.copy(std.dir(), tmp.resolve("sb"));
        Damage.writeLong(m.resolve("pkernfs.super"), 0, 0);
        Cli.Result v = Cli.run("verify", m, "--json");
        assertEquals(1, v.exit(), v::toString);
        JsonNode f = v.json().path("findings").get(0);
        assertEquals("pkernfs.super", f.path("file").asText());
        assertEquals("0x0", f.path("offset").asText());
        assertTrue(f.path("reason").asText().contains("wrong magic"), f::toString);
        Cli.Result i = Cli.run("inspect", m, "--json");
        assertEquals(1, i.exit());
        assertEquals(2, i.json().path("domains").size(), "the tables are still read");
        assertEquals(0, Cli.run("walk", m, "--domain", "vm0").exit());
    }

    @Test
    void garbageRegistryFile() throws Exception {
        Path m = Damage.copy(std.dir(), tmp.resolve("reg"));
        Path f = m.resolve("registry/groups.cmap");
        fill(f, 0, (int) Files.size(f), new Random(3));
        Cli.Result v = Cli.run("verify", m, "--json");
        assertEquals(1, v.exit(), v::toString);
        boolean named = false;
        for (JsonNode x : v.json().path("findings")) {
            named |= "registry/groups.cmap".equals(x.path("file").asText());
        }
        assertTrue(named, v::toString);
        Cli.Result w = Cli.run("walk", m, "--domain", "vm0");
        assertEquals(0, w.exit(), "walking by file name needs no registry: " + w);
        Cli.Result byId = Cli.run("walk", m, "--domain", "1");
        assertEquals(2, byId.exit(), byId::toString);
        assertTrue(byId.err().contains("registries"), byId::toString);
        ends("diff", std.dir(), m, "--json");
    }

    @Test
    void truncatedAndEmptyFiles() {
        Path m = Damage.copy(std.dir(), tmp.resolve("trunc"));
        Damage.truncate(m.resolve("iommu/unit0.hw"), 100);
        Damage.truncate(m.resolve("pgtables/domain-2.pt"), 0);
        Damage.truncate(m.resolve("intent.log"), 10);
        Cli.Result v = Cli.run("verify", m, "--json");
        assertEquals(1, v.exit(), v::toString);
        String all = v.json().path("findings").toString();
        assertTrue(all.contains("iommu/unit0.hw") && all.contains("pgtables/domain-2.pt") && all.contains("intent.log"), all);
        allCommandsEnd(m);
        ends("diff", std.dir(), m, "--json");
    }
}
