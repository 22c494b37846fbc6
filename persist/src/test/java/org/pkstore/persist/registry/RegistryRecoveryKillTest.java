package org.pkstore.persist.registry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.ChildJvm;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kill at any point of registry creation and of the recovering boot (Chronicle Map's own
 * recovery included) leaves a mount that the next boot recovers in bounded time, with every
 * acknowledged entry, and a second recovery changes nothing (docs/FORMAT.md, 8.2). Child JVMs are
 * parked at a {@link Registry.OpenStep} (or caught by a file appearing) and SIGKILLed there.
 */
class RegistryRecoveryKillTest {
    /** Far above what recovery takes (well under a second warm), far below Chronicle's 60 s wait. */
    private static final long RECOVERY_LIMIT_MILLIS = 10_000;

    @TempDir
    Path tmp;

    private final List<ChildJvm> children = new ArrayList<>();

    @BeforeAll
    static void warmUpChronicle(@TempDir Path scratch) throws IOException {
        // the first map a JVM opens compiles code for seconds: keep that out of the recovery times
        CrashChild.warmUp(scratch.resolve("mnt"));
    }

    @AfterEach
    void killChildren() {
        children.forEach(ChildJvm::close);
    }

    private ChildJvm child(String prefix, String... args) {
        ChildJvm c = ChildJvm.start(tmp.resolve("child"), prefix, CrashChild.class, args);
        children.add(c);
        return c;
    }

    /** A writer that did {@code n} acknowledged steps, then (if asked) holds a segment lock, SIGKILLed. */
    private List<String> killedWriter(Path dir, int n, boolean holdLock) {
        ChildJvm c = child("writer", holdLock ? "holdlock" : "steps", dir.toString(), Integer.toString(n));
        c.awaitAck(holdLock ? "locked" : "done", ChildJvm.START_TIMEOUT);
        c.kill();
        List<String> acks = Workload.stepAcks(c.acks());
        assertEquals(n, acks.size());
        return acks;
    }

    /** A recovering (or first) boot parked at {@code step} on {@code fileName}, SIGKILLed there; returns its ack. */
    private String killedBootAt(Path dir, Registry.OpenStep step, String fileName) {
        ChildJvm c = child("boot-" + step + "-" + fileName, "stop-at", dir.toString(), step.name(), fileName);
        String at = await("boot to reach " + step + " on " + fileName)
                .atMost(ChildJvm.START_TIMEOUT)
                .pollInterval(Duration.ofMillis(10))
                .until(() -> {
                    String line = c.acks().stream().filter(a -> !a.equals("mounting")).findFirst().orElse(null);
                    if (line == null && !c.process().isAlive()) {
                        throw new AssertionError("the boot died: " + c.describe());
                    }
                    return line;
                }, line -> line != null);
        c.kill();
        assertTrue(at.startsWith("at " + step + " "), "the boot did not stop at " + step + ": " + c.describe());
        long bootMillis = Long.parseLong(at.substring(at.lastIndexOf(' ') + 1));
        assertTrue(bootMillis < RECOVERY_LIMIT_MILLIS, "the killed boot took " + bootMillis + " ms to reach " + step);
        return at;
    }

    @Test
    void killsInsideRegistryCreationLeaveAMountTheNextBootOpensAtOnce() {
        Path dir = tmp.resolve("mnt");
        List<String> evidence = new ArrayList<>();

        // inside Chronicle's own creation of the first registry: header written with NOT_COMPLETE set,
        // data area being zeroed (about 100 ms; before it the cold JVM compiles for seconds)
        ChildJvm first = child("first-boot", "stop-at", dir.toString(), "CREATED", "never", "cold");
        Path creating = Registry.creatingPath(Registries.fileOf(dir, "containers"));
        await("containers.cmap.creating to have a NOT_COMPLETE header").atMost(ChildJvm.START_TIMEOUT)
                .pollInterval(Duration.ofMillis(1))
                .until(() -> {
                    if (!first.process().isAlive()) {
                        throw new AssertionError("the first boot died: " + first.describe());
                    }
                    if (Files.exists(Registries.fileOf(dir, "containers"))) {
                        throw new AssertionError("containers.cmap was created before a poll saw it NOT_COMPLETE");
                    }
                    try {
                        return ChronicleMapFileHeader.sizeWord(creating) < 0;
                    } catch (IOException absentOrRenamed) {
                        return false;
                    }
                });
        first.kill();
        evidence.add("killed in Chronicle's creation: " + registryFiles(dir));
        assertFalse(Files.exists(Registries.fileOf(dir, "containers")), "the live name never holds a creation");

        // registries are opened in order: containers, groups, domains, vmids, ..., dma
        evidence.add(killedBootAt(dir, Registry.OpenStep.CREATE_PUBLISHED, "vmids.cmap") + ": " + registryFiles(dir));
        assertFalse(Files.exists(Registries.fileOf(dir, "pasids")));
        evidence.add(killedBootAt(dir, Registry.OpenStep.CREATED, "dma.cmap.creating") + ": " + registryFiles(dir));
        assertFalse(Files.exists(Registries.fileOf(dir, "dma")));

        recoverTwiceAndVerify(dir, List.of(), "kills inside creation", evidence);
    }

    @Test
    void killsAtEveryStepOfARecoveryLeaveAMountTheNextBootRecoversAtOnce() {
        Path dir = tmp.resolve("mnt");
        // the dead writer holds the write lock of a containers segment: Chronicle recovery repairs it
        List<String> acks = killedWriter(dir, 40, true);
        List<String> evidence = new ArrayList<>();
        Path live = Registries.fileOf(dir, "containers");
        Path recovering = Registry.recoveringPath(live);
        for (Registry.OpenStep step : new Registry.OpenStep[] {Registry.OpenStep.COPIED, Registry.OpenStep.RECOVERING,
                Registry.OpenStep.RECOVERED, Registry.OpenStep.RECOVERY_PUBLISHED}) {
            String file = step == Registry.OpenStep.RECOVERY_PUBLISHED ? "containers.cmap" : "containers.cmap.recovering";
            evidence.add(killedBootAt(dir, step, file) + ": " + registryFiles(dir));
            if (step == Registry.OpenStep.RECOVERING) {
                assertFalse(ChronicleMapFileHeader.isComplete(sizeWord(recovering)),
                        "killed inside Chronicle's recovery: the copy is NOT_COMPLETE");
            }
            assertTrue(ChronicleMapFileHeader.isComplete(sizeWord(live)), "the live file is never left NOT_COMPLETE");
        }
        recoverTwiceAndVerify(dir, acks, "kills at every step of a recovery", evidence);
    }

    @Test
    void aLiveFileLeftNotCompleteByAnInPlaceRecoveryIsRecoveredWithoutWaiting() {
        // what earlier versions left: a boot killed inside Chronicle's in-place recovery (62 s stall after)
        Path dir = tmp.resolve("mnt");
        List<String> acks = killedWriter(dir, 40, true);
        ChildJvm legacy = child("legacy", "legacy-recover", dir.toString());
        List<String> repairing = legacy.awaitAcks(1, ChildJvm.START_TIMEOUT);
        assertTrue(repairing.get(0).startsWith("repairing "), repairing.toString());
        legacy.kill();
        Path live = Registries.fileOf(dir, "containers");
        int word = sizeWord(live);
        assertFalse(ChronicleMapFileHeader.isComplete(word), "the live file is NOT_COMPLETE: 0x" + Integer.toHexString(word));
        recoverTwiceAndVerify(dir, acks, "live file NOT_COMPLETE", List.of("size word 0x" + Integer.toHexString(word)));
    }

    /**
     * The opt-in crash loop: writers killed at random moments of their steps, then recovering boots
     * killed at a random step of the open path or at a random moment, several in a row, then the
     * checks. {@code -Dpkstore.registry.soak.rounds=N} (default 12).
     */
    @Tag("soak")
    @Test
    void soakRandomKillsDuringRecoveringBoots() {
        long seed = Long.getLong("pkstore.seed", System.nanoTime());
        int rounds = Integer.getInteger("pkstore.registry.soak.rounds", 12);
        System.out.println("soakRandomKillsDuringRecoveringBoots seed=" + seed + " rounds=" + rounds);
        Random rnd = new Random(seed);
        String[] names = {"containers", "groups", "domains", "vmids", "pasids", "bindings", "guest-stages", "faults", "dma"};
        Path dir = tmp.resolve("mnt");
        TreeMap<Long, String> acked = new TreeMap<>(); // step -> its latest acknowledgement
        long worst = 0;
        int kills = 0;
        // a first boot (cold JVM) killed at a random moment of creating the registries
        ChildJvm create = child("soak-first-boot", "stop-at", dir.toString(), "CREATED", "never", "cold");
        create.awaitAck("mounting", ChildJvm.START_TIMEOUT);
        long createDeadline = System.nanoTime() + rnd.nextInt(8000) * 1_000_000L;
        await().atMost(ChildJvm.START_TIMEOUT).pollInterval(Duration.ofMillis(2))
                .until(() -> System.nanoTime() > createDeadline || create.acks().size() > 1);
        create.kill();
        kills++;
        System.out.println("first boot killed: " + registryFiles(dir));
        for (int round = 0; round < rounds; round++) {
            // a writer doing steps 1, 2, ... again (new values over the old), killed at a random moment
            ChildJvm w = child("soak-writer-" + round, "steps", dir.toString(), "0");
            w.awaitAcks(1 + rnd.nextInt(300), ChildJvm.START_TIMEOUT);
            w.kill();
            kills++;
            List<String> acks = Workload.stepAcks(w.acks());
            acked.remove(acks.size() + 1L); // the step in flight may have half overwritten an older one
            for (String a : acks) {
                acked.put(Workload.parse(a)[0], a);
            }
            int bootKills = 1 + rnd.nextInt(3);
            for (int k = 0; k < bootKills; k++) {
                Registry.OpenStep[] steps = {Registry.OpenStep.COPIED, Registry.OpenStep.RECOVERING,
                        Registry.OpenStep.RECOVERED, Registry.OpenStep.RECOVERY_PUBLISHED};
                Registry.OpenStep step = steps[rnd.nextInt(steps.length)];
                String name = names[rnd.nextInt(names.length)] + ".cmap";
                String file = step == Registry.OpenStep.RECOVERY_PUBLISHED ? name : name + ".recovering";
                ChildJvm b = child("soak-boot-" + round + "-" + k, "stop-at", dir.toString(), step.name(), file);
                b.awaitAck("mounting", ChildJvm.START_TIMEOUT);
                // then a random moment of the recovering mount, or the step if it comes first
                long deadline = System.nanoTime() + rnd.nextInt(1500) * 1_000_000L;
                await().atMost(ChildJvm.START_TIMEOUT).pollInterval(Duration.ofMillis(2))
                        .until(() -> System.nanoTime() > deadline || b.acks().size() > 1);
                b.kill();
                kills++;
                List<String> bootAcks = b.acks();
                System.out.println("round " + round + " boot " + k + " killed " + (bootAcks.size() > 1
                        ? "after '" + bootAcks.get(1) + "'" : "while mounting (aimed at " + step + " " + file + ")")
                        + ", temporary files " + leftovers(dir));
            }
            long ms = recoverTwiceAndVerify(dir, new ArrayList<>(acked.values()),
                    "seed " + seed + " round " + round, List.of());
            worst = Math.max(worst, ms);
        }
        System.out.println("soak: " + kills + " kills, " + rounds + " verified recoveries, slowest recovering mount "
                + worst + " ms");
    }

    /**
     * Recovers in this JVM, checks time, acknowledged steps and leftovers; abandons the mount as a
     * kill would, recovers again and checks that the registries did not change; returns the first
     * recovering mount's milliseconds.
     */
    private long recoverTwiceAndVerify(Path dir, List<String> stepAcks, String context, List<String> evidence) {
        Map<String, Map<Long, String>> first;
        long firstMillis;
        long registryMillis;
        long t0 = System.nanoTime();
        PkernfsMount m = PkernfsMount.mountReadWrite(dir);
        try {
            firstMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(m.recovering(), context + ": unclean end expected");
            assertTrue(firstMillis < RECOVERY_LIMIT_MILLIS, context + ": recovering mount took " + firstMillis + " ms");
            assertEquals(List.of(), leftovers(dir), context + ": temporary registry files left");
            PageTableFile f = Workload.table(m);
            Workload.verify(m, f, stepAcks);
            long lastAcked = stepAcks.isEmpty() ? 0 : Workload.parse(stepAcks.get(stepAcks.size() - 1))[0];
            for (long k : m.registries().containers.keys()) {
                assertTrue(k >= 1 && k <= lastAcked + 1, context + ": unexpected container key " + k);
            }
            first = contents(m.registries());
            registryMillis = m.registryRecoveryMillis();
            // pages of overwritten or interrupted steps go back, as the boot sweep does
            f.reclaimUnreachable(Workload.reachable(f));
        } finally {
            m.abandon();
        }
        long secondMillis;
        t0 = System.nanoTime();
        try (PkernfsMount again = PkernfsMount.mountReadWrite(dir)) {
            secondMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(again.recovering(), context + ": the abandoned mount is unclean");
            assertTrue(secondMillis < RECOVERY_LIMIT_MILLIS, context + ": second recovery took " + secondMillis + " ms");
            assertEquals(first, contents(again.registries()), context + ": a second recovery changed the registries");
            // and it is usable: one more step, read back
            PageTableFile f = Workload.table(again);
            long next = stepAcks.size() + 1000L;
            long pa = Workload.step(again, f, next);
            Workload.verify(again, f, List.of(next + " " + pa));
            again.registries().containers.remove(next);
            again.registries().dmaMappings.remove(Workload.dmaKey(next));
        }
        System.out.println(context + ": recovering mount " + firstMillis + " ms (registries " + registryMillis
                + " ms), second recovery " + secondMillis
                + " ms, " + stepAcks.size() + " steps acknowledged and present" + (evidence.isEmpty() ? "" : "; killed:\n  "
                + String.join("\n  ", evidence)));
        return firstMillis;
    }

    /** Every registry's entries, key to raw bytes in hex. */
    private static Map<String, Map<Long, String>> contents(Registries r) {
        Map<String, Map<Long, String>> out = new LinkedHashMap<>();
        for (Registry<?> reg : List.of(r.containers, r.groups, r.domains, r.vmids, r.pasids, r.bindings, r.guestStages,
                r.faults, r.dmaMappings)) {
            Map<Long, String> entries = new TreeMap<>();
            reg.chronicleMap().forEach((k, v) -> entries.put(k, HexFormat.of().formatHex(v)));
            out.put(reg.name(), entries);
        }
        return out;
    }

    private static List<String> leftovers(Path dir) {
        try (var s = Files.list(dir.resolve(Registries.DIR))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(Registry.CREATING_SUFFIX) || n.endsWith(Registry.RECOVERING_SUFFIX))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The registry directory as a kill left it: each file with its length and Chronicle size word. */
    private static String registryFiles(Path dir) {
        if (!Files.isDirectory(dir.resolve(Registries.DIR))) {
            return "(no registry directory yet)";
        }
        try (var s = Files.list(dir.resolve(Registries.DIR))) {
            List<String> out = new ArrayList<>();
            for (Path p : s.sorted().toList()) {
                out.add(p.getFileName() + " " + Files.size(p) + " B word 0x" + Integer.toHexString(sizeWord(p)));
            }
            return String.join(", ", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int sizeWord(Path p) {
        try {
            return ChronicleMapFileHeader.sizeWord(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
