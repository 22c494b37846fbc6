package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceCommand;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostCommand;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.report.KexecTimeline;
import org.pkstore.vfio.trace.KexecKind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

import static org.pkstore.rehearse.Rehearsal.BOOT_TIMEOUT;
import static org.pkstore.rehearse.Rehearsal.CALL_TIMEOUT;
import static org.pkstore.rehearse.protocol.MessageCodec.toJson;

/**
 * One kexec of a rehearsal: bring the old host down (planned: quiesce, hand over, exit; crash:
 * SIGKILL at a kill point), start and boot the next host, reattach with the kexec's strategy, and
 * check everything against what the old host had, while the device keeps doing DMA.
 */
final class KexecRehearsal {
    private final Rehearsal rehearsal;
    private final RehearsalChecks checks;
    private final String phase;
    private final KexecKind kind;
    private final Strategy strategy;
    private final Path work;
    private PipedJvm next;

    // this kexec as far as it got, for the report ({@link #phase()})
    private Double atMs;
    private Double killAtMs;
    private String killPoint;
    private KexecTimeline timeline;
    private HostReply.HandedOver handover;
    private Double jvmStartMs;
    private Long hostUptimeAtReadyMs;
    private HostReply.Booted boot;
    private Double bootMs;
    private HostReply.Reattached reattach;
    private Double downToUsableMs;
    private HostReply.ChurnCleanedUp churnCleanup;
    private DeviceStats device;
    private Double totalMs;
    private Double blackoutMs;
    private Long quietMaxGapMicros;
    private Boolean classDataArchive;

    KexecRehearsal(Rehearsal rehearsal, String phase, KexecKind kind, Strategy strategy) {
        this.rehearsal = rehearsal;
        this.checks = rehearsal.checker();
        this.phase = phase;
        this.kind = kind;
        this.strategy = strategy;
        this.work = rehearsal.work();
    }

    /** The host that runs after this kexec; null when the rehearsal stopped before starting it. */
    PipedJvm nextHost() {
        return next;
    }

    /** This kexec for the report: complete once {@link #run} returned, else as far as it got. */
    KexecPhase phase() {
        boolean crash = kind == KexecKind.CRASH;
        return new KexecPhase(kind, strategy, atMs, killAtMs, killPoint, timeline == null ? null : timeline.phases(),
                handover, jvmStartMs, hostUptimeAtReadyMs, boot, bootMs,
                crash && boot != null ? boot.descriptorWritesAtBoot() : null, reattach, downToUsableMs,
                strategy == Strategy.HOTSWAP && reattach != null ? reattach.hotswap() : null, churnCleanup, device,
                totalMs, blackoutMs, quietMaxGapMicros, classDataArchive);
    }

    /**
     * Runs the kexec while the device keeps doing DMA. The timeline starts where the VM stops making
     * progress: the handover request, or the SIGKILL.
     */
    void run(PipedJvm host, PipedJvm dma) {
        boolean crash = kind == KexecKind.CRASH;
        HostReply.HostState before = host.call(new HostCommand.State(), CALL_TIMEOUT);
        // the device's jitter with no kexec: the window since the previous one ends here
        quietMaxGapMicros = dma.call(new DeviceCommand.Window(), CALL_TIMEOUT).windowMaxGapMicros();
        long t0 = System.nanoTime();
        if (crash) {
            kill(host);
        } else {
            atMs = rehearsal.atMs(t0);
            timeline = new KexecTimeline(t0);
            handover = host.call(new HostCommand.Kexec(), CALL_TIMEOUT);
            long tHandover = System.nanoTime();
            if (handover.quiesceMs() == null) {
                timeline.span("handover", "handover (quiesce, serialise)", KexecTimeline.LIVE_UPDATE, t0, tHandover);
            } else {
                timeline.within(t0, tHandover, KexecTimeline.handoverParts(handover), "handoverOther",
                        "handover: request and reply");
            }
            int status = host.waitFor(Duration.ofSeconds(60));
            timeline.span("oldHostExit", "old host exit", KexecTimeline.LIVE_UPDATE, tHandover, System.nanoTime());
            check("old host exited cleanly", status == 0, "exit status " + status);
        }
        Path mount = work.resolve(WorkDirectory.MOUNT_DIR);
        long tGone = System.nanoTime();
        Map<String, String> hashesBefore = TableHash.ofMount(mount);
        long tDown = System.nanoTime();
        timeline.span("harnessHash", "rehearsal: hash tables", KexecTimeline.HARNESS, tGone, tDown);
        next = rehearsal.startHost();
        classDataArchive = next.classDataArchive();
        long tStart = System.nanoTime();
        String ready = Rehearsal.expectReady(next);
        long tReady = System.nanoTime();
        jvmStartMs = Millis.exact(tReady - tStart);
        hostUptimeAtReadyMs = Long.parseLong(ready.split(" ")[2]);
        boot = next.call(new HostCommand.Boot(), CALL_TIMEOUT);
        long tBoot = System.nanoTime();
        bootMs = Millis.exact(tBoot - tReady);
        timeline.span("jvmStart", "new JVM start", KexecTimeline.LIVE_UPDATE, tDown, tReady);
        timeline.within(tReady, tBoot, KexecTimeline.bootParts(boot), "bootOther", "boot: other");
        timeline.registryOpen(boot, tReady);
        Map<String, String> hashesBoot = TableHash.ofMount(mount);
        check("boot saw the right end", boot.uncleanEnd() == crash,
                crash ? "unclean end detected, recovery ran (" + boot.intent() + ", " + boot.reclaimedPages()
                        + " leaked pages reclaimed, registry recovery " + boot.registryRecoveryMs() + " ms)"
                        : "clean end; " + boot.handover());
        if (!crash) {
            check("boot wrote no descriptor", boot.descriptorWritesAtBoot() == 0,
                    boot.descriptorWritesAtBoot() + " descriptors written by the boot");
            check("tables byte-identical after boot", hashesBoot.equals(hashesBefore),
                    TableHash.diff(hashesBefore, hashesBoot));
        }

        long tReattach = System.nanoTime();
        timeline.span("harnessHash", "rehearsal: hash tables", KexecTimeline.HARNESS, tBoot, tReattach);
        if (rehearsal.takeInjectedFault(FaultInjection.LIVE_UPDATE_MISMATCH)) {
            FaultInjection.liveUpdateMismatch(work.resolve(WorkDirectory.VMM_STATE));
        }
        reattach = next.call(new HostCommand.Reattach(strategy), CALL_TIMEOUT);
        long tUsable = System.nanoTime();
        timeline.within(tReattach, tUsable, KexecTimeline.reattachParts(reattach), "reattachOther", "reattach: other");
        // the reattach returns once every domain is attached and every live-update MAP_DMA accepted:
        // the VMM resumes the guest there
        timeline.span("vmmResumed", "VMM resumed (every domain attached, live-update MAP_DMA accepted)",
                KexecTimeline.LIVE_UPDATE, tUsable, tUsable);
        blackoutMs = timeline.blackoutMs();
        downToUsableMs = Millis.exact(tUsable - tDown);
        check("reattach wrote 0 descriptors (domain attach)", reattach.descriptorWritesAttach() == 0,
                reattach.descriptorWritesAttach() + " written");
        check("live-update MAP_DMA wrote 0 descriptors", reattach.descriptorWritesReestablish() == 0,
                reattach.descriptorWritesReestablish() + " written");
        Map<String, String> hashesAfter = TableHash.ofMount(mount);
        if (strategy == Strategy.ADOPT) {
            // after a crash, recovery may have undone or finished the interrupted ioctl at boot;
            // the reattach itself must change nothing in either case
            check("tables byte-identical after reattach", hashesAfter.equals(hashesBoot),
                    TableHash.diff(hashesBoot, hashesAfter) + (crash ? " (versus the tables as recovery left them; "
                            + "recovery wrote " + boot.descriptorWritesAtBoot() + " descriptors: " + boot.intent() + ")"
                            : ""));
        }
        checkStateKept(before, next.call(new HostCommand.State(), CALL_TIMEOUT), reattach);
        HostReply.Consistency cons = next.call(new HostCommand.Consistency(), CALL_TIMEOUT);
        check("DMA records consistent with tables (each op entirely present or absent)", cons.allConsistent(),
                toJson(cons));
        churnCleanup = crash ? next.call(new HostCommand.ChurnCleanup(), CALL_TIMEOUT) : null;
        device = dma.call(new DeviceCommand.Window(), CALL_TIMEOUT);
        check("DMA kept flowing, no fault", device.faults() == 0, device.translations()
                + " DMAs so far, longest gap in this kexec " + device.windowMaxGapMicros() / 1000.0 + " ms");
        totalMs = Millis.exact(System.nanoTime() - t0);
    }

    /**
     * A crash kexec: SIGKILL the host while ioctls are in flight, at a random instant of churn or
     * frozen at a named step inside one; records how the kill point was chosen and when it came.
     */
    private void kill(PipedJvm host) {
        RehearsalOptions options = rehearsal.options();
        Random random = rehearsal.random();
        String point = options.killPoints().isEmpty() ? "random"
                : options.killPoints().get(random.nextInt(options.killPoints().size()));
        if (point.equals("random")) {
            host.call(new HostCommand.ChurnStart(), CALL_TIMEOUT);
            long delay = 50 + random.nextInt(400);
            // let MAP_DMA/UNMAP_DMA run, then kill at an arbitrary instant of them
            Rehearsal.pause(delay);
            killPoint = "random, after " + delay + " ms of MAP_DMA/UNMAP_DMA churn";
        } else {
            int nth = 1 + random.nextInt(20);
            Path marker = work.resolve(WorkDirectory.FROZEN_MARKER);
            try {
                Files.deleteIfExists(marker);
            } catch (IOException e) {
                throw new RehearsalException("cannot clear " + marker, e);
            }
            host.call(new HostCommand.FreezeAt(point, nth), CALL_TIMEOUT);
            host.call(new HostCommand.ChurnStart(), CALL_TIMEOUT);
            long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
            while (!Files.exists(marker) && System.nanoTime() < deadline) {
                Rehearsal.pause(5);
            }
            if (!Files.exists(marker)) {
                throw new RehearsalException("host never reached kill point " + point);
            }
            killPoint = point + " (the " + nth + "th time)";
        }
        long tKill = System.nanoTime();
        atMs = rehearsal.atMs(tKill);
        killAtMs = atMs;
        timeline = new KexecTimeline(tKill);
        int status = host.sigkill();
        timeline.span("kill", "SIGKILL until reaped", KexecTimeline.LIVE_UPDATE, tKill, System.nanoTime());
        check("old host killed by SIGKILL mid-ioctl", status == 128 + 9, "pid " + host.pid() + " exit status "
                + status + ", kill point " + killPoint);
    }

    /** VMIDs, PASIDs, bindings as before the kexec; faults pending then delivered after the reattach. */
    private void checkStateKept(HostReply.HostState before, HostReply.HostState after, HostReply.Reattached reattach) {
        check("VMIDs as before", after.vmids().equals(before.vmids()),
                toJson(before.vmids()) + " -> " + toJson(after.vmids()));
        check("PASID allocations as before", after.pasids().equals(before.pasids()),
                toJson(before.pasids()) + " -> " + toJson(after.pasids()));
        check("guest bindings as before", after.bindings().equals(before.bindings()),
                before.bindings().size() + " binding(s)");
        check("undelivered faults came back", reattach.faultsDelivered() == before.faultsPending(),
                before.faultsPending() + " pending before, " + reattach.faultsDelivered() + " delivered after");
    }

    private void check(String name, boolean ok, String detail) {
        checks.check(phase, name, ok, detail);
    }
}
