package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.pkstore.cli.MountDomains;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.protocol.DeviceSeries;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.report.KexecTimeline;
import org.pkstore.report.ReportSchema;
import org.pkstore.vfio.trace.KexecKind;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed report writes the {@code --json} report the renderers and tests/ read: member names,
 * order and value kinds as before the records, with any ObjectMapper.
 */
class RehearsalReportJsonTest {

    static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void membersInTheirOrderEnumsInLowerCaseAndTheKexecTimeUnderT() throws Exception {
        HostReply.Booted boot = new HostReply.Booted(2, true, "none", 1, 2, 3, 4, "recovery", 5, "map rolled back", 6,
                0.01, 1.5, 0.5, 0.0, 2.0, 0.3, 0.2, 40.0, true, "behind: ioctl 0x3b7e was under way",
                Map.of("pgtables/vm0-c0.pt", 6L), 123L);
        HostReply.Reattached re = new HostReply.Reattached(List.of(), 0, 0, 1, null, null);
        DeviceStats dev = new DeviceStats(10, 0, 0, 5, 5, 0, null, 0, 0, 3, 0);
        KexecTimeline.Phase kill = new KexecTimeline.Phase("kill", "SIGKILL until reaped", KexecTimeline.LIVE_UPDATE, 0, 2.5);
        KexecPhase crash = new KexecPhase(KexecKind.CRASH, Strategy.ADOPT, 1200.5, 1200.5, "map:record (the 3th time)",
                List.of(kill), null, 80.5, 40L, boot, 300.25, 6L, re, 400.0, null, new HostReply.ChurnCleanedUp(4096),
                dev, 500.0, 450.5, 3000L, 2500L, true, null, 1500.0, 0, new HostReply.CaughtUp(1.0, 200.0, 210.0, 12.5,
                        30.0, "background", List.of(new HostReply.Wait("GET_INFO", 3.5)), null, "recovery 1 ms", 0, "recovery", "none", Map.of()));
        DeviceSeriesReport series = DeviceSeriesReport.placed(
                new DeviceSeries(250.0, 100.0, new long[] {3, 4}, new long[] {10, 20}, new long[] {0, 0}), 1000.0);
        MountDomains.Domain domain = new MountDomains.Domain("domains/vm0-c0.pgt", "truncated", null, null, null, null,
                null, null, null, null);
        RehearsalReport report = new RehearsalReport(ReportSchema.VERSION, "2026-01-01T00:00:00Z", "/w", "/w/pkernfs",
                IommuDriver.SMMUV3, 7, List.of(crash), StrategyOption.COMPARE, List.of("random"), new RehearsalPlan(),
                "17", new CpuPinning(true, "1", "0", "0-1", null), boot, new HostReply.SetUp(9, 1, List.of(1, 2), 100, 3.5), null,
                new HostReply.Rebuilt(Map.of("container0", new HostReply.ContainerRebuild(1.5, 20, 3))),
                Map.of("vm0-c0", new ReattachVersusRebuild(1000, 0.5, 1, 0.25, 1.5, 3.0)), series, dev,
                List.of(domain), List.of(new Check("end", "x", true, "y")), true, null);
        JsonNode json = new ObjectMapper().valueToTree(report);
        assertEquals(List.of("schemaVersion", "startedAt", "workDir", "mount", "driver", "seed", "kexecs", "strategy",
                "killPoints", "plan", "java", "cpus", "firstBoot", "setup", "replayRebuild", "reattachVersusRebuild",
                "deviceSeries", "device", "domains", "checks", "passed"), names(json),
                "initialState and aborted are left out when the rehearsal did not get there or completed");
        assertEquals(List.of("startMs", "intervalMs", "dmas", "maxGapMicros", "faults"), names(json.get("deviceSeries")));
        assertEquals(750.0, json.get("deviceSeries").get("startMs").asDouble(), "placed on the rehearsal's clock");
        assertEquals(List.of("file", "problem"), names(json.get("domains").get(0)));
        assertEquals("smmuv3", json.get("driver").asText());
        assertEquals(List.of("pinned", "device", "host", "allowed"), names(json.get("cpus")), "no reason when pinned");
        assertEquals("compare", json.get("strategy").asText());
        JsonNode p = json.get("kexecs").get(0);
        assertEquals(List.of("kind", "strategy", "atMs", "killAtMs", "killPoint", "timeline", "jvmStartMs", "hostUptimeAtReadyMs", "boot", "bootMs",
                "recoveryDescriptorWrites", "reattach", "downToUsableMs", "churnCleanup", "device", "t", "blackoutMs", "quietMaxGapMicros", "resumeMaxGapMicros", "classDataArchive",
                "recoveryMs", "verifyExit", "catchUp"), names(p));
        assertEquals(List.of("registryOpenAtMs", "registryOpenMs", "catchUpAtMs", "catchUpMs", "catchUpPrepareMs", "owner", "waits",
                "difference", "parts", "registryRecoveryMs", "recovery", "intent", "reclaimedPages"), names(p.get("catchUp")));
        assertTrue(p.get("catchUp").get("difference").isNull(), "null: the record agreed with the registries");
        assertEquals(List.of("operation", "ms"), names(p.get("catchUp").get("waits").get(0)));
        assertEquals(List.of("phase", "label", "owner", "startMs", "ms"), names(p.get("timeline").get(0)));
        assertEquals("crash", p.get("kind").asText());
        assertEquals("adopt", p.get("strategy").asText());
        assertTrue(p.get("downToUsableMs").isDouble(), "a double stays a double even when whole: " + p);
        assertTrue(p.get("hostUptimeAtReadyMs").isIntegralNumber(), p.toString());
        assertEquals(List.of("generation", "uncleanEnd", "handover", "warmupMs", "mountMs", "registryRecoveryMs",
                "kernelBootMs", "recovery", "reclaimedPages", "intent", "descriptorWritesAtBoot", "recordReadMs", "unitsMs",
                "tablesMs", "registryWaitMs", "recoveryMs", "preservedMs", "registryOpenAtMs", "registryOpenMs",
                "registriesInBackground", "preservedRecord", "tableChangesAtBootByFile", "bootEndNanos"), names(p.get("boot")));
        assertEquals(List.of("translations", "faults", "corruptions", "maxGapMicros", "windowMaxGapMicros",
                "rootSwitches", "firstFault", "slotsChecked", "slotsLost", "pasidTranslations", "pasidFaults"),
                names(p.get("device")));
        assertTrue(p.get("device").get("firstFault").isNull(), "firstFault is written as null, not left out");
        assertEquals(List.of("rebuildMs", "descriptorWrites", "mappings"),
                names(json.get("replayRebuild").get("container0")));
        assertEquals(List.of("mappings4k", "domainAttachMs", "adoptSamples", "liveUpdateReestablishMs",
                "replayRebuildMs", "rebuildOverAttach"), names(json.get("reattachVersusRebuild").get("vm0-c0")));
        assertEquals(List.of("phase", "name", "passed", "detail"), names(json.get("checks").get(0)));
    }

    @Test
    void theAttachSampleIsTheBestSoFarAndTheRatioIsNullWhenTheAttachTookNoTime() {
        ReattachVersusRebuild first = new ReattachVersusRebuild(1000, 2.0, 1, 1.0, 10.0, ReattachVersusRebuild.ratio(10.0, 2.0));
        ReattachVersusRebuild second = new ReattachVersusRebuild(1000, 4.0, 1, 0.5, 12.0, null).after(first);
        assertEquals(2.0, second.domainAttachMs());
        assertEquals(2, second.adoptSamples());
        assertEquals(0.5, second.liveUpdateReestablishMs());
        assertEquals(6.0, second.rebuildOverAttach());
        assertEquals(null, ReattachVersusRebuild.ratio(12.0, 0.0));
    }
}
