package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.MessageCodec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** The human-readable rehearsal report; the same data as {@code --json}. */
final class RehearsalReportText {
    private RehearsalReportText() {}

    static void print(Rehearsal r, PrintWriter out) {
        RehearsalReport rep = r.report();
        out.println("pkstore live-update rehearsal");
        out.printf("  driver %s, seed %s, java %s%n", rep.driver().configName(), rep.seed(), rep.java());
        out.printf("  mount  %s%n", rep.mount());
        if (rep.cpus() != null) {
            out.printf("  CPUs   %s%n", rep.cpus().describe());
        }
        HostReply.SetUp s = rep.setup();
        if (s != null) {
            out.printf("  setup: 2 containers sharing VMID %d, PASIDs %s, mapped in %d ms (%,d descriptors written)%n",
                    s.vmid(), MessageCodec.toJson(s.pasids()), s.mapMs(), s.descriptorWrites());
        }
        List<KexecPhase> list = rep.kexecs();
        if (!list.isEmpty()) {
            out.println();
            out.printf("  %-3s %-8s %-8s %10s %9s %12s %12s %8s %10s %7s%n", "#", "kexec", "strategy", "JVM start",
                    "boot", "attach", "re-establish", "writes", "DMA gap", "faults");
            int i = 1;
            long lastDeviceFaults = 0;
            long lastPasidDmas = 0;
            for (KexecPhase p : list) {
                HostReply.Reattached re = p.reattach();
                DeviceStats dev = p.device();
                double attach = 0;
                double reest = 0;
                for (HostReply.ContainerReattach c : re.containers()) {
                    attach += c.domainAttachMs();
                    reest += c.reestablishMs();
                }
                long writes = re.descriptorWritesAttach() + re.descriptorWritesReestablish();
                long faults = dev.faults() - lastDeviceFaults;
                lastDeviceFaults = dev.faults();
                out.printf("  %-3d %-8s %-8s %7.0f ms %6.0f ms %9.2f ms %9.2f ms %8d %7.2f ms %7d%n", i++,
                        RehearsalOptions.kexecName(p.kind()), p.strategy(), p.jvmStartMs(), p.bootMs(), attach, reest,
                        writes, dev.windowMaxGapMicros() / 1000.0, faults);
                if (dev.pasidTranslations() > 0 || dev.pasidFaults() > 0) {
                    out.printf("      PASID DMA (nested): %,d so far, %,d since the previous kexec, %d faults%n",
                            dev.pasidTranslations(), dev.pasidTranslations() - lastPasidDmas, dev.pasidFaults());
                }
                lastPasidDmas = dev.pasidTranslations();
                if (p.blackoutMs() != null) {
                    out.printf("      blackout %.1f ms (quiesce or SIGKILL to VMM resumed, rehearsal checks excluded); "
                                    + "longest DMA gap until the resume %.2f ms (with the checks after it %.2f ms), "
                                    + "quiet window before it %.2f ms; host JVM %s%n",
                            p.blackoutMs(), p.resumeMaxGapMicros() == null ? Double.NaN : p.resumeMaxGapMicros() / 1000.0,
                            dev.windowMaxGapMicros() / 1000.0,
                            p.quietMaxGapMicros() == null ? Double.NaN : p.quietMaxGapMicros() / 1000.0,
                            Boolean.TRUE.equals(p.classDataArchive()) ? "from the class-data archive"
                                    : "without a class-data archive");
                }
                HostReply.Booted b = p.boot();
                if (b != null && b.preservedRecord() != null && b.registryOpenMs() == null) {
                    // record mode: the boot waited for nothing; the open is on the record-mode line below
                    out.printf("      boot: preserved record %s; the boot waited for %.0f ms for the registries%n",
                            b.preservedRecord(), b.registryWaitMs() == null ? 0.0 : b.registryWaitMs());
                } else if (b != null && b.preservedRecord() != null) {
                    out.printf("      boot: preserved record %s; registry %s %.0f ms%s, waited for %.0f ms%n",
                            b.preservedRecord(), b.uncleanEnd() ? "recovery" : "open",
                            b.registryOpenMs() == null ? Double.NaN : b.registryOpenMs(),
                            Boolean.TRUE.equals(b.registriesInBackground()) ? " in the background" : " inline",
                            b.registryWaitMs() == null ? Double.NaN : b.registryWaitMs());
                }
                HostReply.CaughtUp cu = p.catchUp();
                if (cu != null && cu.catchUpMs() != null) {
                    StringBuilder waited = new StringBuilder();
                    cu.waits().forEach(w -> waited.append(String.format(", %s waited %.1f ms", w.operation(), w.ms())));
                    out.printf("      record mode: registry %s %.0f ms in the background, catch-up %.1f ms "
                                    + "(+ %.1f ms before it, outside the lock) by %s%s%s%n",
                            b != null && b.uncleanEnd() ? "recovery" : "open", cu.registryOpenMs(), cu.catchUpMs(),
                            cu.catchUpPrepareMs() == null ? 0.0 : cu.catchUpPrepareMs(),
                            cu.owner(), waited.length() == 0 ? ", no ioctl waited" : waited,
                            cu.difference() == null ? "" : "; RECORD DIFFERED: " + cu.difference());
                    out.printf("        catch-up under the lock: %s%n", cu.parts());
                }
                if (p.hotswap() != null) {
                    for (HostReply.Hotswap h : p.hotswap()) {
                        out.printf("      hotswap %s: rebuilt %,d descriptors in %.2f ms, switched device table in %.3f ms, "
                                        + "freed %d old table pages%n", h.pgtableFile(), h.descriptorsWritten(),
                                h.buildMs(), h.switchMs(), h.oldPagesFreed());
                    }
                }
            }
        }
        Map<String, ReattachVersusRebuild> cmp = rep.reattachVersusRebuild();
        if (cmp != null && !cmp.isEmpty()) {
            out.println();
            out.println("  reattach (adopt) versus rebuilding the tables by replaying every mapping:");
            for (Map.Entry<String, ReattachVersusRebuild> e : cmp.entrySet()) {
                ReattachVersusRebuild v = e.getValue();
                out.printf("    %-8s %,10d 4 KiB mappings: domain attach %.2f ms, live-update MAP_DMA %.2f ms, "
                                + "replay rebuild %.2f ms (%sx the attach)%n", e.getKey(), v.mappings4k(),
                        v.domainAttachMs(), v.liveUpdateReestablishMs(), v.replayRebuildMs(), v.rebuildOverAttach());
            }
        }
        DeviceStats d = rep.device();
        if (d != null) {
            out.println();
            out.printf("  device: %,d DMAs through the preserved tables, %d faults, longest gap %.2f ms, "
                            + "%d/%d slots hold what it last wrote%n", d.translations(), d.faults(),
                    d.maxGapMicros() / 1000.0, d.slotsChecked() - d.slotsLost(), d.slotsChecked());
            if (d.pasidTranslations() > 0 || d.pasidFaults() > 0) {
                out.printf("  PASID DMA: %,d through the guest's stage 1 and stage 2 (nested), %d faults%n",
                        d.pasidTranslations(), d.pasidFaults());
            }
        }
        List<Check> checks = rep.checks();
        long failed = checks.stream().filter(c -> !c.passed()).count();
        out.println();
        out.printf("  checks: %d passed, %d failed%n", checks.size() - failed, failed);
        for (Check c : checks) {
            if (!c.passed()) {
                out.printf("    FAIL [%s] %s: %s%n", c.phase(), c.name(), c.detail());
            }
        }
        out.println();
        out.println(rep.passed()
                ? "VERDICT: PASS - " + checks.size() + " checks held across " + list.size()
                        + " kexecs: no descriptor written on reattach, tables identical, DMA never faulted"
                : "VERDICT: FAIL - " + failed + " of " + checks.size() + " checks failed");
    }
}
