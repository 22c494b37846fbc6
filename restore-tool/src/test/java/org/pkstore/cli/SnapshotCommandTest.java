package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PersistException;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class SnapshotCommandTest extends StandardMountTest {

    static JsonNode file(JsonNode manifest, String path) {
        for (JsonNode f : manifest.path("files")) {
            if (path.equals(f.path("path").asText())) {
                return f;
            }
        }
        throw new AssertionError(path + " not in " + manifest);
    }

    @Test
    void aQuietMountIsCopiedMarkedAndReadOnly() throws Exception {
        Path dest = tmp.resolve("snap");
        Cli.Result r = Cli.run("snapshot", std.dir(), dest, "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode m = r.json();
        assertEquals(std.dir().toAbsolutePath().toString(), m.path("snapshotOf").asText());
        assertFalse(m.path("sourceHeld").asBoolean());
        JsonNode pt = file(m, "pgtables/vm0.pt");
        assertEquals("tables (allocated pages)", pt.path("mode").asText());
        assertEquals(1, pt.path("attempts").asInt());
        assertEquals(0, pt.path("mutationSeq").asLong() & 1);
        assertTrue(pt.path("copiedBytes").asLong() < 64L << 10, "only allocated pages: " + pt);
        assertEquals(64L << 20, Files.size(dest.resolve("pgtables/vm0.pt")));
        assertEquals(m, Cli.MAPPER.readTree(Files.readString(dest.resolve(SnapshotCommand.MANIFEST))));
        // read-only file modes: a read-write mount by an ordinary user is refused (root ignores modes)
        assertTrue(Files.getPosixFilePermissions(dest.resolve("pgtables/vm0.pt")).stream()
                .noneMatch(p -> p.name().endsWith("WRITE")));
        if (!"root".equals(System.getProperty("user.name"))) {
            assertThrows(PersistException.class, () -> PkernfsMount.mountReadWrite(dest).close());
        }
        assertEquals(0, Cli.run("verify", dest).exit());
        assertEquals(0, Cli.run("diff", std.dir(), dest).exit());
        assertEquals(0, Cli.run("inspect", dest).exit());

        Cli.Result again = Cli.run("snapshot", std.dir(), dest);
        assertEquals(2, again.exit());
        assertTrue(again.err().contains("not an empty directory"), again::toString);
    }

    @Test
    void withoutMemoryOnlyHeadersAreCopied() throws Exception {
        Path dest = tmp.resolve("nomem");
        Cli.Result r = Cli.run("snapshot", std.dir(), dest, "--no-memory", "--writable", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode g = file(r.json(), "mem/ram.gmem");
        assertEquals(4096, g.path("copiedBytes").asLong());
        assertFalse(r.json().path("memoryCopied").asBoolean());
        assertEquals(0, Cli.run("verify", dest).exit());
        assertTrue(Files.getPosixFilePermissions(dest.resolve("pgtables/vm0.pt")).stream()
                .anyMatch(p -> p.name().equals("OWNER_WRITE")));
    }

    /**
     * registry/preserved.rec travels with the snapshot: read back from DEST it holds what the source
     * holds, and a read-write mount of the (writable) copy finds it at mount, as a reattach needs.
     */
    @Test
    void thePreservedRecordIsCopiedAndFoundByAMountOfTheCopy() throws Exception {
        Path dest = tmp.resolve("with-record");
        Cli.Result r = Cli.run("snapshot", std.dir(), dest, "--writable", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode rec = file(r.json(), "registry/" + PreservedRecord.FILE_NAME);
        assertEquals("copied, checked", rec.path("mode").asText(), rec::toString);
        assertEquals(PreservedRecord.FILE_SIZE, rec.path("bytes").asLong());
        PreservedRecord.Contents original = PreservedRecord.read(PreservedRecord.pathIn(std.dir()));
        PreservedRecord.Contents copy = PreservedRecord.read(PreservedRecord.pathIn(dest));
        assertFalse(original.state().containers().isEmpty(), "the fixture's host preserved its containers");
        assertEquals(original.state(), copy.state());
        assertEquals(original.sequence(), copy.sequence());
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dest, true)) {
            assertNotNull(m.preservedAtMount(), "refused at mount: " + m.preservedRefusal());
            assertEquals(original.state(), m.preservedAtMount().state());
        }
    }

    /** A source record the reader refuses is copied raw and flagged, not fixed or dropped. */
    @Test
    void aRefusedPreservedRecordIsCopiedRawAndFlagged() throws Exception {
        Path src = Damage.copy(std.dir(), tmp.resolve("bad-record"));
        Damage.writeLong(PreservedRecord.pathIn(src), PreservedRecord.MAGIC_OFFSET, 0x1234);
        Path dest = tmp.resolve("bad-record-snap");
        Cli.Result r = Cli.run("snapshot", src, dest, "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode rec = file(r.json(), "registry/" + PreservedRecord.FILE_NAME);
        assertEquals("copied raw", rec.path("mode").asText(), rec::toString);
        assertTrue(rec.path("note").asText().contains("bad magic"), rec::toString);
        assertEquals(Files.mismatch(PreservedRecord.pathIn(src), PreservedRecord.pathIn(dest)), -1L);
    }

    /** An update that never ends (odd mutation sequence): bounded retries, then exit 1 and nothing left behind. */
    @Test
    void aFileThatNeverHoldsStillIsGivenUpOn() {
        Path src = Damage.copy(std.dir(), tmp.resolve("busy"));
        Path pt = src.resolve("pgtables/vm0.pt");
        Damage.writeLong(pt, PageTableFileDescriptor.MUTATION_SEQ_OFFSET, 9);
        Path dest = tmp.resolve("busy-snap");
        Cli.Result r = Cli.run("snapshot", src, dest, "--retries", "3");
        assertEquals(1, r.exit(), r::toString);
        assertTrue(r.err().contains("pgtables/vm0.pt kept changing: no quiet copy in 3 attempts"), r::toString);
        assertFalse(Files.exists(dest));
    }

    /** A host mapping and unmapping all along: every table file copied is a consistent tree. */
    @Test
    void consistentWhileAHostRuns() throws Exception {
        Path live = tmp.resolve("live");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ops = new AtomicLong();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(live);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setIommu(a, 3));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0, 8L << 20));
            // the churn's own failure (an errno, an exception) is the test's failure, not a silent stop
            AtomicReference<Throwable> churnFailure = new AtomicReference<>();
            Thread churn = new Thread(() -> {
                try {
                    long i = 0;
                    while (!stop.get()) {
                        long iova = (1 + (i++ % 64)) << 30; // a new 1 GiB region each time: tables allocated, then freed
                        int mapped = c.mapDma(a, Fixtures.GUEST_VA + (16L << 20), iova, 64 << 10);
                        if (mapped != 0) {
                            throw new AssertionError("churn MAP_DMA at IOVA 0x" + Long.toHexString(iova) + " returned " + mapped);
                        }
                        VfioClient.Unmapped u = c.unmapDma(a, iova, 64 << 10);
                        if (u.ret() != 0 || u.size() != 64 << 10) {
                            throw new AssertionError("churn UNMAP_DMA at IOVA 0x" + Long.toHexString(iova) + ": " + u);
                        }
                        ops.incrementAndGet();
                        Thread.sleep(0, 200_000);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Throwable t) {
                    churnFailure.set(t);
                }
            }, "snapshot-churn");
            churn.start();
            try {
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> ops.get() >= 50 || churnFailure.get() != null || !churn.isAlive());
                failOnChurn(churnFailure);
                Path dest = tmp.resolve("live-snap");
                Cli.Result r = Cli.run("snapshot", live, dest, "--json");
                assertEquals(0, r.exit(), r::toString);
                assertTrue(r.json().path("sourceHeld").asBoolean());
                Cli.Result v = Cli.run("verify", dest, "--json");
                Set<String> structural = Set.of("header", "encoding", "outside-file", "cross-domain", "header-page",
                        "free-page", "cycle", "shared-table", "leaked-page", "bitmap", "root");
                for (JsonNode f : v.json().path("findings")) {
                    assertFalse(f.path("severity").asText().equals("error") && structural.contains(f.path("kind").asText()),
                            "a torn copy: " + f + "\n" + v);
                }
                Cli.Result w = Cli.run("walk", dest, "--device", "00:01.0", "--iova-range", "0-8M", "--json");
                assertEquals(0, w.exit(), w::toString);
                assertEquals(8L << 20, w.json().path("summary").path("mappedBytes").asLong());
            } finally {
                stop.set(true);
                churn.join(Duration.ofSeconds(30).toMillis());
            }
            assertFalse(churn.isAlive(), "the churn thread did not stop");
            failOnChurn(churnFailure);
        }
        assertTrue(ops.get() > 50, "the churn ran all along: " + ops.get() + " map/unmap pairs");
    }

    private static void failOnChurn(AtomicReference<Throwable> failure) {
        Throwable t = failure.get();
        if (t != null) {
            fail("the churn thread failed: " + t, t);
        }
    }
}
