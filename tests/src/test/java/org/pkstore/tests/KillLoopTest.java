package org.pkstore.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.Check;
import org.pkstore.rehearse.KexecPhase;
import org.pkstore.rehearse.Rehearsal;
import org.pkstore.rehearse.RehearsalException;
import org.pkstore.rehearse.RehearsalOptions;
import org.pkstore.rehearse.StrategyOption;
import org.pkstore.vfio.trace.KexecKind;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in real-kill loop (profile {@code kill-loop}: {@code mvn -B verify -Dkillloop}, count
 * {@code -Dkillloop.kills=N}, default 500; docs/LIVE-UPDATE.md "Real kills"): host JVMs SIGKILLed
 * beside a device JVM doing DMA, at random instants of MAP_DMA/UNMAP_DMA churn and at every named
 * kill point of {@link RehearsalOptions#KILL_POINTS} (inside MAP_DMA/UNMAP_DMA, SET_IOMMU and
 * GROUP_SET_CONTAINER of a further VM, a hotswap, and the recovering boot itself, killed up to 3
 * times in a row). Rehearsals of up to {@value #KEXECS_PER_REHEARSAL} crash kexecs each, on a
 * fresh mount each, until the kill count is reached. After every recovery the rehearsal checks:
 * every acknowledged op present (acknowledgements logged by the harness in {@code logs/acks.log}),
 * the one in flight entirely present or absent, {@code pkstore verify} exit 0, reattach writes 0
 * descriptors, the device sees no fault; this test adds the bound on every recovery's time and
 * prints a summary table.
 */
@Tag("kill-loop")
@Timeout(value = 8, unit = TimeUnit.HOURS) // 500 kills take tens of minutes idle, hours on a loaded machine
class KillLoopTest {
    static final int KEXECS_PER_REHEARSAL = 25;
    static final double RECOVERY_LIMIT_MS = 5000;

    /** What the loop saw at one kill point. */
    static final class PointTally {
        int kexecs;
        int kills;
        int recoveringBootsReached;
        int recoveringBootsCompletedFirst;
        final List<String> violations = new ArrayList<>();
    }

    @Test
    void hostsKilledAtEveryPointRecoverWithNothingLostOrTornAndTheDeviceNeverFaults(@TempDir Path dir)
            throws Exception {
        int target = Integer.getInteger("killloop.kills", 500);
        long seed = Long.getLong("killloop.seed", System.nanoTime());
        IommuDriver driver = IommuDriver.byConfigName(System.getProperty("killloop.driver", "vtd"));
        System.out.println("kill loop: " + target + " kills, seed " + seed + ", driver " + driver.configName()
                + " (rerun with -Dkillloop.seed to replay the points)");
        Map<String, PointTally> byPoint = new TreeMap<>();
        for (String p : RehearsalOptions.KILL_POINTS) {
            byPoint.put(p, new PointTally());
        }
        List<Double> recoveryMs = new ArrayList<>();
        List<Double> registryMs = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        int kills = 0;
        long acks = 0;
        long dmas = 0;
        long deviceFaults = 0;
        int verifies = 0;
        int rehearsals = 0;
        while (kills < target) {
            int kexecs = Math.min(KEXECS_PER_REHEARSAL, target - kills);
            Path work = dir.resolve("rehearsal-" + rehearsals);
            List<KexecKind> crashes = Collections.nCopies(kexecs, KexecKind.CRASH);
            RehearsalOptions o = new RehearsalOptions(work, driver, crashes, StrategyOption.ADOPT,
                    LiveUpdateRehearsalTest.smallPlan(), seed + rehearsals, 4, RehearsalOptions.KILL_POINTS, 3);
            Rehearsal r = new Rehearsal(o, new PrintWriter(System.out, true));
            try {
                r.run();
            } catch (RehearsalException e) {
                violations.add("rehearsal " + rehearsals + " (seed " + (seed + rehearsals) + ") stopped: " + e.getMessage());
            }
            for (Check c : r.checks()) {
                if (!c.passed()) {
                    violations.add("rehearsal " + rehearsals + " " + c.phase() + ": " + c.name() + ": " + c.detail());
                }
            }
            List<KexecPhase> phases = r.report().kexecs();
            for (int i = 0; i < phases.size(); i++) {
                KexecPhase p = phases.get(i);
                if (p.killPoint() == null) {
                    continue;
                }
                String point = p.killPoint().split("[ ,]")[0];
                PointTally t = byPoint.computeIfAbsent(point, k -> new PointTally());
                int recoveryKills = p.recoveryKills() == null ? 0 : p.recoveryKills().size();
                t.kexecs++;
                t.kills += 1 + recoveryKills;
                kills += 1 + recoveryKills;
                if (p.recoveryKills() != null) {
                    p.recoveryKills().forEach(k -> {
                        if (k.reached()) {
                            t.recoveringBootsReached++;
                        } else {
                            t.recoveringBootsCompletedFirst++;
                        }
                    });
                }
                if (p.recoveryMs() != null) {
                    recoveryMs.add(p.recoveryMs());
                    registryMs.add((double) p.boot().registryRecoveryMs());
                    if (p.recoveryMs() > RECOVERY_LIMIT_MS) {
                        violations.add("rehearsal " + rehearsals + " kexec " + (i + 1) + " at " + point
                                + ": recovery took " + p.recoveryMs() + " ms");
                    }
                }
                if (p.verifyExit() != null) {
                    verifies++;
                }
                String prefix = "kexec " + (i + 1) + " ";
                for (Check c : r.checks()) {
                    if (!c.passed() && c.phase().startsWith(prefix)) {
                        t.violations.add(c.name());
                    }
                }
            }
            acks += countAcks(work);
            if (r.report().device() != null) {
                dmas += r.report().device().translations();
                deviceFaults += r.report().device().faults();
            }
            rehearsals++;
            if (phases.isEmpty()) {
                break; // a rehearsal that cannot even start kexecs will not do better next time
            }
        }
        printSummary(byPoint, recoveryMs, registryMs, kills, rehearsals, acks, dmas, deviceFaults, verifies);
        assertTrue(kills >= target, kills + " kills, fewer than " + target);
        for (Map.Entry<String, PointTally> e : byPoint.entrySet()) {
            assertTrue(target < RehearsalOptions.KILL_POINTS.size() * 2 || e.getValue().kexecs > 0,
                    "kill point " + e.getKey() + " never used");
        }
        assertEquals(0, deviceFaults, "the device faulted on a mapped IOVA");
        assertEquals(List.of(), violations, "seed " + seed + ": " + violations.size() + " violations");
    }

    /** Acknowledgements the harness logged and the rehearsal checked (comment lines are headers). */
    private static long countAcks(Path work) throws IOException {
        Path log = work.resolve("logs").resolve("acks.log");
        if (!Files.exists(log)) {
            return 0;
        }
        try (var lines = Files.lines(log)) {
            return lines.filter(l -> !l.startsWith("#") && !l.isBlank()).count();
        }
    }

    private static void printSummary(Map<String, PointTally> byPoint, List<Double> recoveryMs, List<Double> registryMs,
                                     int kills,
                                     int rehearsals, long acks, long dmas, long deviceFaults, int verifies) {
        StringBuilder sb = new StringBuilder("\nkill loop summary: ").append(kills).append(" SIGKILLs in ")
                .append(rehearsals).append(" rehearsals\n");
        sb.append(String.format("%-22s %7s %7s %9s %9s %10s%n", "kill point", "kexecs", "kills", "rec.hit",
                "rec.after", "violations"));
        for (Map.Entry<String, PointTally> e : byPoint.entrySet()) {
            PointTally t = e.getValue();
            sb.append(String.format("%-22s %7d %7d %9d %9d %10d%s%n", e.getKey(), t.kexecs, t.kills,
                    t.recoveringBootsReached, t.recoveringBootsCompletedFirst, t.violations.size(),
                    t.violations.isEmpty() ? "" : "  " + new TreeMap<>(countEach(t.violations))));
        }
        List<Double> sorted = new ArrayList<>(recoveryMs);
        Collections.sort(sorted);
        List<Double> registries = new ArrayList<>(registryMs);
        Collections.sort(registries);
        sb.append(String.format("recoveries %d (each followed by pkstore verify: %d), recovery ms (mount + kernel boot) "
                        + "median %.0f, p99 %.0f, max %.0f (limit %.0f); of it registry recovery median %.0f, p99 %.0f, "
                        + "max %.0f%n", sorted.size(), verifies, percentile(sorted, 50), percentile(sorted, 99),
                max(sorted), RECOVERY_LIMIT_MS, percentile(registries, 50), percentile(registries, 99), max(registries)));
        sb.append(String.format("acknowledged ops checked %d; device DMAs %d, faults on mapped IOVAs %d%n", acks, dmas,
                deviceFaults));
        sb.append("rec.hit: recovering boots killed at their named step (or random instant); rec.after: the boot completed "
                + "before the step and was killed after it\n");
        System.out.println(sb);
    }

    private static Map<String, Integer> countEach(List<String> names) {
        Map<String, Integer> out = new TreeMap<>();
        names.forEach(n -> out.merge(n, 1, Integer::sum));
        return out;
    }

    private static double max(List<Double> sorted) {
        return sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1);
    }

    /** Nearest-rank percentile of a sorted list. */
    static double percentile(List<Double> sorted, double pct) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int rank = (int) Math.ceil(pct / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }
}
