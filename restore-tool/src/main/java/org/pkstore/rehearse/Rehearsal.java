package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.report.KexecTimeline;
import org.pkstore.report.ReportSchema;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The live-update rehearsal: a host JVM sets up a VM with two assigned devices, a device JVM does
 * DMA through the IOMMU state in pkernfs the whole time, and the host is replaced by kexec, planned
 * (quiesce, handover, clean unmount, exit) or crash (SIGKILL while ioctls are in flight), several
 * times. After each kexec the new host boots, reattaches, and everything is checked: zero
 * descriptors written, page tables byte-identical, VMIDs, PASIDs, bindings and pending faults as
 * they were, DMA records consistent with the tables, no DMA fault, and the device's data intact.
 */
public final class Rehearsal {
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(300);

    private final RehearsalOptions o;
    private final PrintWriter progress;
    private final ObjectMapper json = new ObjectMapper();
    private final List<Check> checks = new ArrayList<>();
    private final Map<String, Object> report = new LinkedHashMap<>();
    private final Random random;
    private final Path work;
    private final Path logs;
    private int generationSeen;
    /** The rehearsal's clock origin: every {@code atMs} of the report counts from here. */
    private long runStartNanos;
    /** Where the rehearsal is, for the failed check an abort records. */
    private String stage = "setup";
    private String injectedFault;

    public Rehearsal(RehearsalOptions options, PrintWriter progress) {
        this.o = options;
        this.progress = progress;
        this.random = new Random(options.seed());
        this.work = options.workDir();
        this.logs = work.resolve("logs");
    }

    public Map<String, Object> report() { return report; }
    public List<Check> checks() { return checks; }
    public boolean passed() { return !checks.isEmpty() && checks.stream().allMatch(Check::passed); }

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
        report.put("schemaVersion", ReportSchema.VERSION);
        report.put("startedAt", java.time.Instant.now().toString());
        try {
            runSteps();
        } catch (RehearsalException e) {
            check(stage, "rehearsal step completed", false, e.getMessage());
            report.put("aborted", e.getMessage());
            throw e;
        } finally {
            report.put("checks", checks);
            report.put("passed", passed());
        }
    }

    private void runSteps() throws IOException {
        Files.createDirectories(logs);
        report.put("workDir", work.toString());
        report.put("mount", work.resolve(HostSession.MOUNT_DIR).toString());
        report.put("driver", o.driver());
        report.put("seed", o.seed());
        List<Map<String, Object>> phases = new ArrayList<>();
        report.put("kexecs", phases);
        report.put("strategy", o.strategy());
        report.put("killPoints", o.killPoints());
        report.put("plan", o.plan());
        report.put("java", System.getProperty("java.version"));

        say("booting the first host (generation 1)");
        ChildJvm host = startHost();
        ChildJvm device = null;
        try {
            expectReady(host);
            JsonNode boot = call(host, "boot");
            report.put("firstBoot", boot);
            say("VMM: guest memory, two containers with persistent page tables, MAP_DMA, VMID, PASIDs, bind");
            JsonNode setup = call(host, "setup " + json.writeValueAsString(o.plan()));
            report.put("setup", setup);
            JsonNode state0 = call(host, "state");
            report.put("initialState", state0);

            Path targets = writeTargets();
            say("starting the DMA device (its own JVM, reading pkernfs read-only)");
            device = ChildJvm.start("device", DmaDeviceMain.class, logs.resolve("device.log"),
                    work.resolve(HostSession.MOUNT_DIR).toString(), targets.toString());
            expectReady(device);
            waitForDma(device);
            call(device, "window");

            int planned = 0;
            for (int i = 0; i < o.kexecs().size(); i++) {
                String kind = o.kexecs().get(i);
                String strategy = strategyFor(kind, planned);
                if (kind.equals("planned")) {
                    planned++;
                }
                String phase = "kexec " + (i + 1) + " (" + kind + ", " + strategy + ")";
                say(phase);
                stage = phase;
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("kind", kind);
                p.put("strategy", strategy);
                phases.add(p);
                host = kexec(phase, host, device, kind, strategy, p);
            }
            stage = "end";

            say("measuring the alternative: rebuilding the tables by replaying every mapping");
            JsonNode rebuild = call(host, "rebuild");
            report.put("replayRebuild", rebuild);
            compareRebuild(phases, rebuild);

            say("stopping the device and checking every slot it wrote");
            JsonNode series = call(device, "series");
            report.put("deviceSeries", ReportSchema.deviceSeries(series, atMs(System.nanoTime())));
            JsonNode fin = call(device, "stop");
            device.waitFor(Duration.ofSeconds(30));
            report.put("device", fin);
            check("end", "device faults on mapped IOVAs", fin.get("faults").asLong() == 0,
                    fin.get("faults").asLong() + " faults" + (fin.get("firstFault").isNull() ? "" : ", first: "
                            + fin.get("firstFault").asText()));
            check("end", "device read-back mismatches", fin.get("corruptions").asLong() == 0,
                    fin.get("corruptions").asLong() + " mismatches in " + fin.get("translations").asLong() + " DMAs");
            check("end", "data the device wrote is intact", fin.get("slotsLost").asLong() == 0
                            && fin.get("slotsChecked").asLong() > 0,
                    fin.get("slotsChecked").asLong() + " slots checked, " + fin.get("slotsLost").asLong() + " lost");
            call(host, "quit");
            host.waitFor(Duration.ofSeconds(60));
            report.put("domains", org.pkstore.cli.MountDomains.of(work.resolve(HostSession.MOUNT_DIR)));
        } finally {
            host.close();
            if (device != null) {
                if (!report.containsKey("deviceSeries") && device.isAlive()) {
                    // a rehearsal that stops early still shows what the device saw until then
                    try {
                        report.put("deviceSeries", ReportSchema.deviceSeries(call(device, "series"),
                                atMs(System.nanoTime())));
                    } catch (RehearsalException ignored) {
                        // the device is gone too: the report says why the rehearsal stopped
                    }
                }
                device.close();
            }
        }
    }

    /** ms since the rehearsal started, on its clock. */
    private double atMs(long nanos) {
        return Math.round((nanos - runStartNanos) / 1e4) / 100.0;
    }

    private String strategyFor(String kind, int plannedSoFar) {
        if (!o.strategy().equals("compare")) {
            return o.strategy();
        }
        return kind.equals("planned") && plannedSoFar % 2 == 1 ? "hotswap" : "adopt";
    }

    private ChildJvm kexec(String phase, ChildJvm host, ChildJvm device, String kind, String strategy,
                           Map<String, Object> p) {
        JsonNode before = call(host, "state");
        Map<String, String> hashesBefore;
        long t0 = System.nanoTime();
        // the timeline starts where the VM stops making progress: the handover, or the kill
        KexecTimeline timeline;
        if (kind.equals("planned")) {
            p.put("atMs", atMs(t0));
            timeline = new KexecTimeline(t0);
            JsonNode k = call(host, "kexec");
            long tHandover = System.nanoTime();
            timeline.span("handover", "handover (quiesce, serialise)", KexecTimeline.LIVE_UPDATE, t0, tHandover);
            p.put("handover", k);
            int status = host.waitFor(Duration.ofSeconds(60));
            timeline.span("oldHostExit", "old host exit", KexecTimeline.LIVE_UPDATE, tHandover, System.nanoTime());
            check(phase, "old host exited cleanly", status == 0, "exit status " + status);
        } else {
            String point = o.killPoints().isEmpty() ? "random"
                    : o.killPoints().get(random.nextInt(o.killPoints().size()));
            if (point.equals("random")) {
                call(host, "churn-start");
                long delay = 50 + random.nextInt(400);
                // let MAP_DMA/UNMAP_DMA run, then kill at an arbitrary instant of them
                pause(delay);
                p.put("killPoint", "random, after " + delay + " ms of MAP_DMA/UNMAP_DMA churn");
            } else {
                int nth = 1 + random.nextInt(20);
                Path marker = work.resolve(HostSession.FROZEN_MARKER);
                try {
                    Files.deleteIfExists(marker);
                } catch (IOException e) {
                    throw new RehearsalException("cannot clear " + marker, e);
                }
                call(host, "freeze-at " + point + " " + nth);
                call(host, "churn-start");
                long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
                while (!Files.exists(marker) && System.nanoTime() < deadline) {
                    pause(5);
                }
                if (!Files.exists(marker)) {
                    throw new RehearsalException("host never reached kill point " + point);
                }
                p.put("killPoint", point + " (the " + nth + "th time)");
            }
            long tKill = System.nanoTime();
            p.put("atMs", atMs(tKill));
            p.put("killAtMs", atMs(tKill));
            timeline = new KexecTimeline(tKill);
            int status = host.sigkill();
            timeline.span("kill", "SIGKILL until reaped", KexecTimeline.LIVE_UPDATE, tKill, System.nanoTime());
            check(phase, "old host killed by SIGKILL mid-ioctl", status == 128 + 9, "pid " + host.pid() + " exit status "
                    + status + ", kill point " + p.get("killPoint"));
        }
        p.put("timeline", timeline.phases());
        long tGone = System.nanoTime();
        hashesBefore = hashes();
        long tDown = System.nanoTime();
        timeline.span("harnessHash", "rehearsal: hash tables", KexecTimeline.HARNESS, tGone, tDown);
        ChildJvm next = startHost();
        long tStart = System.nanoTime();
        String ready = expectReady(next);
        long tReady = System.nanoTime();
        JsonNode boot = call(next, "boot");
        long tBoot = System.nanoTime();
        Map<String, String> hashesBoot = hashes();
        p.put("jvmStartMs", HostSession.msExact(tReady - tStart));
        p.put("hostUptimeAtReadyMs", Long.parseLong(ready.split(" ")[2]));
        p.put("boot", boot);
        p.put("bootMs", HostSession.msExact(tBoot - tReady));
        timeline.span("jvmStart", "new JVM start", KexecTimeline.LIVE_UPDATE, tDown, tReady);
        timeline.within(tReady, tBoot, KexecTimeline.bootParts(boot), "bootOther", "boot: other");
        boolean crash = kind.equals("crash");
        check(phase, "boot saw the right end", boot.get("uncleanEnd").asBoolean() == crash,
                crash ? "unclean end detected, recovery ran (" + boot.get("intent").asText() + ", "
                        + boot.get("reclaimedPages").asLong() + " leaked pages reclaimed, registry recovery "
                        + boot.get("registryRecoveryMs").asLong() + " ms)" : "clean end; " + boot.get("handover").asText());
        if (crash) {
            p.put("recoveryDescriptorWrites", boot.get("descriptorWritesAtBoot").asLong());
        } else {
            check(phase, "boot wrote no descriptor", boot.get("descriptorWritesAtBoot").asLong() == 0,
                    boot.get("descriptorWritesAtBoot").asLong() + " descriptors written by the boot");
            check(phase, "tables byte-identical after boot", hashesBoot.equals(hashesBefore), diff(hashesBefore, hashesBoot));
        }

        long tReattach = System.nanoTime();
        timeline.span("harnessHash", "rehearsal: hash tables", KexecTimeline.HARNESS, tBoot, tReattach);
        if (FaultInjection.LIVE_UPDATE_MISMATCH.equals(injectedFault)) {
            FaultInjection.liveUpdateMismatch(work.resolve(HostSession.VMM_STATE));
        }
        JsonNode reattach = call(next, "reattach " + strategy);
        long tUsable = System.nanoTime();
        timeline.within(tReattach, tUsable, KexecTimeline.reattachParts(reattach), "reattachOther", "reattach: other");
        p.put("reattach", reattach);
        p.put("downToUsableMs", HostSession.msExact(tUsable - tDown));
        check(phase, "reattach wrote 0 descriptors (domain attach)", reattach.get("descriptorWritesAttach").asLong() == 0,
                reattach.get("descriptorWritesAttach").asLong() + " written");
        check(phase, "live-update MAP_DMA wrote 0 descriptors", reattach.get("descriptorWritesReestablish").asLong() == 0,
                reattach.get("descriptorWritesReestablish").asLong() + " written");
        Map<String, String> hashesAfter = hashes();
        if (strategy.equals("adopt")) {
            // after a crash, recovery may have undone or finished the interrupted ioctl at boot;
            // the reattach itself must change nothing in either case
            check(phase, "tables byte-identical after reattach", hashesAfter.equals(hashesBoot),
                    diff(hashesBoot, hashesAfter) + (crash ? " (versus the tables as recovery left them; recovery wrote "
                            + boot.get("descriptorWritesAtBoot").asLong() + " descriptors: "
                            + boot.get("intent").asText() + ")" : ""));
        } else {
            JsonNode hs = reattach.get("hotswap");
            p.put("hotswap", hs);
        }
        JsonNode after = call(next, "state");
        check(phase, "VMIDs as before", after.get("vmids").equals(before.get("vmids")),
                before.get("vmids") + " -> " + after.get("vmids"));
        check(phase, "PASID allocations as before", after.get("pasids").equals(before.get("pasids")),
                before.get("pasids") + " -> " + after.get("pasids"));
        check(phase, "guest bindings as before", after.get("bindings").equals(before.get("bindings")),
                before.get("bindings").size() + " binding(s)");
        check(phase, "undelivered faults came back", reattach.get("faultsDelivered").asLong()
                        == before.get("faultsPending").asLong(),
                before.get("faultsPending").asLong() + " pending before, " + reattach.get("faultsDelivered").asLong()
                        + " delivered after");
        JsonNode cons = call(next, "consistency");
        boolean consistent = true;
        for (JsonNode c : cons) {
            consistent &= c.get("consistent").asBoolean();
        }
        check(phase, "DMA records consistent with tables (each op entirely present or absent)", consistent, cons.toString());
        if (crash) {
            p.put("churnCleanup", call(next, "churn-cleanup"));
        }
        JsonNode dev = call(device, "window");
        p.put("device", dev);
        check(phase, "DMA kept flowing, no fault", dev.get("faults").asLong() == 0,
                dev.get("translations").asLong() + " DMAs so far, longest gap in this kexec "
                        + dev.get("windowMaxGapMicros").asLong() / 1000.0 + " ms");
        p.put("t", HostSession.msExact(System.nanoTime() - t0));
        return next;
    }

    /**
     * Reattach versus rebuild, per container: the domain attach time is the minimum over every
     * adopt kexec of the run (the least disturbed sample on a shared machine), the live-update
     * re-establishment and the replay rebuild are from the last adopt kexec and the final host.
     */
    private void compareRebuild(List<Map<String, Object>> phases, JsonNode rebuild) {
        Map<String, Object> cmp = new LinkedHashMap<>();
        List<JsonNode> reb = new ArrayList<>();
        rebuild.forEach(reb::add);
        for (Map<String, Object> p : phases) {
            if (!"adopt".equals(p.get("strategy"))) {
                continue;
            }
            JsonNode cs = ((JsonNode) p.get("reattach")).get("containers");
            for (int c = 0; c < cs.size() && c < reb.size(); c++) {
                String name = cs.get(c).get("pgtableFile").asText();
                double attach = cs.get(c).get("domainAttachMs").asDouble();
                double replay = reb.get(c).get("rebuildMs").asDouble();
                @SuppressWarnings("unchecked")
                Map<String, Object> e = (Map<String, Object>) cmp.computeIfAbsent(name, k -> new LinkedHashMap<>());
                double best = e.containsKey("domainAttachMs") ? Math.min((double) e.get("domainAttachMs"), attach) : attach;
                e.put("mappings4k", cs.get(c).get("mappings4k").asLong());
                e.put("domainAttachMs", best);
                e.put("adoptSamples", ((Number) e.getOrDefault("adoptSamples", 0)).intValue() + 1);
                e.put("liveUpdateReestablishMs", cs.get(c).get("reestablishMs").asDouble());
                e.put("replayRebuildMs", replay);
                e.put("rebuildOverAttach", best > 0 ? Math.round(replay / best * 10) / 10.0 : null);
            }
        }
        report.put("reattachVersusRebuild", cmp);
        if (cmp.size() == 2) {
            List<Object> vals = new ArrayList<>(cmp.values());
            @SuppressWarnings("unchecked")
            Map<String, Object> small = (Map<String, Object>) vals.get(0);
            @SuppressWarnings("unchecked")
            Map<String, Object> large = (Map<String, Object>) vals.get(1);
            double a = (double) small.get("domainAttachMs");
            double b = (double) large.get("domainAttachMs");
            long na = (long) small.get("mappings4k");
            long nb = (long) large.get("mappings4k");
            // flat means: 1000x the mappings may not cost even 2x the time (5 ms slack for a noisy machine)
            check("end", "domain attach does not grow with the mapping count", nb <= na || b <= 2 * a + 5.0,
                    String.format("best of %s adopt kexecs: %,d mappings %.2f ms; %,d mappings %.2f ms",
                            small.get("adoptSamples"), na, a, nb, b));
        }
    }

    private Path writeTargets() throws IOException {
        JsonNode vmm = json.readTree(work.resolve(HostSession.VMM_STATE).toFile());
        StringBuilder sb = new StringBuilder();
        int containerIndex = -1;
        for (JsonNode c : vmm.get("containers")) {
            containerIndex++;
            for (JsonNode m : c.get("mappings")) {
                long iova = m.get("iova").asLong();
                long size = m.get("size").asLong();
                int n = o.slotsPerMapping();
                for (int j = 0; j < n; j++) {
                    // both devices see the same guest RAM: give each its own bytes of every page
                    long off = ((size / n * j) & ~4095L) + 512L * containerIndex + 8L * j;
                    sb.append(c.get("bdf").asText()).append(" 0x").append(Long.toHexString(iova + off)).append('\n');
                }
            }
        }
        Path p = work.resolve("dma-targets.txt");
        Files.writeString(p, sb.toString());
        return p;
    }

    private void waitForDma(ChildJvm device) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = call(device, "stats");
            if (s.get("translations").asLong() > 0) {
                return;
            }
            if (s.get("faults").asLong() > 0) {
                throw new RehearsalException("device faults before any kexec: " + s.get("firstFault").asText());
            }
            pause(50);
        }
        throw new RehearsalException("device did no DMA within " + BOOT_TIMEOUT.toSeconds() + " s; see " + device.log());
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RehearsalException("interrupted", e);
        }
    }

    private ChildJvm startHost() {
        generationSeen++;
        return ChildJvm.start("host", HostMain.class, logs.resolve("host-" + generationSeen + ".log"), work.toString(),
                o.driver());
    }

    private String expectReady(ChildJvm c) {
        String line = c.readLine(BOOT_TIMEOUT);
        if (line == null || !line.startsWith("READY")) {
            throw new RehearsalException(c.name() + " did not start: " + line + "; see " + c.log());
        }
        return line;
    }

    private JsonNode call(ChildJvm c, String command) {
        String reply = c.call(command, CALL_TIMEOUT);
        if (reply.startsWith("OK ")) {
            try {
                return json.readTree(reply.substring(3));
            } catch (IOException e) {
                throw new RehearsalException("bad reply from " + c.name() + ": " + reply, e);
            }
        }
        throw new RehearsalException(c.name() + " refused '" + command.split(" ")[0] + "': " + reply
                + " (log: " + c.log() + ")");
    }

    private Map<String, String> hashes() {
        Map<String, String> h = new TreeMap<>();
        Path mount = work.resolve(HostSession.MOUNT_DIR);
        for (String dir : new String[] {PkernfsMount.IOMMU_DIR, PkernfsMount.PGTABLES_DIR}) {
            java.io.File[] fs = mount.resolve(dir).toFile().listFiles();
            if (fs != null) {
                for (java.io.File f : fs) {
                    h.put(dir + "/" + f.getName(), TableHash.of(f.toPath()));
                }
            }
        }
        return h;
    }

    private static String diff(Map<String, String> a, Map<String, String> b) {
        List<String> d = new ArrayList<>();
        for (String k : a.keySet()) {
            if (!a.get(k).equals(b.get(k))) {
                d.add(k + " changed");
            }
        }
        for (String k : b.keySet()) {
            if (!a.containsKey(k)) {
                d.add(k + " new");
            }
        }
        return d.isEmpty() ? a.size() + " table files, SHA-256 " + shortHashes(a) : String.join(", ", d);
    }

    private static String shortHashes(Map<String, String> a) {
        List<String> s = new ArrayList<>();
        a.forEach((k, v) -> s.add(k.substring(k.indexOf('/') + 1) + "=" + v.substring(0, 12)));
        return String.join(" ", s);
    }

    private void check(String phase, String name, boolean ok, String detail) {
        checks.add(new Check(phase, name, ok, detail));
        if (progress != null) {
            progress.println("  " + (ok ? "ok  " : "FAIL") + " " + name + ": " + detail);
            progress.flush();
        }
    }

    private void say(String s) {
        if (progress != null) {
            progress.println("pkstore rehearse: " + s);
            progress.flush();
        }
    }
}
