package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceCommand;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostCommand;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.ReplyLine;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.cli.MountDomains;
import org.pkstore.persist.ClassDataArchive;
import org.pkstore.persist.JavaCommand;
import org.pkstore.report.ReportSchema;
import org.pkstore.vfio.trace.KexecKind;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * The live-update rehearsal: a host JVM sets up a VM with two assigned devices, a device JVM does
 * DMA through the IOMMU state in pkernfs the whole time, and the host is replaced by kexec, planned
 * (quiesce, handover, clean unmount, exit) or crash (SIGKILL while ioctls are in flight), several
 * times ({@link KexecRehearsal}). After each kexec the new host boots, reattaches, and everything is
 * checked: zero descriptors written, page tables byte-identical, VMIDs, PASIDs, bindings and pending
 * faults as they were, DMA records consistent with the tables, no DMA fault, and the device's data
 * intact.
 */
public final class Rehearsal {
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(120);
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(300);

    private final RehearsalOptions options;
    private final RehearsalChecks checks;
    private final Random random;
    private final Path work;
    private final Path logs;
    private int generationSeen;
    /** The rehearsal's clock origin: every {@code atMs} of the report counts from here. */
    private long runStartNanos;
    private String startedAt;
    /** Where the rehearsal is, for the failed check an abort records. */
    private String stage = "setup";
    private String injectedFault;
    private String aborted;

    // the report, as far as the rehearsal got
    private HostReply.Booted firstBoot;
    private HostReply.SetUp setup;
    /** The guest's first-stage table and bound PASID, once set up; null without PASIDs. */
    private VmmState.Stage1 guestStage1;
    private HostReply.HostState initialState;
    private final List<KexecPhase> phases = new ArrayList<>();
    private final List<String> killPointDeck = new ArrayList<>();
    private HostReply.Rebuilt replayRebuild;
    private Map<String, ReattachVersusRebuild> reattachVersusRebuild;
    private DeviceSeriesReport deviceSeries;
    private DeviceStats device;
    private List<MountDomains.Domain> domains;
    /** Which CPU each process got: the device alone on one, everything else on the others. */
    private CpuPinning cpus;

    public Rehearsal(RehearsalOptions options, PrintWriter progress) {
        this.options = options;
        this.checks = new RehearsalChecks(progress);
        this.random = new Random(options.seed());
        this.work = options.workDir();
        this.logs = work.resolve(WorkDirectory.LOGS);
    }

    /** The report so far; complete once {@link #run()} returned. */
    public RehearsalReport report() {
        return new RehearsalReport(ReportSchema.VERSION, startedAt, work.toString(),
                work.resolve(WorkDirectory.MOUNT_DIR).toString(), options.driver(), options.seed(), List.copyOf(phases),
                options.strategy(), options.killPoints(), options.plan(), System.getProperty("java.version"), cpus, firstBoot,
                setup, initialState, replayRebuild, reattachVersusRebuild, deviceSeries, device, domains, checks(),
                passed(), aborted);
    }

    public List<Check> checks() { return checks.all(); }
    public boolean passed() { return checks.allPassed(); }

    /**
     * Makes this rehearsal fail on purpose, so that a CI can see its reports fail:
     * {@value FaultInjection#LIVE_UPDATE_MISMATCH} (see {@link FaultInjection}).
     */
    public void injectFault(String fault) { this.injectedFault = fault; }

    /**
     * Runs the rehearsal. When it cannot complete, the report still gets its checks, a failed one
     * for the step that stopped it, and {@code aborted}; then the exception goes on.
     */
    public void run() throws IOException {
        runStartNanos = System.nanoTime();
        startedAt = Instant.now().toString();
        // before the first host starts: every host JVM inherits this process's CPUs
        cpus = CpuPinning.plan().pinThisProcess();
        checks.say("CPUs: " + cpus.describe());
        try {
            runSteps();
        } catch (RehearsalException e) {
            checks.check(stage, "rehearsal step completed", false, e.getMessage());
            aborted = e.getMessage();
            throw e;
        } finally {
            cpus.unpinThisProcess();
        }
    }

    private void runSteps() throws IOException {
        Files.createDirectories(logs);
        checks.say("booting the first host (generation 1)");
        PipedJvm host = startHost();
        PipedJvm dma = null;
        try {
            expectReady(host);
            firstBoot = host.call(new HostCommand.Boot(), CALL_TIMEOUT);
            checks.say("VMM: guest memory, two containers with persistent page tables, MAP_DMA, VMID, PASIDs, bind");
            setup = host.call(new HostCommand.Setup(options.plan()), CALL_TIMEOUT);
            initialState = host.call(new HostCommand.State(), CALL_TIMEOUT);

            Path targets = writeTargets();
            checks.say("starting the DMA device (its own JVM, reading pkernfs read-only)");
            dma = PipedJvm.start("device", DmaDeviceMain.class, logs.resolve("device.log"), cpus::deviceCommand,
                    work.resolve(WorkDirectory.MOUNT_DIR).toString(), targets.toString());
            expectReady(dma);
            waitForDma(dma);
            dma.call(new DeviceCommand.Window(), CALL_TIMEOUT);

            int planned = 0;
            for (int i = 0; i < options.kexecs().size(); i++) {
                KexecKind kind = options.kexecs().get(i);
                Strategy strategy = options.strategy().forKexec(kind, planned);
                if (kind == KexecKind.PLANNED) {
                    planned++;
                }
                String phase = "kexec " + (i + 1) + " (" + RehearsalOptions.kexecName(kind) + ", " + strategy + ")";
                checks.say(phase);
                stage = phase;
                KexecRehearsal k = new KexecRehearsal(this, phase, kind, strategy);
                try {
                    k.run(host, dma);
                } finally {
                    // a kexec that stopped part-way is reported as far as it got
                    phases.add(k.phase());
                    if (k.nextHost() != null) {
                        host.close();
                        host = k.nextHost();
                    }
                }
            }
            stage = "end";

            checks.say("measuring the alternative: rebuilding the tables by replaying every mapping");
            replayRebuild = host.call(new HostCommand.Rebuild(), CALL_TIMEOUT);
            compareRebuild();

            checks.say("stopping the device and checking every slot it wrote");
            deviceSeries = DeviceSeriesReport.placed(dma.call(new DeviceCommand.Series(), CALL_TIMEOUT),
                    atMs(System.nanoTime()));
            device = dma.call(new DeviceCommand.Stop(), CALL_TIMEOUT);
            dma.waitFor(Duration.ofSeconds(30));
            checks.check("end", "device faults on mapped IOVAs", device.faults() == 0,
                    device.faults() + " faults" + (device.firstFault() == null ? "" : ", first: " + device.firstFault()));
            checks.check("end", "device read-back mismatches", device.corruptions() == 0,
                    device.corruptions() + " mismatches in " + device.translations() + " DMAs");
            checks.check("end", "data the device wrote is intact", device.slotsLost() == 0 && device.slotsChecked() > 0,
                    device.slotsChecked() + " slots checked, " + device.slotsLost() + " lost");
            checks.check("end", "PASID DMA faults (nested: guest stage 1, then stage 2)", device.pasidFaults() == 0,
                    device.pasidTranslations() + " PASID DMAs, " + device.pasidFaults() + " faults");
            checkPasidLanding("end");
            host.call(new HostCommand.Quit(), CALL_TIMEOUT);
            host.waitFor(Duration.ofSeconds(60));
            domains = MountDomains.of(work.resolve(WorkDirectory.MOUNT_DIR));
        } finally {
            host.close();
            if (dma != null) {
                if (deviceSeries == null && dma.isAlive()) {
                    // a rehearsal that stops early still shows what the device saw until then
                    try {
                        deviceSeries = DeviceSeriesReport.placed(dma.call(new DeviceCommand.Series(), CALL_TIMEOUT),
                                atMs(System.nanoTime()));
                    } catch (RehearsalException ignored) {
                        // the device is gone too: the report says why the rehearsal stopped
                    }
                }
                dma.close();
            }
        }
    }

    /**
     * Every page of the guest's PASID buffer holds the device's PASID DMA at the guest-physical page
     * the guest mapped, found by an independent stage-2 walk ({@link PasidLanding}).
     */
    boolean hasGuestStage1() {
        return guestStage1 != null;
    }

    void checkPasidLanding(String phase) {
        if (guestStage1 == null) {
            return;
        }
        PasidLanding.Result r = PasidLanding.check(work.resolve(WorkDirectory.MOUNT_DIR), guestStage1);
        checks.check(phase, "PASID DMA landed at the guest-physical pages the guest mapped", r.allLanded(),
                r.landed() + "/" + r.slots() + " pages (PASID " + guestStage1.pasid + ", " + guestStage1.format
                        + " root GPA 0x" + Long.toHexString(guestStage1.rootGpa) + ")"
                        + (r.firstBad() == null ? "" : "; first wrong: " + r.firstBad()));
    }

    /** The shortest quiet window before a kexec, ms: longer than a blackout on this machine. */
    static final long QUIET_WINDOW_MIN_MS = 1_000;

    /**
     * How long the device runs with no kexec before each one, its {@code quietMaxGapMicros} window:
     * {@link #QUIET_WINDOW_MIN_MS}, or the longest blackout so far in this run when longer, so that
     * the quiet longest gap and the kexec's are maxima over windows of about the same length.
     */
    long quietWindowMillis() {
        double longest = QUIET_WINDOW_MIN_MS;
        for (KexecPhase p : phases) {
            if (p.blackoutMs() != null) {
                longest = Math.max(longest, p.blackoutMs());
            }
        }
        return (long) Math.ceil(longest);
    }

    /** ms since the rehearsal started, on its clock. */
    double atMs(long nanos) {
        return Millis.exact(nanos - runStartNanos);
    }

    /** True once, when {@code fault} was asked for: the caller injects it. */
    boolean takeInjectedFault(String fault) {
        if (fault.equals(injectedFault)) {
            injectedFault = null;
            return true;
        }
        return false;
    }

    /**
     * Reattach versus rebuild, per container: the domain attach time is the minimum over every
     * adopt kexec of the run (the least disturbed sample on a shared machine), the live-update
     * re-establishment and the replay rebuild are from the last adopt kexec and the final host.
     */
    private void compareRebuild() {
        Map<String, ReattachVersusRebuild> cmp = new LinkedHashMap<>();
        List<HostReply.ContainerRebuild> rebuilt = new ArrayList<>(replayRebuild.containers().values());
        for (KexecPhase p : phases) {
            if (p.strategy() != Strategy.ADOPT || p.reattach() == null) {
                continue;
            }
            List<HostReply.ContainerReattach> cs = p.reattach().containers();
            for (int c = 0; c < cs.size() && c < rebuilt.size(); c++) {
                HostReply.ContainerReattach ca = cs.get(c);
                double replay = rebuilt.get(c).rebuildMs();
                ReattachVersusRebuild sample = new ReattachVersusRebuild(ca.mappings4k(), ca.domainAttachMs(), 1,
                        ca.reestablishMs(), replay, ReattachVersusRebuild.ratio(replay, ca.domainAttachMs()));
                cmp.merge(ca.pgtableFile(), sample, (earlier, latest) -> latest.after(earlier));
            }
        }
        reattachVersusRebuild = cmp;
        if (!cmp.isEmpty() && setup != null && setup.emptyAttachMs() > 0) {
            // both domains map the same guest (one VMID, one configuration), so the small side of the
            // comparison is the first boot's attach before anything was mapped: the slower of the two
            // containers', because neither JVM warms its code up (docs/REPORT.md, the attach check)
            List<ReattachVersusRebuild> vals = new ArrayList<>(cmp.values());
            ReattachVersusRebuild full = vals.get(vals.size() - 1);
            double a = setup.emptyAttachMs();
            double b = full.domainAttachMs();
            // flat means: the full domain may not cost even 2x the empty one (5 ms slack for a noisy machine)
            checks.check("end", "domain attach does not grow with the mapping count", b <= 2 * a + 5.0,
                    String.format("second domain: empty at first boot (the slower of the two attaches, cold code) %.2f ms;"
                            + " %,d mappings, best of %s adopt kexecs %.2f ms",
                            a, full.mappings4k(), full.adoptSamples(), b));
        }
    }

    private Path writeTargets() throws IOException {
        VmmState vmm = VmmState.read(work.resolve(WorkDirectory.VMM_STATE));
        StringBuilder sb = new StringBuilder();
        int slots = options.slotsPerMapping();
        for (int ci = 0; ci < vmm.containers.size(); ci++) {
            VmmState.Container c = vmm.containers.get(ci);
            for (VmmState.Mapping m : c.mappings) {
                for (int j = 0; j < slots; j++) {
                    // both devices see the same guest RAM: give each its own bytes of every page
                    long off = ((m.size / slots * j) & ~4095L) + 512L * ci + 8L * j;
                    sb.append(c.bdf).append(" 0x").append(Long.toHexString(m.iova + off)).append('\n');
                }
            }
        }
        VmmState.Stage1 s1 = vmm.stage1;
        guestStage1 = s1;
        if (s1 != null) {
            // one slot in every page of the guest's PASID buffer, at its guest virtual address
            for (int i = 0; i < s1.pageGpas.size(); i++) {
                sb.append(s1.bdf).append(" 0x").append(Long.toHexString(PasidLanding.slotVa(s1, i))).append(' ')
                        .append(DmaDeviceMain.PASID_PREFIX).append(s1.pasid).append('\n');
            }
        }
        Path p = work.resolve(WorkDirectory.DMA_TARGETS);
        Files.writeString(p, sb.toString());
        return p;
    }

    private void waitForDma(PipedJvm dma) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            DeviceStats s = dma.call(new DeviceCommand.Stats(), CALL_TIMEOUT);
            if (s.translations() > 0) {
                return;
            }
            if (s.faults() > 0) {
                throw new RehearsalException("device faults before any kexec: " + s.firstFault());
            }
            pause(50);
        }
        throw new RehearsalException("device did no DMA within " + BOOT_TIMEOUT.toSeconds() + " s; see " + dma.log());
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RehearsalException("interrupted", e);
        }
    }

    // ---- what KexecRehearsal uses ----------------------------------------------------------------

    RehearsalOptions options() { return options; }

    /**
     * The kill point of the next crash kexec: the options' points dealt from a shuffled deck, so
     * that every point comes once in each round of as many crash kexecs (random order, by the seed).
     */
    String nextKillPoint() {
        if (options.killPoints().isEmpty()) {
            return "random";
        }
        if (killPointDeck.isEmpty()) {
            killPointDeck.addAll(options.killPoints());
            java.util.Collections.shuffle(killPointDeck, random);
        }
        return killPointDeck.remove(killPointDeck.size() - 1);
    }

    RehearsalChecks checker() { return checks; }
    Random random() { return random; }
    Path work() { return work; }

    PipedJvm startHost() {
        generationSeen++;
        // the first host sets up and never reattaches: a later host (the first after a kexec) trains
        // the class-data archive, so that it holds the boot's and the reattach's classes
        ClassDataArchive archive = ClassDataArchive.forMain(HostMain.class, generationSeen > 1);
        return PipedJvm.start("host", HostMain.class, archive, JavaCommand.SHORT_LIVED_FLAGS,
                logs.resolve("host-" + generationSeen + ".log"), UnaryOperator.identity(), work.toString(),
                options.driver().configName());
    }

    /** Waits for the child's READY line and returns it. */
    static String expectReady(PipedJvm c) {
        String line = c.readLine(BOOT_TIMEOUT);
        if (line == null || !line.startsWith(ReplyLine.READY)) {
            throw new RehearsalException(c.name() + " did not start: " + line + "; see " + c.log());
        }
        return line;
    }
}
