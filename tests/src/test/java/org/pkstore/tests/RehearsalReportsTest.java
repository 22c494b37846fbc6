package org.pkstore.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.report.ReportSchema;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rehearsal's reports as CI reads them, from real rehearsals: the JSON is valid against the
 * schema in the jar (docs/REPORT.md), the KTAP output parses strictly with one subtest per kexec,
 * and a deliberately broken live update (an injected VMM/table mismatch) is "not ok" in the KTAP
 * with the refusal as evidence, keeps its exit status 2, and its JSON report says why.
 */
class RehearsalReportsTest {
    private static final String[] SMALL = {"--guest-memory", "2G", "--small-mappings", "100", "--large-mappings", "3000",
            "--seed", "21"};

    static String[] args(String... more) {
        List<String> a = new ArrayList<>(List.of("rehearse"));
        a.addAll(List.of(SMALL));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    static Set<ValidationMessage> validate(JsonNode report) throws Exception {
        try (InputStream in = ReportSchema.class.getResourceAsStream(ReportSchema.RESOURCE)) {
            JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
            return schema.validate(report);
        }
    }

    @Test
    void aPassingRehearsalsJsonFollowsTheSchemaAndItsKtapHasOneSubtestPerKexec(@TempDir Path dir) throws Exception {
        Path page = dir.resolve("report.html");
        RehearseCommandTest.Run r = RehearseCommandTest.pkstore(args("--kexecs", "planned,crash", "--format", "json",
                "--html", page.toString()));
        assertEquals(0, r.exit(), r.err());
        JsonNode rep = new ObjectMapper().readTree(r.out());
        assertEquals(Set.of(), validate(rep), "the report follows its schema");
        assertEquals(ReportSchema.VERSION, rep.get("schemaVersion").asInt());
        assertEquals(2, rep.get("kexecs").size());
        for (JsonNode k : rep.get("kexecs")) {
            assertTrue(k.get("timeline").size() >= 5, "phases of " + k);
            double end = 0;
            double at = 0;
            for (JsonNode p : k.get("timeline")) {
                if (p.get("owner").asText().equals("background")) {
                    // beside the path (the registries' background open): it overlaps the boot by design
                    assertTrue(p.get("startMs").asDouble() >= 0, "background phase inside the kexec: " + p);
                    end = Math.max(end, p.get("startMs").asDouble() + p.get("ms").asDouble());
                    continue;
                }
                assertTrue(p.get("startMs").asDouble() >= at - 0.02, "phases in order, not overlapping: " + k.get("timeline"));
                at = p.get("startMs").asDouble() + p.get("ms").asDouble();
                end = Math.max(end, at);
            }
            // the phases lie within the kexec step the rehearsal timed (t counts from before a crash's churn)
            assertTrue(end <= k.get("t").asDouble() + 1, "timeline of " + end + " ms in a kexec of " + k.get("t") + " ms");
        }
        assertTrue(rep.get("deviceSeries").get("dmas").size() > 0);
        assertEquals(2, rep.get("domains").size(), rep.get("domains").toString());
        String html = Files.readString(page);
        assertTrue(html.contains("\"schemaVersion\":1") && html.contains("Chart.js"), "self-contained page");
        assertFalse(html.matches("(?s).*<script[^>]+src=.*"), "no external script");

        Path json = dir.resolve("report.json");
        Files.writeString(json, r.out());
        RehearseCommandTest.Run k = RehearseCommandTest.pkstore("report", json.toString(), "--format", "ktap");
        assertEquals(0, k.exit(), k.err());
        List<String> tail = new ArrayList<>();
        List<KtapParser.Test> tests = KtapParser.parse(k.out(), tail);
        // two kexecs and the end
        assertEquals(List.of("kexec 1 (planned, adopt)", "kexec 2 (crash, adopt)", "end"),
                tests.stream().map(KtapParser.Test::name).toList());
        int checks = 0;
        for (KtapParser.Test t : tests) {
            assertTrue(t.ok(), t.toString());
            checks += t.subtests().size();
        }
        assertEquals(rep.get("checks").size(), checks, "one result per check");
        assertTrue(tail.contains("Totals: pass:" + checks + " fail:0 xfail:0 xpass:0 skip:0 error:0"), tail.toString());
        List<String> kexec1 = tests.get(0).diagnostics();
        // a planned kexec's timeline starts with the kexec command on its way (the rehearsal's
        // protocol), then its handover, split into quiesce, serialise, freeze
        String timeline = kexec1.get(kexec1.size() - 1);
        assertTrue(timeline.startsWith("timeline: rehearsal: kexec command delivered"), kexec1.toString());
        assertTrue(timeline.matches("timeline: rehearsal: kexec command delivered [0-9.]+ ms, quiesce .*"), timeline);
    }

    @Test
    void anInjectedLiveUpdateMismatchIsNotOkInKtapWithTheRefusalAsEvidenceAndExitStatus2(@TempDir Path dir)
            throws Exception {
        Path page = dir.resolve("failed.html");
        RehearseCommandTest.Run r = RehearseCommandTest.pkstore(args("--kexecs", "planned,crash", "--format", "ktap",
                "--inject-fault", "live-update-mismatch", "--html", page.toString()));
        assertEquals(2, r.exit(), "a rehearsal that could not complete keeps exit status 2: " + r.err());
        List<String> tail = new ArrayList<>();
        List<KtapParser.Test> tests = KtapParser.parse(r.out(), tail);
        KtapParser.Test kexec1 = tests.stream().filter(t -> t.name().equals("kexec 1 (planned, adopt)")).findFirst()
                .orElseThrow(() -> new AssertionError(r.out()));
        assertFalse(kexec1.ok(), r.out());
        KtapParser.Test failed = kexec1.subtests().get(kexec1.subtests().size() - 1);
        assertEquals("rehearsal step completed", failed.name());
        assertFalse(failed.ok());
        assertTrue(failed.diagnostics().get(0).contains("live-update MAP_DMA ram-4k refused")
                && failed.diagnostics().get(0).contains("first at IOVA 0x"), failed.toString());
        // the checks before the refusal still passed and are reported as such
        assertTrue(kexec1.subtests().get(0).ok(), kexec1.toString());
        assertTrue(tail.stream().anyMatch(l -> l.startsWith("Totals: pass:") && l.contains(" fail:1 ")), tail.toString());
        assertTrue(tail.stream().anyMatch(l -> l.startsWith("the rehearsal could not complete: ") && l.contains("live-update MAP_DMA ram-4k refused")),
                tail.toString());
        // the page of the failed run is written too, and says FAIL through its embedded report
        String html = Files.readString(page);
        assertTrue(html.contains("\"passed\":false") && html.contains("\"aborted\":"), "the page embeds the failed report");
    }
}
