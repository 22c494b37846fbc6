package org.pkstore.rehearse;

import org.pkstore.iommu.IommuDriver;
import org.pkstore.persist.ClassDataArchive;
import org.pkstore.persist.JavaCommand;
import org.pkstore.vfio.trace.KexecKind;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The blackout benchmark (docs/BENCHMARKS.md, blackout; {@code bench/run blackout}): whole host
 * processes, many kexecs. For each of planned and crash at 1K and 1M mappings it runs one rehearsal
 * of {@code REPS} adopt kexecs of that kind (a crash's kill points drawn from the churn points, and
 * at 1M also from the setup and hotswap points and from the recovery points, each set a line of its
 * own) and takes each kexec's {@code blackoutMs}, then, in the
 * same run and on the same mount, {@code REPS} times the floor ({@link TableFloorMain}: a JVM that
 * starts, maps the table files, checks their headers and exits). Prints median, min and max of
 * each and the median ratio, one line per configuration, the host JVM start and boot with and
 * without the class-data archive (a planned 1K rehearsal with archives off), and the device's
 * longest DMA gap during each kexec beside its longest gap in the quiet window before it (medians).
 *
 * <p>Usage: {@code BlackoutBenchMain [REPS]} (default 5), run with the launcher's JVM flags and
 * {@code pkstore.jar} as the class path (bench/run does).
 */
public final class BlackoutBenchMain {
    private BlackoutBenchMain() {}

    public static void main(String[] args) throws IOException {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        PrintWriter out = new PrintWriter(System.out, true);
        out.printf("blackout benchmark: %d kexecs per configuration, java %s%n", reps, Runtime.version());
        out.printf("%-32s %28s %28s %8s %18s %18s %5s %24s%n", "configuration", "blackout ms (median min-max)",
                "floor ms (median min-max)", "ratio", "JVM start ms (med)", "boot ms (med)", "cds",
                "DMA gap / quiet ms (med)");
        runOne(out, "planned adopt 1K, no CDS", KexecKind.PLANNED, 1_000, reps, false, RehearsalOptions.KILL_POINTS);
        trainArchives(out);
        runOne(out, "planned adopt 1K", KexecKind.PLANNED, 1_000, reps, true, RehearsalOptions.KILL_POINTS);
        runOne(out, "planned adopt 1M", KexecKind.PLANNED, 1_000_000, reps, true, RehearsalOptions.KILL_POINTS);
        // a crash during MAP_DMA/UNMAP_DMA churn (the case), then the rarer kill points
        // apart, since their recovery differs in kind (docs/LIVE-UPDATE.md, kill points)
        runOne(out, "crash adopt 1K (churn)", KexecKind.CRASH, 1_000, reps, true, RehearsalOptions.CHURN_POINTS);
        runOne(out, "crash adopt 1M (churn)", KexecKind.CRASH, 1_000_000, reps, true, RehearsalOptions.CHURN_POINTS);
        runOne(out, "crash adopt 1M (setup, hotswap)", KexecKind.CRASH, 1_000_000, reps, true,
                concat(RehearsalOptions.SETUP_POINTS, RehearsalOptions.HOTSWAP_POINTS));
        runOne(out, "crash adopt 1M (recovery)", KexecKind.CRASH, 1_000_000, reps, true, RehearsalOptions.RECOVERY_POINTS);
    }

    /**
     * Right after a build no host archive exists, and the first host after a kexec trains it: one
     * unmeasured planned kexec (1K mappings) makes it, so that every measured kexec starts from it.
     */
    private static void trainArchives(PrintWriter out) throws IOException {
        System.setProperty("pkstore.cds", "on");
        if (ClassDataArchive.forMain(HostMain.class, false).uses()) {
            return;
        }
        RehearsalPlan plan = new RehearsalPlan();
        plan.largeMappings = 1_000;
        Path work = WorkDirectory.createTemporary("pkstore-blackout-");
        long t0 = System.nanoTime();
        try {
            new Rehearsal(new RehearsalOptions(work, IommuDriver.SMMUV3, List.of(KexecKind.PLANNED), StrategyOption.ADOPT,
                    plan, System.nanoTime(), 4, RehearsalOptions.KILL_POINTS), new PrintWriter(new StringWriter())).run();
        } catch (RehearsalException e) {
            out.printf("training the host's class-data archive failed (%s): the first measured kexec trains it%n",
                    e.getMessage());
        } finally {
            WorkDirectory.deleteTree(work);
        }
        out.printf(Locale.ROOT, "(trained the host's class-data archive: one unmeasured kexec, %.1f s)%n",
                (System.nanoTime() - t0) / 1e9);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static void runOne(PrintWriter out, String name, KexecKind kind, long largeMappings, int reps, boolean cds,
                               List<String> killPoints) throws IOException {
        System.setProperty("pkstore.cds", cds ? "on" : "off");
        RehearsalPlan plan = new RehearsalPlan();
        plan.largeMappings = largeMappings;
        Path work = WorkDirectory.createTemporary("pkstore-blackout-");
        StringWriter progress = new StringWriter();
        Rehearsal r = new Rehearsal(new RehearsalOptions(work, IommuDriver.SMMUV3, Collections.nCopies(reps, kind),
                StrategyOption.ADOPT, plan, System.nanoTime(), 4, killPoints),
                new PrintWriter(progress));
        List<Double> blackout = new ArrayList<>();
        List<Double> jvmStart = new ArrayList<>();
        List<Double> boot = new ArrayList<>();
        List<Double> floor = new ArrayList<>();
        List<Double> gap = new ArrayList<>();
        List<Double> quiet = new ArrayList<>();
        int withArchive = 0;
        try {
            r.run();
            for (KexecPhase k : r.report().kexecs()) {
                blackout.add(k.blackoutMs());
                jvmStart.add(k.jvmStartMs());
                boot.add(k.bootMs());
                withArchive += Boolean.TRUE.equals(k.classDataArchive()) ? 1 : 0;
                if (k.device() != null && k.quietMaxGapMicros() != null) {
                    gap.add((k.resumeMaxGapMicros() != null ? k.resumeMaxGapMicros()
                            : k.device().windowMaxGapMicros()) / 1000.0);
                    quiet.add(k.quietMaxGapMicros() / 1000.0);
                }
            }
            Path mount = work.resolve(WorkDirectory.MOUNT_DIR);
            Path log = work.resolve(WorkDirectory.LOGS).resolve("floor.log");
            floorOnce(mount, log); // trains the floor's own archive, as the first host trains the host's
            for (int i = 0; i < reps; i++) {
                floor.add(floorOnce(mount, log));
            }
        } catch (RehearsalException e) {
            out.printf("%-32s could not complete: %s%n", name, e.getMessage());
            return;
        } finally {
            WorkDirectory.deleteTree(work);
        }
        if (!r.passed()) {
            out.printf("%-32s rehearsal FAILED its checks (numbers below are not a valid run)%n", name);
        }
        double ratio = median(blackout) / median(floor);
        out.printf(Locale.ROOT, "%-32s %28s %28s %7.1fx %18.0f %18.0f %2d/%d %24s%n", name, spread(blackout),
                spread(floor), ratio, median(jvmStart), median(boot), withArchive, blackout.size(),
                gap.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f / %.0f", median(gap), median(quiet)));
    }

    /** One floor JVM, start to reaped, on the rehearsal's clock. */
    private static double floorOnce(Path mount, Path log) {
        long t0 = System.nanoTime();
        // on the CPUs the rehearsal gives its host JVMs, started as they are: the floor is compared with those
        CpuPinning cpus = CpuPinning.plan();
        try (PipedJvm floor = PipedJvm.start("floor", TableFloorMain.class, JavaCommand.SHORT_LIVED_FLAGS, log,
                cpus::hostCommand, mount.toString())) {
            int status = floor.waitFor(Duration.ofSeconds(60));
            if (status != 0) {
                throw new RehearsalException("floor JVM exited with " + status + "; see " + log);
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static String spread(List<Double> xs) {
        return String.format(Locale.ROOT, "%.0f (%.0f-%.0f)", median(xs), Collections.min(xs), Collections.max(xs));
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
