package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.persist.MountLock;
import org.pkstore.persist.MountLockedException;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PersistException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code pkstore verify MOUNT [--repair]}: the full consistency check. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        header = "Check a mount completely; --repair reclaims leaked pages.",
        description = {
                "Checks a pkernfs mount completely: file headers and checksums; every reachable descriptor's "
                + "encoding; every table page inside its file, allocated in the bitmap, reached once, no cycle, "
                + "not shared between domains; leaked pages (allocated, unreachable); physical windows; devices "
                + "against domains; registries against each other, the tables and the device tables (VMIDs, PASID "
                + "owners, bindings, DMA records). Each problem is printed with its file, byte offset (or registry "
                + "key) and reason. Read-only without --repair: no lock taken, safe beside a running host.",
                "",
                "--repair reclaims leaked pages only (PageTableFile.reclaimUnreachable), in files whose walk is "
                + "otherwise clean, on a mount no host holds; it takes the writer lock while it works.",
                "",
                "Exit: 0 no problem; 1 problems found; 2 unusable input or --repair refused (mount held)."})
final class VerifyCommand extends BaseCommand {
    @Mixin
    MountArgument mount;

    @Option(names = "--repair", description = "Reclaim leaked table pages (needs the mount free of any host; takes the writer lock).")
    boolean repair;

    record Summary(int files, int domainFiles, long leaves, long mappedBytes, long tablePages, int deviceTables,
                   int devices, int registryEntries, int errors, int notes) {}

    record Reclaimed(String file, long pages) {}

    record Skipped(String file, String reason) {}

    record RepairOut(int lockHolderPid, List<Reclaimed> reclaimed, List<Skipped> skipped, List<Finding> before) {}

    record Output(String mount, boolean clean, Summary summary, BootVerdict boot, List<Finding> findings, RepairOut repair) {}

    @Override
    int execute() {
        RepairOut repaired = null;
        MountLock lock = null;
        try {
            if (repair) {
                if (!java.nio.file.Files.isDirectory(mount.dir)) {
                    throw CliException.unusable(mount.dir + ": no such directory");
                }
                if (MountLock.isHeld(mount.dir)) {
                    throw CliException.unusable("refusing --repair: " + mount.dir + " is held by pid "
                            + MountLock.recordedHolder(mount.dir) + " (a host is running); verify without --repair, or stop it first");
                }
                try {
                    lock = MountLock.acquire(mount.dir);
                } catch (MountLockedException e) {
                    throw CliException.unusable("refusing --repair: " + e.getMessage());
                }
                repaired = repair();
                // the verification below is read-only like any other: it does not need the lock
                lock.close();
                lock = null;
            }
            try (MountView v = MountView.open(mount.dir)) {
                MountModel m = MountModel.load(v, true, progress("verifying"));
                List<Finding> findings = Verifier.verify(m);
                int errors = (int) findings.stream().filter(Finding::isError).count();
                Summary s = summary(m, findings, errors);
                Output o = new Output(v.dir.toAbsolutePath().toString(), errors == 0, s, BootVerdict.of(v), findings, repaired);
                if (json) {
                    Json.write(out(), o);
                } else {
                    print(o);
                }
                return errors == 0 ? ExitCodes.OK : ExitCodes.FOUND;
            }
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }

    private static Summary summary(MountModel m, List<Finding> findings, int errors) {
        long leaves = 0;
        long bytes = 0;
        long pages = 0;
        for (DomainScan s : m.scans.values()) {
            leaves += s.leaves();
            bytes += s.mappedBytes;
            pages += s.tablePages();
        }
        int devices = 0;
        for (DeviceScan d : m.units) {
            devices += d.devices.size();
        }
        int entries = 0;
        for (int n : m.registrySizes.values()) {
            entries += n;
        }
        return new Summary(m.files.size(), m.view.domainFiles.size(), leaves, bytes, pages, m.view.unitFiles.size(), devices,
                entries, errors, findings.size() - errors);
    }

    /**
     * Under the writer lock: verifies, then in every table file whose only problems are leaked pages,
     * walks again through a writable handle and gives back what that walk did not reach.
     */
    private RepairOut repair() {
        List<Reclaimed> reclaimed = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        List<Finding> before;
        List<Job> jobs = new ArrayList<>();
        List<Long> deviceRoots;
        org.pkstore.persist.IntentJournal.Intent pending;
        try (MountView v = MountView.open(mount.dir)) {
            MountModel m = MountModel.load(v, true, progress("verifying before repair"));
            before = Verifier.verify(m);
            deviceRoots = m.deviceRoots();
            pending = m.pendingIntent;
            for (MountView.TableFile t : v.domainFiles) {
                plan(t, before, jobs, skipped, m.scans.get(t.name()) != null
                        ? DomainScan.leakedPages(t.file(), m.scans.get(t.name()).reachable) : 0);
            }
            for (DeviceScan d : m.units) {
                plan(d.table, before, jobs, skipped, DomainScan.leakedPages(d.table.file(), d.reachable));
            }
        }
        for (Job j : jobs) {
            try {
                long n = reclaim(j, deviceRoots, pending);
                if (n >= 0) {
                    reclaimed.add(new Reclaimed(j.rel, n));
                } else {
                    skipped.add(new Skipped(j.rel, "the tables changed or a walk through the writable handle met a problem"));
                }
            } catch (PersistException | IllegalStateException e) {
                skipped.add(new Skipped(j.rel, e.getMessage()));
            }
        }
        return new RepairOut((int) ProcessHandle.current().pid(), reclaimed, skipped, before);
    }

    private record Job(Path path, String rel, boolean domain) {}

    private static void plan(MountView.TableFile t, List<Finding> findings, List<Job> jobs, List<Skipped> skipped, long leaked) {
        if (!t.ok() || leaked == 0) {
            return;
        }
        for (Finding f : findings) {
            if (f.isError() && t.rel().equals(f.file()) && !"leaked-page".equals(f.kind())) {
                skipped.add(new Skipped(t.rel(), leaked + " leaked pages left alone: the file has other problems ("
                        + f.kind() + " @ " + f.offset() + "), so unreachable may not mean unused"));
                return;
            }
        }
        jobs.add(new Job(t.path(), t.rel(), t.domain()));
    }

    /**
     * Reclaims through a read-write handle what no live root reaches (MountReachability, the boot
     * sweep's definition: header root, device roots, the open intent's trees); -1 when the fresh
     * walk is not clean. Keeps the header's generation and clean flag.
     */
    private static long reclaim(Job j, List<Long> deviceRoots, org.pkstore.persist.IntentJournal.Intent pending) {
        long generation;
        boolean wasClean;
        try (PageTableFile ro = PageTableFile.openReadOnly(j.path())) {
            generation = ro.generation();
            wasClean = ro.clean();
        }
        try (PageTableFile f = PageTableFile.openReadWrite(j.path(), generation)) {
            java.util.BitSet reachable;
            if (j.domain()) {
                int[] problems = new int[1];
                reachable = org.pkstore.vfio.MountReachability.reachable(f, deviceRoots, pending, new PageTableVisitor() {
                    @Override
                    public void problem(int level, long iova, long dpa, long d, String reason) {
                        problems[0]++;
                    }
                });
                if (problems[0] > 0) {
                    restore(f, wasClean);
                    return -1;
                }
            } else {
                DeviceScan s = DeviceScan.run(new MountView.TableFile(j.path(), j.rel(), j.rel(), false, f, null));
                if (s.findings.stream().anyMatch(Finding::isError)) {
                    restore(f, wasClean);
                    return -1;
                }
                reachable = s.reachable;
            }
            long n = f.reclaimUnreachable(reachable);
            restore(f, wasClean);
            return n;
        }
    }

    private static void restore(PageTableFile f, boolean wasClean) {
        if (wasClean) {
            f.markClean();
        }
    }

    private void print(Output o) {
        PrintWriter w = out();
        Summary s = o.summary();
        if (o.repair() != null) {
            RepairOut r = o.repair();
            w.println("repair (writer lock held by pid " + r.lockHolderPid() + " while it worked)");
            for (Reclaimed x : r.reclaimed()) {
                w.println("  reclaimed " + x.pages() + " leaked pages in " + x.file());
            }
            for (Skipped x : r.skipped()) {
                w.println("  skipped " + x.file() + ": " + x.reason());
            }
            if (r.reclaimed().isEmpty() && r.skipped().isEmpty()) {
                w.println("  nothing to reclaim");
            }
            w.println();
        }
        w.println("verify " + o.mount());
        w.printf("  %d files; %d domain files (%d leaves, %s mapped, %d table pages); %d device tables (%d devices);"
                        + " %d registry entries%n", s.files(), s.domainFiles(), s.leaves(), Fmt.size(s.mappedBytes()),
                s.tablePages(), s.deviceTables(), s.devices(), s.registryEntries());
        for (Finding f : o.findings()) {
            w.println(f.line());
        }
        w.println(o.boot().line());
        w.println(s.errors() == 0 ? "result: clean" + (s.notes() > 0 ? " (" + s.notes() + " notes)" : "")
                : "result: " + s.errors() + " problems, " + s.notes() + " notes");
    }
}
