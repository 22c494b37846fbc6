package org.pkstore.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.rehearse.Check;
import org.pkstore.rehearse.Rehearsal;
import org.pkstore.rehearse.RehearsalOptions;
import org.pkstore.rehearse.RehearsalPlan;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

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

    static Rehearsal run(Path dir, String driver, List<String> kexecs, String strategy, List<String> killPoints,
                         long seed) throws Exception {
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

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> phases(Rehearsal r) {
        return (List<Map<String, Object>>) r.report().get("kexecs");
    }

    @Test
    void plannedKexecsAdoptThenHotswapWriteNothingAndKeepDmaFlowing(@TempDir Path dir) throws Exception {
        Rehearsal r = run(dir, "vtd", List.of("planned", "planned"), "compare", List.of("random"), System.nanoTime());
        assertTrue(r.passed(), failures(r));
        assertTrue(held(r, "kexec 1", "tables byte-identical after boot"));
        assertTrue(held(r, "kexec 1", "tables byte-identical after reattach"));
        assertTrue(held(r, "kexec 1", "reattach wrote 0 descriptors (domain attach)"));
        assertTrue(held(r, "kexec 1", "live-update MAP_DMA wrote 0 descriptors"));
        assertTrue(held(r, "kexec 2", "undelivered faults came back"));
        // the hotswap really built and switched to fresh tables: the device followed the new roots
        JsonNode hs = (JsonNode) phases(r).get(1).get("hotswap");
        assertEquals(2, hs.size());
        for (JsonNode h : hs) {
            assertTrue(h.get("descriptorsWritten").asLong() > 0, h.toString());
            assertTrue(h.get("oldPagesFreed").asLong() > 0, h.toString());
        }
        JsonNode device = (JsonNode) r.report().get("device");
        assertTrue(device.get("rootSwitches").asLong() >= 1, device.toString());
        assertEquals(0, device.get("faults").asLong());
        assertEquals(0, device.get("slotsLost").asLong());
    }

    @Test
    void crashKexecsAtNamedStepsAndRandomInstantsLoseNothingAndLeakNothing(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        Rehearsal r = run(dir, "vtd", List.of("crash", "crash", "crash", "crash"), "adopt",
                List.of("map:tables", "map:record", "unmap:tables", "random"), seed);
        assertTrue(r.passed(), "seed " + seed + ":\n" + failures(r));
        for (Map<String, Object> p : phases(r)) {
            JsonNode boot = (JsonNode) p.get("boot");
            assertTrue(boot.get("uncleanEnd").asBoolean(), "seed " + seed + ": " + p.get("killPoint"));
            assertTrue(p.get("killPoint") != null);
        }
        for (int i = 1; i <= 4; i++) {
            assertTrue(held(r, "kexec " + i, "DMA records consistent with tables (each op entirely present or absent)"),
                    "seed " + seed);
            assertTrue(held(r, "kexec " + i, "tables byte-identical after reattach"), "seed " + seed);
        }
    }

    @Test
    void smmuv3HostSurvivesPlannedAndCrashKexec(@TempDir Path dir) throws Exception {
        Rehearsal r = run(dir, "smmuv3", List.of("planned", "crash"), "adopt", List.of("map:record"), 42);
        assertTrue(r.passed(), failures(r));
        assertEquals("smmuv3", r.report().get("driver"));
    }
}
