package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Short one-line summaries of a JSON report's parts, shared by the KTAP diagnostics. */
final class ReportText {
    private ReportText() {}

    /** The phase name the rehearsal gives kexec {@code i} (1-based) in its checks. */
    static String kexecPhase(int i, JsonNode kexec) {
        return "kexec " + i + " (" + kexec.path("kind").asText() + ", " + kexec.path("strategy").asText() + ")";
    }

    static String settings(JsonNode r) {
        JsonNode plan = r.path("plan");
        return String.format(Locale.ROOT, "report schema %d, driver %s, seed %s, strategy %s, %d kexec(s), "
                        + "%d + %d 4 KiB mappings, java %s", r.path("schemaVersion").asInt(), r.path("driver").asText(),
                r.path("seed").asText(), r.path("strategy").asText(), r.path("kexecs").size(),
                plan.path("smallMappings").asLong(), plan.path("largeMappings").asLong(), r.path("java").asText())
                + cpus(r.path("cpus"));
    }

    /** ", device on CPU 1, host on CPU 0", or why unpinned; empty for a report without {@code cpus}. */
    private static String cpus(JsonNode c) {
        if (c.isMissingNode()) {
            return "";
        }
        return c.path("pinned").asBoolean()
                ? ", device on CPU " + c.path("device").asText() + ", host and rehearsal on CPU " + c.path("host").asText()
                : ", CPUs unpinned (" + c.path("reason").asText() + ")";
    }

    /** "timeline: handover 12.0 ms, ... (total 1234.5 ms, of which harness 56.7 ms)". */
    static String timelineSummary(JsonNode kexec) {
        List<String> parts = new ArrayList<>();
        double total = 0;
        double harness = 0;
        for (JsonNode p : kexec.path("timeline")) {
            double ms = p.path("ms").asDouble();
            parts.add(p.path("label").asText() + " " + String.format(Locale.ROOT, "%.1f ms", ms));
            total += ms;
            if (KexecTimeline.HARNESS.equals(p.path("owner").asText())) {
                harness += ms;
            }
        }
        if (parts.isEmpty()) {
            return "timeline: none (the kexec did not complete)";
        }
        return "timeline: " + String.join(", ", parts) + String.format(Locale.ROOT,
                " (total %.1f ms, of which the rehearsal's own checks %.1f ms)", total, harness);
    }
}
