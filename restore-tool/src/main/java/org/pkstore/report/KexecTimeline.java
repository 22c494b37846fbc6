package org.pkstore.report;

import org.pkstore.rehearse.protocol.HostReply;

import java.util.ArrayList;
import java.util.List;

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
    private final List<Phase> phases = new ArrayList<>();

    public KexecTimeline(long originNanos) {
        this.originNanos = originNanos;
    }

    /** A phase measured on the rehearsal's clock. */
    public KexecTimeline span(String id, String label, String owner, long startNanos, long endNanos) {
        return add(id, label, owner, (startNanos - originNanos) / 1e6, (endNanos - startNanos) / 1e6);
    }

    /**
     * Phases a child reported as durations (ms), laid end to end from {@code startNanos}; the rest
     * of [{@code startNanos}, {@code endNanos}] becomes {@code otherId}. A part reported as negative
     * is left out; parts that overrun the span are kept as reported (the clocks differ).
     */
    public KexecTimeline within(long startNanos, long endNanos, List<Part> parts, String otherId, String otherLabel) {
        double at = (startNanos - originNanos) / 1e6;
        double end = (endNanos - originNanos) / 1e6;
        for (Part p : parts) {
            if (p.ms() < 0) {
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
    public static List<Part> bootParts(HostReply.Booted boot) {
        double recovery = boot.registryRecoveryMs();
        return List.of(
                new Part("mount", "boot: mount and validation", boot.mountMs() - recovery),
                new Part("registryRecovery", "boot: registry recovery", recovery),
                new Part("kernelObjects", "boot: kernel objects", boot.kernelBootMs()),
                new Part("bootWarmup", "boot: warm-up (JIT of the attach path)", boot.warmupMs()));
    }

    /** The reattach as the host did it: per container, attach then re-establish; then any hotswap. */
    public static List<Part> reattachParts(HostReply.Reattached reattach) {
        List<Part> parts = new ArrayList<>();
        for (HostReply.ContainerReattach c : reattach.containers()) {
            String file = c.pgtableFile();
            parts.add(new Part("domainAttach", "domain attach " + file, c.domainAttachMs()));
            parts.add(new Part("reestablish", "live-update MAP_DMA " + file, c.reestablishMs()));
        }
        if (reattach.hotswap() != null) {
            for (HostReply.Hotswap h : reattach.hotswap()) {
                parts.add(new Part("hotswap", "hotswap " + h.pgtableFile(), h.buildMs() + h.switchMs() + h.freeMs()));
            }
        }
        return parts;
    }

    /** A part of an enclosing span, as a child reported it. */
    public record Part(String id, String label, double ms) {}

    /** One phase of {@code kexecs[].timeline}: ms after the kexec's {@code atMs}, and its length. */
    public record Phase(String phase, String label, String owner, double startMs, double ms) {}

    private KexecTimeline add(String id, String label, String owner, double startMs, double ms) {
        phases.add(new Phase(id, label, owner, round(startMs), round(ms)));
        return this;
    }

    private static double round(double ms) {
        return Math.round(ms * 100) / 100.0;
    }

    /**
     * The blackout as a live update would have it: from the kexec's start to the end of the last
     * phase, less the rehearsal's own ({@link #HARNESS}) phases, which a kernel would not do.
     */
    public double blackoutMs() {
        double end = 0;
        double harness = 0;
        for (Phase p : phases) {
            end = Math.max(end, p.startMs() + p.ms());
            if (HARNESS.equals(p.owner())) {
                harness += p.ms();
            }
        }
        return round(end - harness);
    }

    /** The phases so far (a kexec that stopped part-way has only those it reached). */
    public List<Phase> phases() {
        return List.copyOf(phases);
    }
}
