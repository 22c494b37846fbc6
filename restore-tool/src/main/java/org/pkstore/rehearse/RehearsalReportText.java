package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** The human-readable rehearsal report; the same data as {@code --json}. */
final class RehearsalReportText {
    private RehearsalReportText() {}

    @SuppressWarnings("unchecked")
    static void print(Rehearsal r, PrintWriter out) {
        Map<String, Object> rep = r.report();
        out.println("pkstore live-update rehearsal");
        out.printf("  driver %s, seed %s, java %s%n", rep.get("driver"), rep.get("seed"), rep.get("java"));
        out.printf("  mount  %s%n", rep.get("mount"));
        Object setup = rep.get("setup");
        if (setup instanceof JsonNode s) {
            out.printf("  setup: 2 containers sharing VMID %d, PASIDs %s, mapped in %d ms (%,d descriptors written)%n",
                    s.get("vmid").asInt(), s.get("pasids"), s.get("mapMs").asLong(), s.get("descriptorWrites").asLong());
        }
        Object phases = rep.get("kexecs");
        if (phases instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map) {
            out.println();
            out.printf("  %-3s %-8s %-8s %10s %9s %12s %12s %8s %10s %7s%n", "#", "kexec", "strategy", "JVM start",
                    "boot", "attach", "re-establish", "writes", "DMA gap", "faults");
            int i = 1;
            long lastDeviceFaults = 0;
            for (Object o : list) {
                Map<String, Object> p = (Map<String, Object>) o;
                JsonNode re = (JsonNode) p.get("reattach");
                JsonNode dev = (JsonNode) p.get("device");
                double attach = 0;
                double reest = 0;
                for (JsonNode c : re.get("containers")) {
                    attach += c.get("domainAttachMs").asDouble();
                    reest += c.get("reestablishMs").asDouble();
                }
                long writes = re.get("descriptorWritesAttach").asLong() + re.get("descriptorWritesReestablish").asLong();
                long faults = dev.get("faults").asLong() - lastDeviceFaults;
                lastDeviceFaults = dev.get("faults").asLong();
                out.printf("  %-3d %-8s %-8s %7.0f ms %6.0f ms %9.2f ms %9.2f ms %8d %7.2f ms %7d%n", i++, p.get("kind"),
                        p.get("strategy"), (double) p.get("jvmStartMs"), (double) p.get("bootMs"), attach, reest, writes,
                        dev.get("windowMaxGapMicros").asLong() / 1000.0, faults);
                if (p.get("hotswap") instanceof JsonNode hs && hs.isArray()) {
                    for (JsonNode h : hs) {
                        out.printf("      hotswap %s: rebuilt %,d descriptors in %.2f ms, switched device table in %.3f ms, "
                                        + "freed %d old table pages%n", h.path("pgtableFile").asText("?"),
                                h.path("descriptorsWritten").asLong(), h.path("buildMs").asDouble(),
                                h.path("switchMs").asDouble(), h.path("oldPagesFreed").asLong());
                    }
                }
            }
        }
        Object cmp = rep.get("reattachVersusRebuild");
        if (cmp instanceof Map<?, ?> m && !m.isEmpty()) {
            out.println();
            out.println("  reattach (adopt) versus rebuilding the tables by replaying every mapping:");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                Map<String, Object> v = (Map<String, Object>) e.getValue();
                out.printf("    %-8s %,10d 4 KiB mappings: domain attach %.2f ms, live-update MAP_DMA %.2f ms, "
                                + "replay rebuild %.2f ms (%sx the attach)%n", e.getKey(), (long) v.get("mappings4k"),
                        (double) v.get("domainAttachMs"), (double) v.get("liveUpdateReestablishMs"),
                        (double) v.get("replayRebuildMs"), v.get("rebuildOverAttach"));
            }
        }
        Object dev = rep.get("device");
        if (dev instanceof JsonNode d) {
            out.println();
            out.printf("  device: %,d DMAs through the preserved tables, %d faults, longest gap %.2f ms, "
                            + "%d/%d slots hold what it last wrote%n", d.get("translations").asLong(),
                    d.get("faults").asLong(), d.get("maxGapMicros").asLong() / 1000.0,
                    d.get("slotsChecked").asLong() - d.get("slotsLost").asLong(), d.get("slotsChecked").asLong());
        }
        List<Check> checks = r.checks();
        long failed = checks.stream().filter(c -> !c.passed()).count();
        out.println();
        out.printf("  checks: %d passed, %d failed%n", checks.size() - failed, failed);
        for (Check c : checks) {
            if (!c.passed()) {
                out.printf("    FAIL [%s] %s: %s%n", c.phase(), c.name(), c.detail());
            }
        }
        out.println();
        out.println(r.passed()
                ? "VERDICT: PASS - " + checks.size() + " checks held across " + ((List<?>) rep.get("kexecs")).size()
                        + " kexecs: no descriptor written on reattach, tables identical, DMA never faulted"
                : "VERDICT: FAIL - " + failed + " of " + checks.size() + " checks failed");
    }
}
