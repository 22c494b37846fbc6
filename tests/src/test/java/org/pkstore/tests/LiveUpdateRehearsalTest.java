package org.pkstore.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.Check;
import org.pkstore.rehearse.KexecPhase;
import org.pkstore.rehearse.Rehearsal;
import org.pkstore.rehearse.RehearsalOptions;
import org.pkstore.rehearse.RehearsalPlan;
import org.pkstore.rehearse.StrategyOption;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.vfio.trace.KexecKind;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.pkstore.vfio.trace.KexecKind.CRASH;
import static org.pkstore.vfio.trace.KexecKind.PLANNED;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The live update end to end, in real processes: a host JVM is replaced by planned kexecs (clean
 * exit) and crash kexecs (SIGKILL at random instants and at named steps inside MAP_DMA and
 * UNMAP_DMA) while a device JVM does DMA through the preserved tables. Every claim is checked by
 * the rehearsal itself; these tests run it small and assert on its evidence.
 */
class LiveUpdateRehearsalTest {

    static RehearsalPlan smallPlan() {
        RehearsalPlan p = new RehearsalPlan();
        p.guestMemoryBytes = 2L << 30;
        p.smallMappings = 200;
        p.largeMappings = 20_000;
        return p;
    }

    static Rehearsal run(Path dir, IommuDriver driver, List<KexecKind> kexecs, StrategyOption strategy,
                         List<String> killPoints, long seed) throws Exception {
        System.out.println("rehearsal seed " + seed + " (rerun with the same seed to replay the kill points)");
        RehearsalOptions o = new RehearsalOptions(dir, driver, kexecs, strategy, smallPlan(), seed, 4,
                killPoints);
        Rehearsal r = new Rehearsal(o, new java.io.PrintWriter(System.out, true));
        r.run();
        return r;
    }

    static String failures(Rehearsal r) {
        return r.checks().stream().filter(c -> !c.passed()).map(Check::toString).collect(Collectors.joining("\n"));
    }

    static boolean held(Rehearsal r, String phasePrefix, String name) {
        return r.checks().stream().anyMatch(c -> c.phase().startsWith(phasePrefix) && c.name().equals(name) && c.passed());
    }

    static List<KexecPhase> phases(Rehearsal r) {
        return r.report().kexecs();
    }

    @Test
    void plannedKexecsAdoptThenHotswapWriteNothingAndKeepDmaFlowing(@TempDir Path dir) throws Exception {
        Rehearsal r = run(dir, IommuDriver.VTD, List.of(PLANNED, PLANNED), StrategyOption.COMPARE, List.of("random"),
                System.nanoTime());
        assertTrue(r.passed(), failures(r));
        assertTrue(held(r, "kexec 1", "boot wrote no descriptor"));
        assertTrue(held(r, "kexec 1", "tables byte-identical after reattach"));
        assertTrue(held(r, "kexec 1", "reattach wrote 0 descriptors (domain attach)"));
        assertTrue(held(r, "kexec 1", "live-update MAP_DMA wrote 0 descriptors"));
        assertTrue(held(r, "kexec 2", "undelivered faults came back"));
        // the hotswap really built and switched to fresh tables: the device followed the new roots
        List<HostReply.Hotswap> hs = phases(r).get(1).hotswap();
        assertEquals(2, hs.size());
        for (HostReply.Hotswap h : hs) {
            assertTrue(h.descriptorsWritten() > 0, h.toString());
            assertTrue(h.oldPagesFreed() > 0, h.toString());
        }
        DeviceStats device = r.report().device();
        assertTrue(device.rootSwitches() >= 1, device.toString());
        assertEquals(0, device.faults());
        assertEquals(0, device.slotsLost());
    }

    @Test
    void crashKexecsAtNamedStepsAndRandomInstantsLoseNothingAndLeakNothing(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        Rehearsal r = run(dir, IommuDriver.VTD, List.of(CRASH, CRASH, CRASH, CRASH), StrategyOption.ADOPT,
                List.of("map:tables", "map:record", "unmap:tables", "random"), seed);
        assertTrue(r.passed(), "seed " + seed + ":\n" + failures(r));
        for (KexecPhase p : phases(r)) {
            assertTrue(p.boot().uncleanEnd(), "seed " + seed + ": " + p.killPoint());
            assertTrue(p.killPoint() != null);
        }
        for (int i = 1; i <= 4; i++) {
            assertTrue(held(r, "kexec " + i, "DMA records consistent with tables (each op entirely present or absent)"),
                    "seed " + seed);
            assertTrue(held(r, "kexec " + i, "tables byte-identical after reattach"), "seed " + seed);
        }
    }

    @Test
    void killsInsideSetupHotswapAndTheRecoveringBootLoseNothingAndVerifyClean(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("rehearsal seed " + seed);
        RehearsalOptions o = new RehearsalOptions(dir, IommuDriver.VTD, List.of(CRASH, CRASH, CRASH),
                StrategyOption.ADOPT, smallPlan(), seed, 4,
                List.of("setiommu:domain", "hotswap:published", "recovery:published"), 2);
        Rehearsal r = new Rehearsal(o, new java.io.PrintWriter(System.out, true));
        r.run();
        assertTrue(r.passed(), "seed " + seed + ":\n" + failures(r));
        List<String> points = phases(r).stream().map(p -> p.killPoint().split(" ")[0]).sorted().toList();
        assertEquals(List.of("hotswap:published", "recovery:published", "setiommu:domain"), points,
                "each point once in a round of three");
        for (int i = 1; i <= 3; i++) {
            assertTrue(held(r, "kexec " + i, "pkstore verify exits 0 after recovery"), "seed " + seed);
            assertTrue(held(r, "kexec " + i, "reattach wrote 0 descriptors (domain attach)"), "seed " + seed);
        }
        KexecPhase recovery = phases(r).stream().filter(p -> p.killPoint().startsWith("recovery:")).findFirst()
                .orElseThrow();
        assertTrue(recovery.recoveryKills() != null && !recovery.recoveryKills().isEmpty(), recovery.toString());
        assertTrue(recovery.recoveryKills().size() <= 2, recovery.toString());
        assertTrue(held(r, phaseOf(r, "setiommu:domain"),
                "further VM: acknowledged steps present, the interrupted one entirely present or absent"));
        assertTrue(held(r, phaseOf(r, "recovery:published"),
                "every acknowledged churn op present, the one in flight all or nothing"));
    }

    /** The phase name ("kexec N ") of the kexec killed at {@code point}. */
    private static String phaseOf(Rehearsal r, String point) {
        List<KexecPhase> ps = phases(r);
        for (int i = 0; i < ps.size(); i++) {
            if (ps.get(i).killPoint().startsWith(point)) {
                return "kexec " + (i + 1) + " ";
            }
        }
        throw new AssertionError("no kexec killed at " + point);
    }

    @Test
    void smmuv3HostSurvivesPlannedAndCrashKexec(@TempDir Path dir) throws Exception {
        Rehearsal r = run(dir, IommuDriver.SMMUV3, List.of(PLANNED, CRASH), StrategyOption.ADOPT, List.of("map:record"),
                42);
        assertTrue(r.passed(), failures(r));
        assertEquals(IommuDriver.SMMUV3, r.report().driver());
    }
}
