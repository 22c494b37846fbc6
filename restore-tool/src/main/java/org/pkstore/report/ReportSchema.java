package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The rehearsal report's schema: its version and where its JSON Schema lives in the jar. The
 * document is docs/REPORT.md; the JSON Schema ({@link #RESOURCE}) says the same for machines.
 * The version goes up when a field is removed or changes meaning; added fields keep it.
 */
public final class ReportSchema {
    public static final int VERSION = 1;
    public static final String RESOURCE = "/org/pkstore/report/rehearsal-report.schema.json";

    private ReportSchema() {}

    /** Why this document is not a rehearsal report this version renders, or null. */
    public static String problem(JsonNode report) {
        if (!report.isObject()) {
            return "not a JSON object";
        }
        JsonNode v = report.get("schemaVersion");
        if (v == null || !v.canConvertToInt()) {
            return "no schemaVersion: not a pkstore rehearsal report (or one older than schema version 1)";
        }
        if (v.asInt() < 1 || v.asInt() > VERSION) {
            return "schemaVersion " + v.asInt() + " is not one this pkstore reads (1.." + VERSION + ")";
        }
        if (!report.path("checks").isArray() || !report.path("kexecs").isArray()) {
            return "no checks or kexecs array";
        }
        return null;
    }
}
