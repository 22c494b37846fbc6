package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.vfio.trace.KexecKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code pkstore rehearse}: the main job. With no options, a complete live-update rehearsal on a
 * temporary pkernfs mount: one VM, two assigned devices on one VMID, 6 GiB of guest memory mapped
 * with 1 GiB, 2 MiB and 4 KiB pages (1 thousand and 1 million 4 KiB mappings in the two domains),
 * PASIDs and a guest-stage binding, a device doing DMA in its own JVM, then two planned kexecs
 * (adopt, then hotswap) and one crash kexec. Exit status 0 when every check passed, 1 otherwise,
 * 2 when the rehearsal could not run. The report is text, JSON, KTAP and/or an HTML page
 * (docs/REPORT.md; {@link org.pkstore.report}); a rehearsal that could not complete still gets its
 * JSON, KTAP and HTML reports, with the step that stopped it as a failed check.
 */
@Command(name = "rehearse", mixinStandardHelpOptions = true,
        description = {"Rehearse a hypervisor live update: kexec the host JVM (planned and by SIGKILL) while a",
                "device keeps doing DMA, reattach to the same page tables, and verify everything."})
public final class RehearseCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Work directory (the pkernfs mount is DIR/pkernfs); kept for offline inspection. "
                    + "Default: a temporary directory (on /dev/shm when it has 2 GiB free: pkernfs is memory; "
                    + "else the JVM's temporary directory; PKSTORE_TMP names another), deleted afterwards unless --keep.")
    Path dir;

    @Option(names = "--keep", description = "Keep the temporary work directory.")
    boolean keep;

    @Option(names = "--driver", defaultValue = "vtd", paramLabel = "vtd|smmuv3",
            description = "IOMMU driver, and so the page-table format (VT-d second level or ARM LPAE stage 2). Default: ${DEFAULT-VALUE}.")
    String driver;

    @Option(names = "--kexecs", defaultValue = "planned,planned,crash", split = ",", paramLabel = "KIND",
            description = "Sequence of kexecs, each planned or crash. Default: ${DEFAULT-VALUE}.")
    List<String> kexecs;

    @Option(names = "--strategy", defaultValue = "compare", paramLabel = "adopt|hotswap|compare",
            description = "Restore strategy: adopt the preserved tables (pkernfs), hotswap to freshly built ones, "
                    + "or compare (planned kexecs alternate adopt and hotswap). Default: ${DEFAULT-VALUE}.")
    String strategy;

    @Option(names = "--guest-memory", defaultValue = "6G", paramLabel = "SIZE",
            description = "Guest RAM (sparse), e.g. 6G, 512M. Default: ${DEFAULT-VALUE}.")
    String guestMemory;

    @Option(names = "--small-mappings", defaultValue = "1000", paramLabel = "N",
            description = "4 KiB mappings of the guest's small region (mapped in both domains). Default: ${DEFAULT-VALUE}.")
    long smallMappings;

    @Option(names = "--large-mappings", defaultValue = "1000000", paramLabel = "N",
            description = "4 KiB mappings of the guest's bulk region (mapped in both domains). Default: ${DEFAULT-VALUE}.")
    long largeMappings;

    @Option(names = "--kill-points", defaultValue = "random,map:tables,map:record,unmap:tables", split = ",",
            paramLabel = "POINT",
            description = {"Where a crash kexec may SIGKILL the host (one per crash kexec; 'all' for every one):",
                    "  churn: random (an arbitrary instant of MAP_DMA/UNMAP_DMA churn), map:tables (MAP_DMA: tables "
                    + "written, record not yet), map:record (record written, intent still open), unmap:tables "
                    + "(UNMAP_DMA: tables cleared, record still there);",
                    "  setup, the host attaching a further VM (container, group 3, SET_IOMMU, group 4): "
                    + "setiommu:attached (SET_IOMMU: devices attached, no domain record yet), setiommu:domain "
                    + "(domain record written, intent still open), group:attached (GROUP_SET_CONTAINER of group 4 "
                    + "into the live domain: devices attached, group record not yet);",
                    "  hotswap of one domain to fresh tables: hotswap:published (new root in the file header, no "
                    + "device switched), hotswap:device (a device switched), hotswap:switched (all switched, old "
                    + "tree not yet freed);",
                    "  recovery, the old host killed in churn and then the recovering boot killed too (1 to "
                    + "--recovery-kills times in a row): recovery:copied, recovery:recovering, recovery:recovered, "
                    + "recovery:published (a registry's recovery: copied, inside Chronicle's recovery (reached only "
                    + "when it repairs damage, else the boot is killed once it completed), recovered, renamed over "
                    + "the live file; on a registry chosen at random), recovery:random (a random instant of the boot).",
                    "Points are dealt in a shuffled round, so every one comes once per as many crash kexecs. After each: "
                    + "pkstore verify exits 0, acknowledged ops present and the interrupted one entirely present or "
                    + "absent, reattach writes 0 descriptors, tables as recovery left them, no DMA fault; the recovery "
                    + "time is reported (recoveryMs).",
                    "Default: ${DEFAULT-VALUE}."})
    List<String> killPoints;

    @Option(names = "--recovery-kills", defaultValue = "1", paramLabel = "N",
            description = "At a recovery: kill point, kill the recovering boot up to N times in a row (1 to N, at random). "
                    + "Default: ${DEFAULT-VALUE}.")
    int recoveryKills;

    @Option(names = "--seed", paramLabel = "N", description = "Random seed for the kill points (printed; default: time).")
    Long seed;

    @Option(names = "--json", description = "Print the report as JSON on stdout (the same as --format json; docs/REPORT.md).")
    boolean jsonOut;

    @Option(names = "--format", defaultValue = "text", paramLabel = "text|json|ktap",
            description = "Report on stdout: text, json (docs/REPORT.md), or ktap (KTAP version 1, one subtest per "
                    + "kexec, as kernel selftests print it). Default: ${DEFAULT-VALUE}.")
    String format;

    @Option(names = "--html", paramLabel = "FILE",
            description = "Also write the report as one self-contained HTML page (no network needed to view it).")
    Path html;

    @Option(names = "--inject-fault", paramLabel = "FAULT",
            description = "Make the rehearsal fail on purpose, to check that a CI notices: live-update-mismatch "
                    + "(the VMM's idea of a mapping differs from the preserved tables at the first reattach).")
    String injectFault;

    @Override
    public Integer call() throws Exception {
        List<KexecKind> kinds = new ArrayList<>();
        for (String k : kexecs) {
            Optional<KexecKind> kind = RehearsalOptions.kexecByName(k);
            if (kind.isEmpty()) {
                err().println("pkstore rehearse: --kexecs takes planned or crash, not '" + k + "'");
                return 2;
            }
            kinds.add(kind.get());
        }
        List<String> points = new ArrayList<>();
        for (String k : killPoints) {
            if (k.equals("all")) {
                points.addAll(RehearsalOptions.KILL_POINTS);
            } else if (RehearsalOptions.KILL_POINTS.contains(k)) {
                points.add(k);
            } else {
                err().println("pkstore rehearse: --kill-points takes all or " + RehearsalOptions.KILL_POINTS + ", not '" + k + "'");
                return 2;
            }
        }
        if (recoveryKills < 1) {
            err().println("pkstore rehearse: --recovery-kills takes a count of at least 1, not " + recoveryKills);
            return 2;
        }
        Optional<StrategyOption> strategyOption = StrategyOption.byOptionName(strategy);
        if (strategyOption.isEmpty()) {
            err().println("pkstore rehearse: --strategy takes adopt, hotswap or compare, not '" + strategy + "'");
            return 2;
        }
        IommuDriver iommu;
        try {
            iommu = IommuDriver.byConfigName(driver);
        } catch (IllegalArgumentException e) {
            err().println("pkstore rehearse: --driver takes vtd or smmuv3, not '" + driver + "'");
            return 2;
        }
        if (jsonOut) {
            format = "json";
        }
        if (!org.pkstore.report.ReportOutput.FORMATS.contains(format)) {
            err().println("pkstore rehearse: --format takes " + org.pkstore.report.ReportOutput.FORMATS + ", not '" + format + "'");
            return 2;
        }
        if (injectFault != null && !FaultInjection.ALL.contains(injectFault)) {
            err().println("pkstore rehearse: --inject-fault takes " + FaultInjection.ALL + ", not '" + injectFault + "'");
            return 2;
        }
        RehearsalPlan plan = new RehearsalPlan();
        try {
            plan.guestMemoryBytes = parseSize(guestMemory);
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            err().println("pkstore rehearse: --guest-memory takes a size such as 6G or 512M, not '" + guestMemory + "'");
            return 2;
        }
        plan.smallMappings = smallMappings;
        plan.largeMappings = largeMappings;
        if (plan.problem() != null) {
            err().println("pkstore rehearse: " + plan.problem());
            return 2;
        }
        long s = seed != null ? seed : System.nanoTime();
        boolean temp = dir == null;
        Path work = temp ? WorkDirectory.createTemporary("pkstore-rehearsal-") : dir;
        if (!temp && Files.exists(work.resolve(WorkDirectory.MOUNT_DIR))) {
            err().println("pkstore rehearse: " + work.resolve(WorkDirectory.MOUNT_DIR)
                    + " already exists; give an empty or new --dir");
            return 2;
        }
        RehearsalOptions options = new RehearsalOptions(work, iommu, kinds, strategyOption.get(), plan, s, 4,
                List.copyOf(new java.util.LinkedHashSet<>(points)), recoveryKills);
        java.io.PrintWriter progress = err();
        progress.println("pkstore rehearse: seed " + s + ", work directory " + work);
        Rehearsal r = new Rehearsal(options, progress);
        if (injectFault != null) {
            r.injectFault(injectFault);
        }
        boolean completed = false;
        try {
            r.run();
            completed = true;
        } catch (RehearsalException e) {
            err().println("pkstore rehearse: the rehearsal could not complete: " + e.getMessage());
        } finally {
            if (temp && !keep) {
                WorkDirectory.deleteTree(work);
            }
        }
        // an aborted rehearsal still gets its machine-readable reports, with the failed step in them
        if (completed || !format.equals("text") || html != null) {
            String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r.report());
            if (html != null) {
                org.pkstore.report.ReportOutput.writeHtml(json, html);
                err().println("pkstore rehearse: HTML report in " + html);
            }
            if (format.equals("json")) {
                out().println(json);
            } else if (format.equals("ktap")) {
                org.pkstore.report.ReportOutput.printKtap(json, out());
            } else if (completed) {
                RehearsalReportText.print(r, out());
            }
        }
        out().flush();
        return !completed ? 2 : r.passed() ? 0 : 1;
    }

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    private java.io.PrintWriter err() {
        return spec.commandLine().getErr();
    }

    static long parseSize(String s) {
        String t = s.trim().toUpperCase();
        long mult = 1;
        char last = t.charAt(t.length() - 1);
        if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
            mult = last == 'K' ? 1L << 10 : last == 'M' ? 1L << 20 : last == 'G' ? 1L << 30 : 1L << 40;
            t = t.substring(0, t.length() - 1);
        }
        return Long.parseLong(t) * mult;
    }
}
