package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rehearsal report as KTAP version 1 (Documentation/dev-tools/ktap.rst in Linux): a version
 * line and a plan, one test per group of checks (setup, each kexec, the end), each group a subtest
 * indented two spaces with its own version line and plan, one {@code ok N name} or
 * {@code not ok N name} per check with its evidence as a diagnostic line just before it, and the
 * totals line kselftest prints (tools/testing/selftests/kselftest.h, {@code ksft_print_cnts}).
 * A group fails when one of its checks does, as ktap.rst's nested example does. Rendered from the
 * JSON report only.
 */
public final class KtapReport {
    private KtapReport() {}

    public static void print(JsonNode report, PrintWriter out) {
        Map<String, List<JsonNode>> groups = new LinkedHashMap<>();
        for (JsonNode c : report.path("checks")) {
            groups.computeIfAbsent(c.path("phase").asText(), k -> new ArrayList<>()).add(c);
        }
        Map<String, JsonNode> kexecByPhase = new LinkedHashMap<>();
        int i = 1;
        for (JsonNode k : report.path("kexecs")) {
            kexecByPhase.put(ReportText.kexecPhase(i++, k), k);
        }
        out.println("KTAP version 1");
        out.println("1.." + groups.size());
        out.println("# pkstore rehearse: " + diagnostic(ReportText.settings(report)));
        int pass = 0;
        int fail = 0;
        int n = 1;
        for (Map.Entry<String, List<JsonNode>> g : groups.entrySet()) {
            out.println("  KTAP version 1");
            out.println("  1.." + g.getValue().size());
            boolean groupOk = true;
            int m = 1;
            for (JsonNode c : g.getValue()) {
                boolean ok = c.path("passed").asBoolean();
                groupOk &= ok;
                if (ok) {
                    pass++;
                } else {
                    fail++;
                }
                out.println("  # " + diagnostic(c.path("detail").asText()));
                out.println("  " + (ok ? "ok " : "not ok ") + m++ + " " + description(c.path("name").asText()));
            }
            JsonNode k = kexecByPhase.get(g.getKey());
            if (k != null) {
                out.println("# " + diagnostic(ReportText.timelineSummary(k)));
            }
            out.println((groupOk ? "ok " : "not ok ") + n++ + " " + description(g.getKey()));
        }
        if (report.hasNonNull("aborted")) {
            out.println("# the rehearsal could not complete: " + diagnostic(report.get("aborted").asText()));
        }
        out.println(String.format(Locale.ROOT, "# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0", pass, fail));
        out.flush();
    }

    /** A test description: any words, but no '#' (it would start a directive) and one line. */
    static String description(String s) {
        return oneLine(s).replace('#', 'n');
    }

    static String diagnostic(String s) {
        return oneLine(s);
    }

    private static String oneLine(String s) {
        return s.replace('\r', ' ').replace('\n', ' ').strip();
    }
}
