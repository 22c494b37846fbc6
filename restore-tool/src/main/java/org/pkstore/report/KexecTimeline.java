package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One kexec's timeline as the report's {@code kexecs[].timeline} holds it (docs/REPORT.md): an
 * ordered list of phases, each with an id, a label, its start in ms after the kexec began and its
 * length. The page draws whatever phases are there, so finer phases are added here by their
 * producer and need no change in the renderers.
 *
 * <pre>
 *   kexec start                                                        usable
 *   |-- handover --|- exit -|- hash* -|-- JVM start --|--- boot ---|- hash* -|- attach -|- re-est. -|
 *   (* harness: the rehearsal's own checking, not something a kernel would do)
 * </pre>
 *
 * Phases measured by the rehearsal come from its clock ({@link #span}); phases reported by a host
 * as durations are laid one after the other inside an enclosing span ({@link #within}), and what
 * the host did not account for becomes an "other" phase, so the bars always add up to the span.
 */
public final class KexecTimeline {
    /** Who spent the time: the live update itself, or the rehearsal's own checks. */
    public static final String LIVE_UPDATE = "live-update";
    public static final String HARNESS = "harness";

    private final long originNanos;
    private final List<Map<String, Object>> phases = new ArrayList<>();

    public KexecTimeline(long originNanos) {
        this.originNanos = originNanos;
    }

    /** A phase measured on the rehearsal's clock. */
    public KexecTimeline span(String id, String label, String owner, long startNanos, long endNanos) {
        return add(id, label, owner, (startNanos - originNanos) / 1e6, (endNanos - startNanos) / 1e6);
    }

    /**
     * Phases a child reported as durations (ms), laid end to end from {@code startNanos}; the rest
     * of [{@code startNanos}, {@code endNanos}] becomes {@code otherId}. A part reported as null or
     * negative is left out; parts that overrun the span are kept as reported (the clocks differ).
     */
    public KexecTimeline within(long startNanos, long endNanos, List<Part> parts, String otherId, String otherLabel) {
        double at = (startNanos - originNanos) / 1e6;
        double end = (endNanos - originNanos) / 1e6;
        for (Part p : parts) {
            if (p.ms() == null || p.ms() < 0) {
                continue;
            }
            add(p.id(), p.label(), LIVE_UPDATE, at, p.ms());
            at += p.ms();
        }
        if (end - at > 0.005) {
            add(otherId, otherLabel, LIVE_UPDATE, at, end - at);
        }
        return this;
    }

    /** The host's boot in its order: the mount (registry recovery is part of it), kernel objects, warm-up. */
    public static List<Part> bootParts(JsonNode boot) {
        double recovery = boot.path("registryRecoveryMs").asDouble();
        return List.of(
                new Part("mount", "boot: mount and validation", boot.path("mountMs").asDouble() - recovery),
                new Part("registryRecovery", "boot: registry recovery", recovery),
                new Part("kernelObjects", "boot: kernel objects", ms(boot, "kernelBootMs")),
                new Part("bootWarmup", "boot: warm-up (JIT of the attach path)", ms(boot, "warmupMs")));
    }

    /** The reattach as the host did it: per container, attach then re-establish; then any hotswap. */
    public static List<Part> reattachParts(JsonNode reattach) {
        List<Part> parts = new ArrayList<>();
        for (JsonNode c : reattach.path("containers")) {
            String file = c.path("pgtableFile").asText();
            parts.add(new Part("domainAttach", "domain attach " + file, ms(c, "domainAttachMs")));
            parts.add(new Part("reestablish", "live-update MAP_DMA " + file, ms(c, "reestablishMs")));
        }
        for (JsonNode h : reattach.path("hotswap")) {
            double hs = h.path("buildMs").asDouble() + h.path("switchMs").asDouble() + h.path("freeMs").asDouble();
            parts.add(new Part("hotswap", "hotswap " + h.path("pgtableFile").asText(), hs));
        }
        return parts;
    }

    private static Double ms(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asDouble() : null;
    }

    /** A part of an enclosing span, as a child reported it. */
    public record Part(String id, String label, Double ms) {}

    private KexecTimeline add(String id, String label, String owner, double startMs, double ms) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("phase", id);
        m.put("label", label);
        m.put("owner", owner);
        m.put("startMs", round(startMs));
        m.put("ms", round(ms));
        phases.add(m);
        return this;
    }

    private static double round(double ms) {
        return Math.round(ms * 100) / 100.0;
    }

    public List<Map<String, Object>> phases() {
        return phases;
    }
}
