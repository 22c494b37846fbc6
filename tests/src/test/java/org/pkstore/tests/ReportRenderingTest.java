package org.pkstore.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.report.HtmlReport;

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
 * The report's renderers and schema on saved reports of real rehearsals (a passing default-shaped
 * one with 3 kexecs, and one stopped by an injected live-update mismatch), without running one.
 */
class ReportRenderingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode saved(String name) throws Exception {
        try (InputStream in = ReportRenderingTest.class.getResourceAsStream("reports/" + name)) {
            return JSON.readTree(in);
        }
    }

    static RehearseCommandTest.Run report(Path dir, JsonNode rep, String... more) throws Exception {
        Path f = dir.resolve("report-" + System.nanoTime() + ".json");
        Files.writeString(f, rep.toString());
        List<String> a = new ArrayList<>(List.of("report", f.toString()));
        a.addAll(List.of(more));
        return RehearseCommandTest.pkstore(a.toArray(new String[0]));
    }

    @Test
    void savedReportsFollowTheSchemaAndBrokenOnesDoNot() throws Exception {
        JsonNode pass = saved("passing.json");
        JsonNode aborted = saved("aborted.json");
        assertEquals(Set.of(), RehearsalReportsTest.validate(pass));
        assertEquals(Set.of(), RehearsalReportsTest.validate(aborted));

        ObjectNode noSeries = pass.deepCopy();
        noSeries.remove("deviceSeries");
        assertFalse(RehearsalReportsTest.validate(noSeries).isEmpty(), "a completed report needs its device series");
        ObjectNode extra = pass.deepCopy();
        ((ObjectNode) extra.get("kexecs").get(0)).put("notInTheSchemaMs", 1.0);
        assertFalse(RehearsalReportsTest.validate(extra).isEmpty(), "an undocumented kexec key is refused");
        ObjectNode badPhase = pass.deepCopy();
        ((ObjectNode) badPhase.get("kexecs").get(0).get("timeline").get(0)).put("owner", "kernel");
        assertFalse(RehearsalReportsTest.validate(badPhase).isEmpty(), "a phase owner outside the enum is refused");
    }

    @Test
    void ktapOfASavedReportWithOneFailedCheckIsNotOkForThatCheckAndItsKexecOnly(@TempDir Path dir) throws Exception {
        ObjectNode rep = saved("passing.json").deepCopy();
        ArrayNode checks = (ArrayNode) rep.get("checks");
        int failedAt = -1;
        for (int i = 0; i < checks.size(); i++) {
            if (checks.get(i).get("phase").asText().startsWith("kexec 2") && failedAt < 0) {
                failedAt = i;
            }
        }
        ObjectNode failed = (ObjectNode) checks.get(failedAt + 1);
        failed.put("passed", false);
        rep.put("passed", false);
        RehearseCommandTest.Run r = report(dir, rep, "--format", "ktap");
        assertEquals(1, r.exit(), "a failed report: exit 1");
        List<String> tail = new ArrayList<>();
        List<KtapParser.Test> tests = KtapParser.parse(r.out(), tail);
        assertEquals(4, tests.size(), "3 kexecs and the end: " + r.out());
        assertTrue(tests.get(0).ok());
        assertFalse(tests.get(1).ok(), "kexec 2 holds the failed check");
        assertTrue(tests.get(2).ok() && tests.get(3).ok());
        KtapParser.Test notOk = tests.get(1).subtests().get(1);
        assertEquals(failed.get("name").asText(), notOk.name());
        assertFalse(notOk.ok());
        assertEquals(List.of(failed.get("detail").asText()), notOk.diagnostics(), "the evidence is the diagnostic");
        assertEquals(1, tests.stream().flatMap(t -> t.subtests().stream()).filter(t -> !t.ok()).count());
        assertTrue(tail.get(tail.size() - 1).matches("Totals: pass:\\d+ fail:1 xfail:0 xpass:0 skip:0 error:0"),
                tail.toString());
    }

    @Test
    void aStrictParserRefusesKtapThatBreaksTheRules() {
        String good = "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  ok 1 a\nok 1 group\n";
        assertEquals(1, KtapParser.parse(good, new ArrayList<>()).size());
        for (String bad : List.of(
                "KTAP version 1\n1..2\n  KTAP version 1\n  1..1\n  ok 1 a\nok 1 group\n",           // plan
                "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 a\nok 1 group\n",       // ok over a failure
                "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  ok 2 a\nok 1 group\n",           // numbering
                "KTAP version 1\n1..1\n KTAP version 1\n  1..1\n  ok 1 a\nok 1 group\n",            // indentation
                "TAP version 13\n1..1\nok 1 a\n",                                                   // version
                "KTAP version 1\n1..1\nok 1 a\nstray line\n")) {                                     // unknown line
            try {
                KtapParser.parse(bad, new ArrayList<>());
                throw new AssertionError("accepted:\n" + bad);
            } catch (IllegalArgumentException expected) {
                // refused, with the line
            }
        }
    }

    @Test
    void ktapAndHtmlOfAnAbortedRehearsalShowTheStepThatStoppedIt(@TempDir Path dir) throws Exception {
        JsonNode aborted = saved("aborted.json");
        RehearseCommandTest.Run r = report(dir, aborted, "--format", "ktap", "--html", dir.resolve("a.html").toString());
        assertEquals(1, r.exit(), r.err());
        List<KtapParser.Test> tests = KtapParser.parse(r.out(), new ArrayList<>());
        KtapParser.Test last = tests.get(tests.size() - 1);
        assertFalse(last.ok());
        assertEquals("rehearsal step completed", last.subtests().get(last.subtests().size() - 1).name());
        String html = Files.readString(dir.resolve("a.html"));
        assertTrue(html.contains("\"aborted\":"), "the page embeds the report");
    }

    @Test
    void thePageIsSelfContainedAndEmbedsTheReportSafely() throws Exception {
        ObjectNode rep = saved("passing.json").deepCopy();
        ((ObjectNode) rep.get("checks").get(0)).put("detail", "</script><script>alert(1)</script>");
        String html = HtmlReport.render(rep);
        assertFalse(html.contains("</script><script>alert(1)"), "report text cannot end the data element");
        assertTrue(html.contains("\\u003c/script>\\u003cscript>alert(1)\\u003c/script>"));
        assertFalse(html.matches("(?s).*<(script|link|img)[^>]+(src|href)=.*"), "nothing loaded from outside");
        for (String marker : List.of("/*@STYLE@*/", "/*@CHARTJS@*/", "/*@ANNOTATION@*/", "/*@PAGE@*/", "/*@DATA@*/",
                "@LIBRARIES@")) {
            assertFalse(html.contains(marker), marker + " replaced");
        }
        assertTrue(html.contains("Chart.js v4.4.7") || html.contains("Chart.js v4"), "Chart.js inlined");
        assertTrue(html.contains("@media print") && html.contains("prefers-color-scheme: dark"));
    }

    @Test
    void reportRefusesADocumentThatIsNotAReport(@TempDir Path dir) throws Exception {
        ObjectNode old = saved("passing.json").deepCopy();
        old.remove("schemaVersion");
        RehearseCommandTest.Run r = report(dir, old, "--format", "ktap");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("no schemaVersion"), r.err());
        ObjectNode future = saved("passing.json").deepCopy();
        future.put("schemaVersion", 99);
        assertEquals(2, report(dir, future, "--format", "ktap").exit());
    }
}
