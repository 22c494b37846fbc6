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
    /**
     * Who spent the time: the live update itself, the rehearsal's own checks, or work that ran beside
     * the blackout path (the registries' open on a background thread): drawn, never counted.
     */
    public static final String LIVE_UPDATE = "live-update";
    public static final String HARNESS = "harness";
    public static final String BACKGROUND = "background";

    private final long originNanos;
    private final List<Phase> phases = new ArrayList<>();

    public KexecTimeline(long originNanos) {
        this.originNanos = originNanos;
    }

    /** A phase measured on the rehearsal's clock, owned by the live update or the harness. */
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

    /**
     * The host's boot in its order (docs/LIVE-UPDATE.md, boot order): mount and validation, the
     * preserved record, warm-up, device tables, table files, the wait for the registries, crash
     * recovery, preserved containers. The registries' open itself is {@link #registryOpen}: inline it
     * is a part here, in the background a span of its own.
     */
    public static List<Part> bootParts(HostReply.Booted boot) {
        double record = orZero(boot.recordReadMs());
        boolean background = Boolean.TRUE.equals(boot.registriesInBackground());
        double open = background ? 0 : orZero(boot.registryOpenMs());
        if (boot.unitsMs() == null) {
            // a host that reports only the coarse parts
            double recovery = boot.registryRecoveryMs();
            return List.of(
                    new Part("mount", "boot: mount and validation", boot.mountMs() - recovery),
                    new Part("registryRecovery", "boot: registry recovery", recovery),
                    new Part("kernelObjects", "boot: kernel objects", boot.kernelBootMs()),
                    new Part("bootWarmup", "boot: warm-up (JIT of the attach path)", boot.warmupMs()));
        }
        List<Part> parts = new ArrayList<>();
        parts.add(new Part("mount", "boot: mount and validation", Math.max(0, boot.mountMs() - record - open)));
        parts.add(new Part("preservedRecord", "boot: preserved record read", record));
        if (!background) {
            parts.add(new Part(boot.uncleanEnd() ? "registryRecovery" : "registryOpen",
                    boot.uncleanEnd() ? "boot: registry recovery" : "boot: registry open", open));
        }
        if (boot.warmupMs() > 0) {
            // a host that still warms its JIT up on the path (today's host has no warm-up)
            parts.add(new Part("bootWarmup", "boot: warm-up (JIT of the attach path)", boot.warmupMs()));
        }
        parts.add(new Part("kernelObjects", "boot: kernel objects (device tables)", boot.unitsMs()));
        parts.add(new Part("tableFiles", "boot: table and memory files mapped", orZero(boot.tablesMs())));
        parts.add(new Part("registryWait", "boot: waiting for the registries", orZero(boot.registryWaitMs())));
        if (boot.uncleanEnd()) {
            parts.add(new Part("crashRecovery", "boot: crash recovery (intent replay, sweep)", orZero(boot.recoveryMs())));
        }
        parts.add(new Part("preservedContainers", "boot: preserved containers (record checked against registries)",
                orZero(boot.preservedMs())));
        return parts;
    }

    /**
     * The registries' background open (recovery after a crash) as a {@link #BACKGROUND} span, placed
     * from the boot's start ({@code bootStartNanos}, the boot command) by the host's own offsets;
     * nothing when the open was inline (it is then a boot part).
     */
    public KexecTimeline registryOpen(HostReply.Booted boot, long bootStartNanos) {
        if (!Boolean.TRUE.equals(boot.registriesInBackground()) || boot.registryOpenMs() == null) {
            return this;
        }
        double at = (bootStartNanos - originNanos) / 1e6 + orZero(boot.registryOpenAtMs());
        return add(boot.uncleanEnd() ? "registryRecovery" : "registryOpen",
                boot.uncleanEnd() ? "registry recovery (background)" : "registry open (background)", BACKGROUND, at,
                boot.registryOpenMs());
    }

    /**
     * Record mode (docs/LIVE-UPDATE.md, boot order): the registries' open (recovery after a crash)
     * and the catch-up, as {@link #BACKGROUND} spans placed from the boot's start like
     * {@link #registryOpen}; the catch-up is drawn as background also when a waiting ioctl ran it
     * (that wait is inside the reattach's own phases and is listed in the kexec's {@code catchUp.waits}).
     */
    public KexecTimeline catchUp(HostReply.CaughtUp c, boolean uncleanEnd, long bootStartNanos) {
        if (c == null || c.catchUpMs() == null) {
            return this;
        }
        double base = (bootStartNanos - originNanos) / 1e6;
        add(uncleanEnd ? "registryRecovery" : "registryOpen",
                uncleanEnd ? "registry recovery (background)" : "registry open (background)", BACKGROUND,
                base + orZero(c.registryOpenAtMs()), orZero(c.registryOpenMs()));
        return add("catchUp", "catch-up (" + c.owner() + "): recovery's registry part, the reattach's records",
                BACKGROUND, base + c.catchUpAtMs(), c.catchUpMs());
    }

    /** The old host's end as it reported it: quiesce, serialise (handover record), unmount (freeze). */
    public static List<Part> handoverParts(HostReply.HandedOver h) {
        if (h.quiesceMs() == null) {
            return List.of();
        }
        return List.of(new Part("quiesce", "quiesce (no ioctl in flight)", h.quiesceMs()),
                new Part("serialise", "serialise (handover record)", orZero(h.serialiseMs())),
                new Part("unmount", "freeze (kernel stop, files clean, registries sealed)", orZero(h.unmountMs())));
    }

    private static double orZero(Double ms) {
        return ms == null ? 0 : ms;
    }

    /** The reattach as the host did it: per container, attach then re-establish; then any hotswap. */
    public static List<Part> reattachParts(HostReply.Reattached reattach) {
        List<Part> parts = new ArrayList<>();
        if (reattach.steps() != null) {
            parts.add(new Part("vmmState", "VMM state restored (vmm-state)", reattach.steps().vmmStateMs()));
            parts.add(new Part("guestMemory", "guest memory mapped", reattach.steps().guestMemoryMs()));
        }
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

    /**
     * What the host did after the VMM resumed, for the rehearsal's checks (VMIDs, pending faults),
     * in ns: the reattach command's reply came that much after the resume (0 when not reported).
     */
    public static long afterResumeNanos(HostReply.Reattached reattach) {
        return reattach.steps() == null ? 0 : (long) (reattach.steps().afterResumeMs() * 1e6);
    }

    /**
     * When the VMM resumed on the rehearsal's clock: the host's own stamp when it lies inside
     * [{@code sentNanos}, {@code replyNanos}] (one clock, CLOCK_MONOTONIC, on Linux), else the reply
     * less what the host did after the resume.
     */
    public static long resumedNanos(HostReply.Reattached reattach, long sentNanos, long replyNanos) {
        HostReply.ReattachSteps s = reattach.steps();
        if (s != null && s.resumedAtNanos() >= sentNanos && s.resumedAtNanos() <= replyNanos) {
            return s.resumedAtNanos();
        }
        return Math.max(sentNanos, replyNanos - afterResumeNanos(reattach));
    }

    /** When the host's handler began on the rehearsal's clock, as {@link #resumedNanos}; {@code sentNanos} if unknown. */
    public static long handlerStartNanos(HostReply.Reattached reattach, long sentNanos, long resumedNanos) {
        HostReply.ReattachSteps s = reattach.steps();
        if (s != null && s.startedAtNanos() >= sentNanos && s.startedAtNanos() <= resumedNanos) {
            return s.startedAtNanos();
        }
        return sentNanos;
    }

    /**
     * A child's System.nanoTime ({@code reported}, may be null) as a point of [{@code from}, {@code to}]
     * on the rehearsal's clock (both CLOCK_MONOTONIC); {@code to} when absent or outside.
     */
    public static long clampedNanos(Long reported, long from, long to) {
        return reported != null && reported >= from && reported <= to ? reported : to;
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
            if (BACKGROUND.equals(p.owner())) {
                continue; // beside the path: whatever waited for it is a phase of its own
            }
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
