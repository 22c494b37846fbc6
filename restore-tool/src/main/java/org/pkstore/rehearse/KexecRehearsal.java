package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceCommand;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostCommand;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.Registry;
import org.pkstore.report.KexecTimeline;
import org.pkstore.vfio.trace.KexecKind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    private HostReply.CaughtUp catchUp;
    private Double downToUsableMs;
    private HostReply.ChurnCleanedUp churnCleanup;
    private DeviceStats device;
    private Double totalMs;
    private Double blackoutMs;
    private Long quietMaxGapMicros;
    /** The device's longest DMA gap from the kexec's start until the VMM resumed. */
    private Long resumeMaxGapMicros;
    private Boolean classDataArchive;
    private final List<RecoveryKill> recoveryKills = new ArrayList<>();
    private Double recoveryMs;
    private Integer verifyExit;
    /** What the kill interrupted, for the checks after recovery: churn ops, the further VM, a hotswap. */
    private boolean churnRan;
    private boolean hotplugRan;

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
                totalMs, blackoutMs, quietMaxGapMicros, resumeMaxGapMicros, classDataArchive,
                recoveryKills.isEmpty() ? null : List.copyOf(recoveryKills), recoveryMs, verifyExit, catchUp);
    }

    /**
     * Runs the kexec while the device keeps doing DMA. The timeline starts where the VM stops making
     * progress: the handover request, or the SIGKILL.
     */
    void run(PipedJvm host, PipedJvm dma) {
        boolean crash = kind == KexecKind.CRASH;
        // the device's jitter with no kexec, over a window as long as the blackout it is set beside:
        // the longest of a few ms (the State call alone) is no measure of a machine whose jitter
        // comes every few hundred ms (docs/BENCHMARKS.md, "Session 5: the device's longest gap")
        long quietStart = System.nanoTime();
        dma.call(new DeviceCommand.Window(), CALL_TIMEOUT);
        HostReply.HostState before = host.call(new HostCommand.State(), CALL_TIMEOUT);
        Rehearsal.pause(Math.max(0, rehearsal.quietWindowMillis() - (System.nanoTime() - quietStart) / 1_000_000));
        // the quiet window ends where the kexec starts: here, or at the SIGKILL after the churn or
        // the freeze that chooses the kill point (the VM still runs then)
        long tStarted = System.nanoTime();
        DeviceStats quiet = crash ? kill(host, dma) : endQuietWindow(dma);
        // totalMs counts a crash kexec from before the churn that chose its kill point, as before
        long t0 = crash ? tStarted : System.nanoTime();
        if (!crash) {
            atMs = rehearsal.atMs(t0);
            timeline = new KexecTimeline(t0);
            handover = host.call(new HostCommand.Kexec(), CALL_TIMEOUT);
            long tHandover = System.nanoTime();
            if (handover.quiesceMs() == null) {
                timeline.span("handover", "handover (quiesce, serialise)", KexecTimeline.LIVE_UPDATE, t0, tHandover);
            } else {
                // the blackout starts where the host begins to quiesce and the kexec where its freeze
                // is done; the kexec command's way there and the reply's way back are the protocol
                long tQuiesce = KexecTimeline.clampedNanos(handover.quiesceStartNanos(), t0, tHandover);
                long tFrozen = KexecTimeline.clampedNanos(handover.frozenAtNanos(), tQuiesce, tHandover);
                if (tQuiesce == tHandover || tFrozen == tHandover) {
                    tQuiesce = t0; // a host that gave no stamps: the whole exchange, as before
                    tFrozen = tHandover;
                }
                timeline.span("harnessCommand", "rehearsal: kexec command delivered", KexecTimeline.HARNESS, t0,
                        tQuiesce);
                timeline.within(tQuiesce, tFrozen, KexecTimeline.handoverParts(handover), "handoverOther",
                        "handover: other");
                timeline.span("harnessCommand", "rehearsal: kexec reply encoded and read", KexecTimeline.HARNESS,
                        tFrozen, tHandover);
            }
            boolean writesArchive = host.trainsClassDataArchive();
            int status = host.waitFor(Duration.ofSeconds(60));
            // the first host after a build writes its class-data archive as it exits (seconds): the
            // rehearsal's tooling, not the kexec's, so drawn as harness
            timeline.span(writesArchive ? "harnessArchive" : "oldHostExit",
                    writesArchive ? "rehearsal: old host exits writing its class-data archive (first run after a build)"
                            : "old host exit",
                    writesArchive ? KexecTimeline.HARNESS : KexecTimeline.LIVE_UPDATE, tHandover, System.nanoTime());
            check("old host exited cleanly", status == 0, "exit status " + status);
        }
        Path mount = work.resolve(WorkDirectory.MOUNT_DIR);
        long tGone = System.nanoTime();
        if (crash && RehearsalOptions.RECOVERY_POINTS.contains(killPoint.split(" ")[0])) {
            killRecoveringBoots(killPoint.split(" ")[0]);
            long tKilled = System.nanoTime();
            timeline.span("recoveryKills", "recovering boots SIGKILLed", KexecTimeline.LIVE_UPDATE, tGone, tKilled);
            tGone = tKilled;
        }
        // the tables as the host that completes the recovery finds them (the killed recovering boots
        // may have changed them): its boot and the VMM's reattach are compared with these
        Map<String, String> hashesBefore = TableHash.ofMount(mount);
        long tDown = System.nanoTime();
        timeline.span("harnessHash", "rehearsal: hash tables", KexecTimeline.HARNESS, tGone, tDown);
        long tHostStart = tDown;
        next = rehearsal.startHost();
        classDataArchive = next.classDataArchive();
        long tStart = System.nanoTime();
        String ready = Rehearsal.expectReady(next);
        long tReady = System.nanoTime();
        jvmStartMs = Millis.exact(tReady - tStart);
        hostUptimeAtReadyMs = Math.round((Long.parseLong(ready.split(" ")[2]) - tHostStart) / 1e6);
        boot = next.call(new HostCommand.Boot(), CALL_TIMEOUT);
        long tReplied = System.nanoTime();
        // the boot ends where the host says it did; its reply's JSON encoding (the codec made on
        // first use) and the pipe are the rehearsal's protocol, drawn as harness below
        long tBoot = KexecTimeline.clampedNanos(boot.bootEndNanos(), tReady, tReplied);
        bootMs = Millis.exact(tBoot - tReady);
        timeline.span("jvmStart", "new JVM start", KexecTimeline.LIVE_UPDATE, tHostStart, tReady);
        timeline.within(tReady, tBoot, KexecTimeline.bootParts(boot), "bootOther", "boot: other");
        timeline.registryOpen(boot, tReady);
        check("boot saw the right end", boot.uncleanEnd() == crash,
                crash ? "unclean end detected, recovery ran (" + boot.intent() + ", " + boot.reclaimedPages()
                        + " leaked pages reclaimed, mount " + boot.mountMs() + " ms of which registry recovery "
                        + boot.registryRecoveryMs() + " ms, kernel boot " + boot.kernelBootMs() + " ms)"
                        : "clean end; " + boot.handover());
        if (crash) {
            checkRecovery();
        }
        if (!crash) {
            check("boot wrote no descriptor", boot.descriptorWritesAtBoot() == 0,
                    boot.descriptorWritesAtBoot() + " descriptors written by the boot");
        }
        // no check of the rehearsal's runs between the boot and the reattach: what the new host does in
        // the background (the registries' open or recovery, the catch-up) gets no time the blackout
        // does not count; the tables are hashed once the VMM resumed
        long tReattach = System.nanoTime();
        timeline.span("harnessCommand", "rehearsal: boot reply encoded and read", KexecTimeline.HARNESS, tBoot,
                tReattach);
        if (rehearsal.takeInjectedFault(FaultInjection.LIVE_UPDATE_MISMATCH)) {
            FaultInjection.liveUpdateMismatch(work.resolve(WorkDirectory.VMM_STATE));
        }
        reattach = next.call(new HostCommand.Reattach(strategy), CALL_TIMEOUT);
        long tReply = System.nanoTime();
        // the VMM resumed the guest once every domain was attached and every live-update MAP_DMA
        // accepted; the host then read VMIDs and pending faults for the checks below and encoded
        // its reply, and before it the command reached the host: the rehearsal's protocol (harness)
        long tUsable = KexecTimeline.resumedNanos(reattach, tReattach, tReply);
        long tHandler = KexecTimeline.handlerStartNanos(reattach, tReattach, tUsable);
        timeline.span("harnessCommand", "rehearsal: reattach command delivered", KexecTimeline.HARNESS, tReattach,
                tHandler);
        timeline.within(tHandler, tUsable, KexecTimeline.reattachParts(reattach), "reattachOther", "reattach: other");
        timeline.span("vmmResumed", "VMM resumed (every domain attached, live-update MAP_DMA accepted)",
                KexecTimeline.LIVE_UPDATE, tUsable, tUsable);
        timeline.span("harnessVmmReads", "rehearsal: VMIDs and pending faults read, reply sent (after resume)",
                KexecTimeline.HARNESS, tUsable, tReply);
        // the device's window up to the resume: what the kexec did to DMA, without the checks below
        DeviceStats atResume = dma.call(new DeviceCommand.Window(), CALL_TIMEOUT);
        resumeMaxGapMicros = atResume.windowMaxGapMicros();
        blackoutMs = timeline.blackoutMs();
        downToUsableMs = Millis.exact(tUsable - tDown);
        check("reattach wrote 0 descriptors (domain attach)", reattach.descriptorWritesAttach() == 0,
                reattach.descriptorWritesAttach() + " written");
        check("live-update MAP_DMA wrote 0 descriptors", reattach.descriptorWritesReestablish() == 0,
                reattach.descriptorWritesReestablish() + " written");
        Map<String, String> hashesAfter = TableHash.ofMount(mount);
        // record mode's catch-up (registries' open, recovery's registry part, the reattach's records)
        // ran beside the reattach: waited for here, after the VMM resumed
        catchUp = next.call(new HostCommand.CatchUp(), CALL_TIMEOUT);
        timeline.catchUp(catchUp, boot.uncleanEnd(), tReady);
        if (catchUp.catchUpMs() != null) {
            check("preserved record agreed with the registries at the catch-up", catchUp.difference() == null,
                    catchUp.difference() == null ? "the VMM was served from the record (" + boot.preservedRecord()
                            + "); catch-up by " + catchUp.owner() + ", waits " + catchUp.waits()
                            : "served from a record that differs: " + catchUp.difference());
            // the reachability sweep runs in the catch-up: the pages it gives back are its, not the reattach's
            catchUp.reclaimedPages().keySet().forEach(f -> {
                hashesAfter.remove(f);
                hashesBefore.remove(f);
            });
        }
        if (strategy == Strategy.ADOPT) {
            // versus the tables before the new host started: neither its boot nor the VMM's reattach
            // changed a byte; after a crash, the files the boot's recovery wrote (undoing or finishing
            // the interrupted ioctl) are left out, and its descriptor counts are the evidence there
            Map<String, Long> recoveryWrites = boot.tableChangesAtBootByFile() == null ? Map.of()
                    : boot.tableChangesAtBootByFile();
            if (crash) {
                recoveryWrites.keySet().forEach(f -> {
                    hashesAfter.remove(f);
                    hashesBefore.remove(f);
                });
            }
            check("tables byte-identical after reattach", hashesAfter.equals(hashesBefore),
                    TableHash.diff(hashesBefore, hashesAfter) + " (boot and reattach, versus before the new host started"
                            + (crash ? "; the boot's recovery wrote " + boot.descriptorWritesAtBoot() + " descriptors"
                            + (recoveryWrites.isEmpty() ? "" : ", changing " + recoveryWrites) + ": " + boot.intent() : "")
                            + ")");
        }
        checkStateKept(before, next.call(new HostCommand.State(), CALL_TIMEOUT), reattach);
        HostReply.Consistency cons = next.call(new HostCommand.Consistency(), CALL_TIMEOUT);
        check("DMA records consistent with tables (each op entirely present or absent)", cons.allConsistent(),
                toJson(cons));
        if (churnRan) {
            acknowledged().checkChurn(next.call(new HostCommand.ChurnWindow(), CALL_TIMEOUT));
        }
        churnCleanup = crash ? next.call(new HostCommand.ChurnCleanup(), CALL_TIMEOUT) : null;
        if (crash) {
            verify();
        }
        if (hotplugRan) {
            next.call(new HostCommand.HotplugRelease(), CALL_TIMEOUT);
        }
        device = wholeKexec(dma.call(new DeviceCommand.Window(), CALL_TIMEOUT), atResume);
        check("DMA kept flowing, no fault", device.faults() == 0, device.translations()
                + " DMAs so far, longest gap in this kexec " + device.windowMaxGapMicros() / 1000.0 + " ms");
        long pasidDmas = device.pasidTranslations() - quiet.pasidTranslations();
        if (rehearsal.hasGuestStage1()) {
            check("PASID DMA kept flowing through both stages, no fault",
                    device.pasidFaults() == 0 && pasidDmas > 0,
                    pasidDmas + " PASID DMAs in this kexec, " + device.pasidTranslations() + " so far, "
                            + device.pasidFaults() + " faults" + (device.pasidFaults() > 0 ? "; first: " + device.firstFault() : ""));
            rehearsal.checkPasidLanding(phase);
        }
        totalMs = Millis.exact(System.nanoTime() - t0);
    }

    /** The device's stats at the kexec's end with the longest gap of the whole kexec (until the resume, and after). */
    private static DeviceStats wholeKexec(DeviceStats end, DeviceStats atResume) {
        return new DeviceStats(end.translations(), end.faults(), end.corruptions(), end.maxGapMicros(),
                Math.max(end.windowMaxGapMicros(), atResume.windowMaxGapMicros()), end.rootSwitches(), end.firstFault(),
                end.slotsChecked(), end.slotsLost(), end.pasidTranslations(), end.pasidFaults());
    }

    /** Ends the device's quiet window (the kexec starts next). */
    private DeviceStats endQuietWindow(PipedJvm dma) {
        DeviceStats quiet = dma.call(new DeviceCommand.Window(), CALL_TIMEOUT);
        quietMaxGapMicros = quiet.windowMaxGapMicros();
        return quiet;
    }

    /**
     * A crash kexec: SIGKILL the host at a kill point chosen from the options: a random instant of
     * MAP_DMA/UNMAP_DMA churn, or frozen at a named step inside MAP_DMA/UNMAP_DMA (churn), inside
     * the attach of a further VM (setup) or inside a hotswap; a recovery point kills the host at a
     * random instant of churn here and its recovering boots after ({@link #killRecoveringBoots}).
     * Records how the kill point was chosen and when it came. Returns the device's quiet window, read
     * right before the SIGKILL.
     */
    private DeviceStats kill(PipedJvm host, PipedJvm dma) {
        Random random = rehearsal.random();
        String point = rehearsal.nextKillPoint();
        deleteIfExists(work.resolve(WorkDirectory.CHURN_ACKS));
        deleteIfExists(work.resolve(WorkDirectory.HOTPLUG_ACKS));
        if (point.equals("random") || RehearsalOptions.RECOVERY_POINTS.contains(point)) {
            host.call(new HostCommand.ChurnStart(), CALL_TIMEOUT);
            churnRan = true;
            long delay = 50 + random.nextInt(400);
            // let MAP_DMA/UNMAP_DMA run, then kill at an arbitrary instant of them
            Rehearsal.pause(delay);
            killPoint = point.equals("random") ? "random, after " + delay + " ms of MAP_DMA/UNMAP_DMA churn"
                    : point + " (the old host killed after " + delay + " ms of churn)";
        } else {
            boolean churn = RehearsalOptions.CHURN_POINTS.contains(point);
            int nth = churn ? 1 + random.nextInt(20) : 1;
            Path marker = work.resolve(WorkDirectory.FROZEN_MARKER);
            deleteIfExists(marker);
            host.call(new HostCommand.FreezeAt(point, nth), CALL_TIMEOUT);
            String what;
            if (churn) {
                host.call(new HostCommand.ChurnStart(), CALL_TIMEOUT);
                churnRan = true;
                what = "";
            } else if (RehearsalOptions.HOTSWAP_POINTS.contains(point)) {
                int container = random.nextInt(2);
                host.send(new HostCommand.Hotswap(container));
                what = ", hotswapping container " + container;
            } else {
                host.send(new HostCommand.Hotplug());
                hotplugRan = true;
                what = ", attaching a further VM (groups 3, 4)";
            }
            String reply = awaitFrozen(host, marker, !churn);
            killPoint = point + " (the " + nth + "th time" + what + ")";
            check("host reached kill point " + point, reply == null,
                    reply == null ? killPoint : "the operation ended without reaching it: " + reply);
        }
        DeviceStats quiet = endQuietWindow(dma);
        long tKill = System.nanoTime();
        atMs = rehearsal.atMs(tKill);
        killAtMs = atMs;
        timeline = new KexecTimeline(tKill);
        int status = host.sigkill();
        timeline.span("kill", "SIGKILL until reaped", KexecTimeline.LIVE_UPDATE, tKill, System.nanoTime());
        check("old host killed by SIGKILL mid-ioctl", status == 128 + 9, "pid " + host.pid() + " exit status "
                + status + ", kill point " + killPoint);
        return quiet;
    }

    /**
     * Waits until the host wrote the frozen marker (null), or, when {@code replyEnds}, until the
     * operation sent without waiting answered first (its reply line: the point was never reached).
     */
    private static String awaitFrozen(PipedJvm host, Path marker, boolean replyEnds) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(marker)) {
                return null;
            }
            if (replyEnds) {
                String line = host.readLine(Duration.ofMillis(5));
                if (line != null) {
                    return line;
                }
                if (!host.isAlive()) {
                    return "the host died; see " + host.log();
                }
            } else {
                Rehearsal.pause(5);
            }
        }
        throw new RehearsalException("host never reached its kill point within " + BOOT_TIMEOUT.toSeconds() + " s");
    }

    /**
     * A recovery kill point: the recovering boot is SIGKILLed 1 to {@code recoveryKills} times in a
     * row, each at {@code point} (a registry's recovery step, on a registry chosen at random, or a
     * random instant of the boot); the host that boots after them recovers for good.
     */
    private void killRecoveringBoots(String point) {
        Random random = rehearsal.random();
        int kills = 1 + random.nextInt(Math.max(1, rehearsal.options().recoveryKills()));
        Path marker = work.resolve(WorkDirectory.FROZEN_MARKER);
        for (int i = 0; i < kills; i++) {
            PipedJvm boot = rehearsal.startHost();
            try {
                Rehearsal.expectReady(boot);
                String file = null;
                String reply;
                long tBoot;
                if (point.equals("recovery:random")) {
                    long delay = random.nextInt(1500);
                    boot.send(new HostCommand.Boot());
                    tBoot = System.nanoTime();
                    reply = boot.readLine(Duration.ofMillis(delay));
                } else {
                    String step = switch (point) {
                        case "recovery:copied" -> "COPIED";
                        case "recovery:recovering" -> "RECOVERING";
                        case "recovery:recovered" -> "RECOVERED";
                        default -> "RECOVERY_PUBLISHED";
                    };
                    String registry = Registries.NAMES.get(random.nextInt(Registries.NAMES.size())) + ".cmap";
                    file = step.equals("RECOVERY_PUBLISHED") ? registry : registry + Registry.RECOVERING_SUFFIX;
                    deleteIfExists(marker);
                    boot.call(new HostCommand.FreezeBootAt(step, file), CALL_TIMEOUT);
                    boot.send(new HostCommand.Boot());
                    tBoot = System.nanoTime();
                    reply = awaitFrozen(boot, marker, true);
                }
                double afterMs = Millis.exact(System.nanoTime() - tBoot);
                int status = boot.sigkill();
                recoveryKills.add(new RecoveryKill(point, file, reply == null, afterMs));
                check("recovering boot " + (i + 1) + " killed by SIGKILL", status == 128 + 9, "pid " + boot.pid()
                        + " exit status " + status + " at " + point + (file == null ? "" : " on " + file)
                        + (reply == null ? "" : " (the boot completed first: killed after it)")
                        + ", " + afterMs + " ms into the boot");
            } finally {
                boot.close();
            }
        }
    }

    /**
     * After a crash's boot: the further VM all-or-nothing, read before anything reclaims it. The
     * recovery time is reported ({@code recoveryMs}), not checked here: it is the JVM's cold start
     * of Chronicle Map as much as recovery, and a shared machine's load moves it by seconds; the
     * kill loop (tests/KillLoopTest) bounds it.
     */
    private void checkRecovery() {
        recoveryMs = (double) (boot.mountMs() + boot.kernelBootMs());
        if (hotplugRan) {
            acknowledged().checkHotplug(next.call(new HostCommand.HotplugState(), CALL_TIMEOUT));
        }
    }

    /**
     * {@code pkstore verify} of the recovered mount, beside the host, once the VMM has its
     * configuration back: the churn window unmapped. Not earlier: the churn maps that window in the
     * first container only while both share one VMID, which verify reports (shared-vmid, docs/UAPI.md
     * SET_VMID row: one tag, one configuration) whenever a churn range is mapped, killed or not. The
     * further VM is still as recovery left it.
     */
    private void verify() {
        MountVerification v = MountVerification.of(work.resolve(WorkDirectory.MOUNT_DIR));
        verifyExit = v.exitStatus();
        check("pkstore verify exits 0 after recovery", v.clean(),
                v.clean() ? "exit 0" : "exit " + v.exitStatus() + ": " + v.output());
    }

    private AcknowledgedOps acknowledged() {
        return new AcknowledgedOps(work, phase + ", kill point " + killPoint, this::check);
    }

    private static void deleteIfExists(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new RehearsalException("cannot clear " + p, e);
        }
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
