package org.pkstore.vfio;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.persist.PersistentStores;
import org.pkstore.persist.PkernfsMount;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Systematic crash-point enumeration (issue 11), in the spirit of SQLite's crash tests and
 * CrashMonkey: every store to persistent state passes {@link PersistentStores#store}; an uncrashed
 * run of {@link CrashWorkload} counts them (S); then for every N in 0..S the workload runs again on
 * a fresh copy of the base mount and dies right after store N (the mount abandoned as SIGKILL
 * leaves it), a fresh kernel boots on it (recovery) and {@link CrashInvariants} are checked:
 * acknowledged steps present, the interrupted step entirely present or absent (the recovered
 * logical state equals the uncrashed run's state before or after it), VMIDs/PASIDs neither
 * duplicated nor orphaned, registries consistent with each other and the device table, no page
 * reachable twice, no leak, the device translating every mapped IOVA, and a second recovery
 * changing nothing. Then the same with a death inside the recovering boot (after its store M).
 */
class CrashPointEnumerationTest {
    @TempDir
    Path tmp;

    /** One broken invariant after one crash (N, and M inside recovery, or -1). */
    record Violation(long n, long m, String step, PersistentStores.Kind kind, String location, String invariant) {
        @Override
        public String toString() {
            return "N=" + n + (m >= 0 ? " M=" + m : "") + " step " + step + " (" + kind + " at " + location + "): " + invariant;
        }
    }

    /** What one enumeration found. */
    static final class Outcome {
        long stores;
        long crashPoints;
        long recoveries;
        long maxRecoveryMillis;
        final Map<PersistentStores.Kind, Long> storesByKind = new EnumMap<>(PersistentStores.Kind.class);
        final List<Violation> violations = new ArrayList<>();

        String summary(String name) {
            Map<String, Long> byInvariant = new TreeMap<>();
            Map<String, Long> byStep = new TreeMap<>();
            for (Violation v : violations) {
                byInvariant.merge(v.invariant().substring(0, v.invariant().indexOf(':')), 1L, Long::sum);
                byStep.merge(v.step(), 1L, Long::sum);
            }
            return name + ": " + stores + " stores " + storesByKind + ", " + crashPoints + " crash points, " + recoveries
                    + " recoveries, largest recovery " + maxRecoveryMillis + " ms; " + violations.size()
                    + " violations by invariant " + byInvariant + ", by step " + byStep;
        }
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void everyStoreOfTheSmallWorkload() {
        Outcome o = enumerate(0, 10, 61, 3);
        System.out.println(o.summary("crash-point enumeration (small workload)"));
        o.violations.stream().limit(40).forEach(v -> System.out.println("  " + v));
        assertTrue(o.crashPoints > 100, "the workload makes stores to enumerate: " + o.stores);
        assertEquals(List.of(), o.violations, "violations after a death at some store (every step is enforced)");
    }

    @Test
    @Tag("soak")
    @Timeout(value = 120, unit = TimeUnit.MINUTES)
    void everyStoreOfALargerWorkloadAndSampledRecoveryStores() {
        Outcome o = enumerate(24, 5, 11, 2);
        System.out.println(o.summary("crash-point enumeration (larger workload, every 11th N x every 2nd M)"));
        o.violations.stream().limit(200).forEach(v -> System.out.println("  " + v));
        assertEquals(List.of(), o.violations, "violations after a death at some store (every step is enforced)");
    }

    /**
     * Enumerates every N of a workload with {@code extraMaps} more maps; for every
     * {@code recoveryStride}-th N also every M of the recovering boot.
     */
    Outcome enumerate(int extraMaps, int secondRecoveryStride, int recoveryCrashStride, int recoveryStoreStride) {
        Path base = tmp.resolve("base");
        CrashWorkload first = new CrashWorkload(base, extraMaps);
        first.boot();
        first.kernel.close();
        first.mount.close();

        // the uncrashed run: stores per step, and the logical state after each step
        CrashWorkload counting = new CrashWorkload(copy(base, "count"), extraMaps);
        List<CrashWorkload.Step> steps = counting.steps();
        long[] storesAfter = new long[steps.size()];
        String[] stateAfter = new String[steps.size() + 1];
        stateAfter[0] = null;
        Outcome o = new Outcome();
        PersistentStores.count();
        String previous = "";
        for (int i = 0; i < steps.size(); i++) {
            steps.get(i).action().run(counting);
            storesAfter[i] = PersistentStores.counted();
            if (counting.mount != null && !counting.kernel.isClosed()) {
                previous = CrashInvariants.logicalState(counting.mount.registries());
            }
            stateAfter[i + 1] = previous;
        }
        o.stores = PersistentStores.counted();
        o.storesByKind.putAll(PersistentStores.countedByKind());
        PersistentStores.disarm();
        System.out.println("crash-point enumeration: " + o.stores + " stores in " + steps.size() + " steps " + o.storesByKind);
        // the crash points per operation (stores each step makes, summed over the steps of one name)
        Map<String, Long> perStep = new java.util.LinkedHashMap<>();
        for (int i = 0; i < steps.size(); i++) {
            perStep.merge(steps.get(i).name(), storesAfter[i] - (i == 0 ? 0 : storesAfter[i - 1]), Long::sum);
        }
        System.out.println("crash points per operation: " + perStep);
        // record mode makes no durable change: not one store from the record-mode boot to the catch-up
        int recordBoot = -1;
        for (int i = 0; i < steps.size(); i++) {
            if (steps.get(i).name().equals(CrashWorkload.RECORD_BOOT)) {
                recordBoot = i;
            }
        }
        int catchUp = recordBoot;
        while (!steps.get(catchUp).name().equals(CrashWorkload.CATCH_UP)) {
            catchUp++;
        }
        assertEquals(0, storesAfter[catchUp - 1] - storesAfter[recordBoot],
                "stores made by the reattach served in record mode (steps " + (recordBoot + 1) + ".." + (catchUp - 1) + ")");
        assertTrue(storesAfter[catchUp] > storesAfter[catchUp - 1], "the catch-up writes the reattach's records");
        List<String> clean = CrashInvariants.check(counting.mount, counting.topology);
        assertEquals(List.of(), clean, "invariants of the uncrashed run");
        counting.die();
        stateAfter[0] = logicalStateOf(base);

        // -Dpkstore.crashpoint=N reruns one crash point (and its recovery crashes) to reproduce a violation
        // (or -Dpkstore.crashpoint=A-B a range of them)
        String[] range = System.getProperty("pkstore.crashpoint", "").split("-");
        long only = range[0].isEmpty() ? -1 : Long.parseLong(range[0]);
        long last = only < 0 ? o.stores : range.length > 1 ? Long.parseLong(range[1]) : only;
        for (long n = Math.max(0, only); n <= last; n++) {
            CrashWorkload w = new CrashWorkload(copy(base, "n" + n), extraMaps);
            Death d = runUntilDeath(w, n);
            o.crashPoints++;
            recoverAndCheck(o, w, n, -1, d, stateAfter, n % secondRecoveryStride == 0);
            deleteTree(w.dir);
            if (n % 50 == 0) {
                System.out.println("  N=" + n + "/" + o.stores + ": " + o.recoveries + " recoveries, " + o.violations.size()
                        + " violations, largest recovery " + o.maxRecoveryMillis + " ms");
            }
            if (n % recoveryCrashStride != 0 && only < 0) {
                continue;
            }
            for (long m = 0; ; m += recoveryStoreStride) {
                // the same death again (the workload is deterministic), then a death inside its recovery
                CrashWorkload r = new CrashWorkload(copy(base, "n" + n + "m" + m), extraMaps);
                runUntilDeath(r, n);
                PersistentStores.dieAfter(m);
                boolean died = false;
                try {
                    r.boot();
                } catch (PersistentStores.StoreCrash c) {
                    died = true;
                }
                PersistentStores.disarm();
                r.die();
                if (died) {
                    o.crashPoints++;
                    recoverAndCheck(o, r, n, m, d, stateAfter, true);
                }
                deleteTree(r.dir);
                if (!died) {
                    break; // the recovery finished within m stores: every M is covered
                }
            }
        }
        return o;
    }

    /** Where a run died: the step index (steps.size() when it did not), and the store it did not make. */
    record Death(int step, String stepName, PersistentStores.Kind kind, String location) {}

    private static Death runUntilDeath(CrashWorkload w, long n) {
        List<CrashWorkload.Step> run = w.steps();
        PersistentStores.dieAfter(n);
        try {
            for (int i = 0; i < run.size(); i++) {
                try {
                    run.get(i).action().run(w);
                } catch (PersistentStores.StoreCrash c) {
                    return new Death(i, run.get(i).name(), c.kind(), c.location());
                }
            }
            return new Death(run.size(), "(end)", null, "-");
        } finally {
            PersistentStores.disarm();
            w.die();
        }
    }

    /** Recovery on a crashed mount, then every invariant (and, with {@code twice}, a second recovery). */
    private void recoverAndCheck(Outcome o, CrashWorkload w, long n, long m, Death d, String[] stateAfter, boolean twice) {
        String stateBefore = stateAfter[d.step()];
        String stateAfterStep = stateAfter[Math.min(d.step() + 1, stateAfter.length - 1)];
        List<String> broken = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            w.boot();
        } catch (RuntimeException e) {
            broken.add("recovers: boot failed: " + e);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        o.recoveries++;
        o.maxRecoveryMillis = Math.max(o.maxRecoveryMillis, ms);
        if (w.mount != null && w.kernel != null) {
            broken.addAll(CrashInvariants.check(w.mount, w.topology));
            String state = CrashInvariants.logicalState(w.mount.registries());
            if (!state.equals(stateBefore) && !state.equals(stateAfterStep)) {
                broken.add("all-or-nothing: recovered state is neither before nor after the step; against before:\n"
                        + diff(state, stateBefore) + "    against after:\n" + diff(state, stateAfterStep));
            }
            boolean live = true;
            if (twice) {
                String h1 = CrashInvariants.stateHash(w.mount);
                w.die();
                try {
                    w.boot();
                    o.recoveries++;
                    String h2 = CrashInvariants.stateHash(w.mount);
                    if (!h1.equals(h2)) {
                        broken.add("second-recovery: a second recovery changed the tables or registries");
                    }
                } catch (RuntimeException e) {
                    broken.add("second-recovery: boot failed: " + e);
                    live = false;
                }
            }
            if (live) {
                broken.addAll(reattach(w));
            }
        }
        w.die();
        for (String b : broken) {
            o.violations.add(new Violation(n, m, d.stepName(), d.kind(), d.location(), b));
        }
    }

    /**
     * The VMM comes back after the recovery: when the device still has a present entry (a preserved
     * domain), reattaching its container to the preserved table file must write no device-table
     * word (the entry is already right; never taken down to be rewritten), and leave every invariant.
     */
    private static List<String> reattach(CrashWorkload w) {
        List<String> broken = new ArrayList<>();
        VfioKernel k = w.kernel;
        DeviceTableReader.DeviceView before = k.unit(0).deviceTable().reader().view(CrashWorkload.DEV1);
        if (!before.present() || !Files.exists(w.mount.pageTablePath("vm1"))) {
            return broken;
        }
        long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
        int c = k.openContainer();
        int g = k.openGroup(1);
        int f = k.openPageTableFile("vm1", false);
        long r1 = k.ioctl(g, VfioKernel.VFIO_GROUP_SET_CONTAINER, CrashWorkload.s32(c));
        long r2 = k.ioctl(c, VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, CrashWorkload.s32(f));
        long r3 = k.ioctl(c, VfioKernel.VFIO_SET_IOMMU, CrashWorkload.NESTING);
        if (r1 != 0 || r2 != 0 || r3 != 0) {
            broken.add("reattach: GROUP_SET_CONTAINER " + r1 + ", SET_PERSISTENT_PGTABLES " + r2 + ", SET_IOMMU " + r3);
            return broken;
        }
        long written = k.unit(0).deviceTable().file().descriptorWrites() - hw0;
        if (written != 0) {
            broken.add("reattach-writes: reattach to the preserved domain wrote " + written + " device-table words");
        }
        for (String b : CrashInvariants.check(w.mount, w.topology)) {
            broken.add("after-reattach " + b);
        }
        return broken;
    }

    private static String diff(String got, String expected) {
        List<String> g = List.of(got.split("\n"));
        List<String> e = List.of(expected.split("\n"));
        StringBuilder sb = new StringBuilder();
        g.stream().filter(l -> !e.contains(l)).forEach(l -> sb.append("    + ").append(l).append('\n'));
        e.stream().filter(l -> !g.contains(l)).forEach(l -> sb.append("    - ").append(l).append('\n'));
        return sb.toString();
    }

    private String logicalStateOf(Path base) {
        Path d = copy(base, "state");
        PkernfsMount m = PkernfsMount.mountReadWrite(d);
        try {
            return CrashInvariants.logicalState(m.registries());
        } finally {
            m.close();
            deleteTree(d);
        }
    }

    private Path copy(Path from, String name) {
        Path to = tmp.resolve(name);
        deleteTree(to);
        copyTree(from, to);
        return to;
    }

    /** Copies a mount directory with cp, keeping the sparse table files sparse. */
    static void copyTree(Path from, Path to) {
        try {
            Process p = new ProcessBuilder("cp", "-r", "--sparse=always", from.toString(), to.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException("cp " + from + " " + to + ": " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
