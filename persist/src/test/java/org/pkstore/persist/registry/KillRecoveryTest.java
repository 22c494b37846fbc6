package org.pkstore.persist.registry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.ChildJvm;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The multi-JVM kill tests: a child JVM mounts read-write and works, acknowledging each completed
 * step; the test SIGKILLs it and checks that a new mount recovers quickly and has every
 * acknowledged step.
 */
class KillRecoveryTest {
    @TempDir
    Path tmp;

    private final List<ChildJvm> children = new ArrayList<>();

    @AfterEach
    void killChildren() {
        children.forEach(ChildJvm::close);
    }

    private ChildJvm child(String prefix, String... args) {
        ChildJvm c = ChildJvm.start(tmp.resolve("child"), prefix, CrashChild.class, args);
        children.add(c);
        return c;
    }

    /** Mounts after the kill, checks recovery, the acknowledged steps and the sweep. */
    private void recoverAndVerify(Path dir, List<String> stepAcks, String context) {
        recoverAndVerify(dir, stepAcks, context, m -> { });
    }

    private void recoverAndVerify(Path dir, List<String> stepAcks, String context, Consumer<PkernfsMount> first) {
        long t0 = System.nanoTime();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            long mountMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(m.recovering(), context + ": the killed writer's mount must be seen as unclean");
            assertTrue(mountMillis < 20_000, context + ": recovering mount took " + mountMillis + " ms");
            first.accept(m);
            PageTableFile f = Workload.table(m);
            assertEquals(0, f.mutationSeq() & 1, context + ": the recovering writer evens the mutation sequence");
            Workload.verify(m, f, stepAcks);

            // nothing beyond the step in flight when the child died
            long lastAcked = stepAcks.isEmpty() ? 0 : Workload.parse(stepAcks.get(stepAcks.size() - 1))[0];
            for (long k : m.registries().containers.keys()) {
                assertTrue(k >= 1 && k <= lastAcked + 1, context + ": unexpected container key " + k);
            }

            // the sweep: at most the one page of the step in flight can be allocated but unreachable
            BitSet reachable = Workload.reachable(f);
            long reclaimed = f.reclaimUnreachable(reachable);
            assertTrue(reclaimed <= 1, context + ": reclaimed " + reclaimed + " pages");
            assertEquals(reachable.cardinality(), f.allocatedTablePages(), context + ": allocated after the sweep");

            // and the recovered mount is usable
            long next = lastAcked + 2;
            long pa = Workload.step(m, f, next);
            Workload.verify(m, f, List.of(next + " " + pa));
            System.out.println(context + ": recovering mount " + mountMillis + " ms (registries "
                    + m.registryRecoveryMillis() + " ms), " + stepAcks.size() + " steps acknowledged, "
                    + reclaimed + " page(s) reclaimed");
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering(), context + ": after a clean unmount");
        }
    }

    @Test
    void killAfterAcknowledgedSteps() {
        Path dir = tmp.resolve("mnt");
        int n = 40;
        ChildJvm c = child("steps", "steps", dir.toString(), Integer.toString(n));
        c.awaitAck("done", ChildJvm.START_TIMEOUT);
        List<String> acks = Workload.stepAcks(c.acks());
        assertEquals(n, acks.size());
        c.kill();
        recoverAndVerify(dir, acks, "kill after " + n + " steps");
    }

    @Test
    void killAtARandomMomentDuringAPutLoop() {
        long seed = Long.getLong("pkstore.seed", System.nanoTime());
        System.out.println("killAtARandomMomentDuringAPutLoop seed=" + seed + " (rerun with -Dpkstore.seed=" + seed + ")");
        Random rnd = new Random(seed);
        Path dir = tmp.resolve("mnt");
        int n = 20 + rnd.nextInt(2000);
        ChildJvm c = child("loop", "steps", dir.toString(), "0");
        c.awaitAcks(n, ChildJvm.START_TIMEOUT);
        c.kill();
        List<String> acks = Workload.stepAcks(c.acks());
        assertTrue(acks.size() >= n);
        recoverAndVerify(dir, acks, "seed " + seed + ": kill after >= " + n + " steps (" + acks.size() + " acknowledged)");
    }

    @Test
    void killWhileHoldingAChronicleSegmentWriteLock() {
        Path dir = tmp.resolve("mnt");
        int n = 10;
        ChildJvm c = child("holdlock", "holdlock", dir.toString(), Integer.toString(n));
        c.awaitAck("locked", ChildJvm.START_TIMEOUT);
        List<String> acks = Workload.stepAcks(c.acks());
        assertEquals(n, acks.size());
        c.kill();
        long pa1 = Workload.parse(acks.get(0))[1];

        // Chronicle would block 60 s on the lock the dead child left held; recovery must clear it
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            // an observer first: it reads a private recovered copy and never touches the live lock
            try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
                assertTrue(ro.recovering());
                assertEquals(Workload.container(1, pa1), ro.registries().containers.get(1));
            }
            recoverAndVerify(dir, acks, "kill while holding a segment write lock", m -> {
                assertEquals(Workload.container(1, pa1), m.registries().containers.get(1));
                ContainerRecord changed = new ContainerRecord(1, 2, 3, "changed", 4, 5, 6);
                m.registries().containers.put(1, changed);
                assertEquals(changed, m.registries().containers.get(1));
                m.registries().containers.put(1, Workload.container(1, pa1));
                assertEquals(Workload.container(1, pa1), m.registries().containers.get(1));
            });
        }, "mount + put + get on the key whose segment lock the killed child held");
    }

    @Test
    void pendingIntentAfterAKillBetweenBeginAndEnd() {
        Path dir = tmp.resolve("mnt");
        ChildJvm c = child("journal", "journal", dir.toString());
        List<String> acks = c.awaitAcks(1, ChildJvm.START_TIMEOUT);
        long seq = Long.parseLong(acks.get(0).split(" ")[1]);
        c.kill();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.recovering());
            var intent = m.journal().pending();
            assertEquals(seq, intent.seq());
            assertEquals(CrashChild.JOURNAL_OP, intent.op());
            assertEquals(CrashChild.JOURNAL_PAYLOAD, new String(intent.payload(), java.nio.charset.StandardCharsets.UTF_8));
            m.journal().end();
            assertNull(m.journal().pending());
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering());
            assertNull(m.journal().pending());
            assertEquals(seq, m.journal().sequence());
        }
    }
}
