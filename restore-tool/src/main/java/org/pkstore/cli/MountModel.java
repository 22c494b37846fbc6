package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.MountLock;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.Superblock;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.FaultRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.VmidRecord;
import org.pkstore.vfio.KernelIntent;
import org.pkstore.vfio.MountReachability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the read-only commands know about a mount after one pass: the files with their header
 * fields, every domain's walk, every unit's device table, the registries (entries that decode), and
 * the findings met on the way. Built from a {@link MountView}; reads only.
 */
final class MountModel {
    /** One file of the mount as {@code inspect} lists it (raw header fields, also for a refused file). */
    record FileInfo(String path, String type, String format, Integer version, Long generation, Boolean clean, long size,
                    String problem) {}

    final MountView view;
    final List<FileInfo> files = new ArrayList<>();
    final List<Finding> findings = new ArrayList<>();
    /** Walks of the domain files that opened, by file name (without .pt). */
    final Map<String, DomainScan> scans = new LinkedHashMap<>();
    final List<DeviceScan> units = new ArrayList<>();
    boolean registriesRead;
    /** The journal's open intent when the mount was loaded, or null. */
    IntentJournal.Intent pendingIntent;
    Map<Long, ContainerRecord> containers = Map.of();
    Map<Long, GroupRecord> groups = Map.of();
    Map<Long, DomainRecord> domains = Map.of();
    Map<Long, VmidRecord> vmids = Map.of();
    Map<Long, PasidRecord> pasids = Map.of();
    Map<Long, BindingRecord> bindings = Map.of();
    Map<Long, GuestStageRecord> guestStages = Map.of();
    Map<Long, FaultRecord> faults = Map.of();
    Map<Long, DmaMappingRecord> dma = Map.of();
    final Map<String, Integer> registrySizes = new TreeMap<>();

    private MountModel(MountView view) {
        this.view = view;
    }

    /**
     * @param keepRanges keep every domain's coalesced ranges (diff, verify) or only the counts (inspect)
     */
    static MountModel load(MountView view, boolean keepRanges, Progress progress) {
        MountModel m = new MountModel(view);
        m.findings.addAll(view.findings);
        long[][] memory = memoryWindows(view);
        for (MountView.TableFile t : view.domainFiles) {
            if (!t.ok()) {
                m.findings.add(t.problem());
                continue;
            }
            if (t.format() == null) {
                m.findings.add(Finding.error("header", t.rel(), PageTableFileDescriptor.FORMAT_OFFSET,
                        "unknown page-table format id " + t.file().format() + " (1 vtd-sl, 2 arm-lpae-s2)"));
                continue;
            }
            DomainScan s = DomainScan.run(view, t, -1, 0, org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT,
                    keepRanges, memory, null, progress);
            m.scans.put(t.name(), s);
            m.findings.addAll(s.findings);
        }
        for (MountView.TableFile t : view.unitFiles) {
            if (!t.ok()) {
                m.findings.add(t.problem());
                continue;
            }
            DeviceScan d = DeviceScan.run(t);
            if ("smmuv3".equals(d.driver)) {
                SmmuGuestCds.fill(view, d); // a nested STE's substreams are the guest's valid CDs, in guest memory
            }
            m.units.add(d);
            m.findings.addAll(d.findings);
        }
        for (MountView.MemFile g : view.memoryFiles) {
            if (g.problem() != null) {
                m.findings.add(g.problem());
            }
        }
        // live is what the boot's sweep keeps (MountReachability): trees devices or the open intent name count too
        m.pendingIntent = pendingIntent(view);
        for (MountView.TableFile t : view.domainFiles) {
            DomainScan s = m.scans.get(t.name());
            if (s != null) {
                s.reachable.or(MountReachability.reachable(t.file(), m.deviceRoots(), m.pendingIntent,
                        new org.pkstore.iommu.pgtable.PageTableVisitor() {}));
            }
        }
        m.readRegistries();
        // what the boot's own check refuses, and what a recovery would drop (after the registries were read)
        m.findings.addAll(BootVerdict.findings(view, m.findings));
        m.listFiles();
        return m;
    }

    static long[][] memoryWindows(MountView view) {
        List<long[]> w = new ArrayList<>();
        for (MountView.MemFile g : view.memoryFiles) {
            if (g.problem() == null) {
                w.add(new long[] {g.paBase(), g.paBase() + g.size()});
            }
        }
        return w.toArray(new long[0][]);
    }

    private void readRegistries() {
        Registries r = view.registries();
        // registry findings from opening are already in view.findings (copied above only if present then)
        for (Finding f : view.findings) {
            if (!findings.contains(f)) {
                findings.add(f);
            }
        }
        if (r == null) {
            return;
        }
        registriesRead = true;
        containers = view.entries(r.containers, findings);
        groups = view.entries(r.groups, findings);
        domains = view.entries(r.domains, findings);
        vmids = view.entries(r.vmids, findings);
        pasids = view.entries(r.pasids, findings);
        bindings = view.entries(r.bindings, findings);
        guestStages = view.entries(r.guestStages, findings);
        faults = view.entries(r.faults, findings);
        dma = view.entries(r.dmaMappings, findings);
        registrySizes.put("containers", containers.size());
        registrySizes.put("groups", groups.size());
        registrySizes.put("domains", domains.size());
        registrySizes.put("vmids", vmids.size());
        registrySizes.put("pasids", pasids.size());
        registrySizes.put("bindings", bindings.size());
        registrySizes.put("guest-stages", guestStages.size());
        registrySizes.put("faults", faults.size());
        registrySizes.put("dma", dma.size());
    }

    // ---- lookups -------------------------------------------------------------------------------------

    /** The registry's domain record for a page-table file name, or null. */
    DomainRecord domainOfFile(String name) {
        for (DomainRecord d : domains.values()) {
            if (d.pgtableFile().equals(name)) {
                return d;
            }
        }
        return null;
    }

    /** The domain scan whose root is {@code root}, or null. */
    DomainScan scanWithRoot(long root) {
        for (DomainScan s : scans.values()) {
            if (s.root == root && root != 0) {
                return s;
            }
        }
        return null;
    }

    /** Devices (over all units) whose stage-2 root is {@code root}. */
    List<DeviceScan.Device> devicesWithRoot(long root) {
        List<DeviceScan.Device> out = new ArrayList<>();
        for (DeviceScan u : units) {
            for (DeviceScan.Device d : u.devices) {
                if (d.present() && d.stage2Root() == root) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    int errorCount() {
        int n = 0;
        for (Finding f : findings) {
            if (f.isError()) {
                n++;
            }
        }
        return n;
    }

    // ---- files ---------------------------------------------------------------------------------------

    private void listFiles() {
        Path dir = view.dir;
        file(dir.resolve(Superblock.FILE_NAME), "superblock");
        if (Files.exists(dir.resolve(IntentJournal.FILE_NAME))) {
            file(dir.resolve(IntentJournal.FILE_NAME), "intent-journal");
        }
        if (Files.exists(dir.resolve(MountLock.FILE_NAME))) {
            file(dir.resolve(MountLock.FILE_NAME), "lock");
        }
        for (MountView.TableFile t : view.unitFiles) {
            file(t.path(), "device-tables");
        }
        for (MountView.TableFile t : view.domainFiles) {
            file(t.path(), "domain-tables");
        }
        for (MountView.MemFile g : view.memoryFiles) {
            file(g.path(), "guest-memory");
        }
        for (Path p : MountView.list(dir.resolve(Registries.DIR), ".cmap")) {
            file(p, "registry");
        }
        for (Path p : MountView.list(dir.resolve(Registries.DIR), org.pkstore.persist.registry.RegistrySeal.SUFFIX)) {
            file(p, "registry-seal");
        }
        if (Files.exists(dir.resolve(org.pkstore.persist.HandoverRecord.FILE_NAME))) {
            file(dir.resolve(org.pkstore.persist.HandoverRecord.FILE_NAME), "handover");
        }
    }

    private void file(Path p, String type) {
        String rel = view.rel(p);
        long size;
        try {
            size = Files.size(p);
        } catch (IOException e) {
            files.add(new FileInfo(rel, type, null, null, null, null, -1, e.getMessage()));
            return;
        }
        String problem = null;
        for (Finding f : findings) {
            if (f.isError() && rel.equals(f.file()) && ("header".equals(f.kind()) || "registry".equals(f.kind())
                    || "registry-damage".equals(f.kind()) || "handover".equals(f.kind()))) {
                problem = f.kind() + (f.offset() != null ? " @ " + f.offset() : "") + ": " + f.reason();
                break;
            }
        }
        ByteBuffer b = MountView.readHeader(p, 256);
        switch (type) {
            case "superblock":
                files.add(new FileInfo(rel, type, compat(b, Superblock.COMPAT_OFFSET, Superblock.COMPAT_LENGTH),
                        b.getInt(Superblock.VERSION_OFFSET), b.getLong(Superblock.GENERATION_OFFSET),
                        cleanFlag(b.getInt(Superblock.CLEAN_OFFSET)), size, problem));
                break;
            case "intent-journal":
                files.add(new FileInfo(rel, type, compat(b, IntentJournal.COMPAT_OFFSET, IntentJournal.COMPAT_LENGTH),
                        b.getInt(IntentJournal.VERSION_OFFSET), null, null, size, problem));
                break;
            case "device-tables":
            case "domain-tables":
                files.add(new FileInfo(rel, type, compat(b, PageTableFileDescriptor.COMPAT_OFFSET,
                        PageTableFileDescriptor.COMPAT_LENGTH) + formatSuffix(b.getInt(PageTableFileDescriptor.FORMAT_OFFSET)),
                        b.getInt(PageTableFileDescriptor.VERSION_OFFSET), b.getLong(PageTableFileDescriptor.GENERATION_OFFSET),
                        cleanFlag(b.getInt(PageTableFileDescriptor.CLEAN_OFFSET)), size, problem));
                break;
            case "guest-memory":
                files.add(new FileInfo(rel, type, compat(b, GuestMemoryFile.COMPAT_OFFSET, GuestMemoryFile.COMPAT_LENGTH),
                        b.getInt(GuestMemoryFile.VERSION_OFFSET), b.getLong(GuestMemoryFile.CREATED_GENERATION_OFFSET),
                        null, size, problem));
                break;
            case "registry":
                files.add(new FileInfo(rel, type, "chronicle-map", null, null, null, size, problem));
                break;
            default:
                files.add(new FileInfo(rel, type, null, null, null, null, size, problem));
        }
    }

    private static String formatSuffix(int id) {
        try {
            return " (" + PageTableFormat.byId(id).name() + ")";
        } catch (IllegalArgumentException e) {
            return " (format " + id + "?)";
        }
    }

    private static Boolean cleanFlag(int v) {
        return v == 1 ? Boolean.TRUE : v == 0 ? Boolean.FALSE : null;
    }

    static String compat(ByteBuffer b, int offset, int width) {
        byte[] f = new byte[width];
        b.get(offset, f);
        int n = 0;
        while (n < width && f[n] != 0) {
            if (f[n] < 0x20 || f[n] > 0x7e) {
                f[n] = '?';
            }
            n++;
        }
        return new String(f, 0, n, StandardCharsets.US_ASCII);
    }

    // ---- superblock and journal, raw (also when refused) ----------------------------------------------

    record SuperblockInfo(long generation, Boolean clean, long lastWriterPid, boolean held, Long heldByPid,
                          long recoveries, String created, String lastMount, String nextTablePa, String nextMemoryPa) {}

    SuperblockInfo superblock() {
        ByteBuffer b = MountView.readHeader(view.dir.resolve(Superblock.FILE_NAME), Superblock.SIZE);
        boolean held = MountLock.isHeld(view.dir);
        long holder = held ? MountLock.recordedHolder(view.dir) : -1;
        return new SuperblockInfo(b.getLong(Superblock.GENERATION_OFFSET), cleanFlag(b.getInt(Superblock.CLEAN_OFFSET)),
                b.getLong(Superblock.WRITER_PID_OFFSET), held, held && holder > 0 ? holder : null,
                b.getLong(Superblock.RECOVERIES_OFFSET), time(b.getLong(Superblock.CREATED_OFFSET)),
                time(b.getLong(Superblock.LAST_MOUNT_OFFSET)), Fmt.hex(b.getLong(Superblock.NEXT_TABLE_PA_OFFSET)),
                Fmt.hex(b.getLong(Superblock.NEXT_MEMORY_PA_OFFSET)));
    }

    /** The journal's open intent, or null (none, no journal, or a journal the header check refuses). */
    static IntentJournal.Intent pendingIntent(MountView view) {
        Path p = view.dir.resolve(IntentJournal.FILE_NAME);
        if (!Files.exists(p)) {
            return null;
        }
        try (IntentJournal j = IntentJournal.openReadOnly(p)) {
            return j.pending();
        } catch (RuntimeException e) {
            return null; // reported by the file checks
        }
    }

    /** The stage-2 root of every present device-table entry, over all units. */
    List<Long> deviceRoots() {
        List<Long> out = new ArrayList<>();
        for (DeviceScan u : units) {
            for (DeviceScan.Device d : u.devices) {
                if (d.present() && d.stage2Root() != 0) {
                    out.add(d.stage2Root());
                }
            }
        }
        return out;
    }

    record JournalInfo(long sequence, boolean active, Integer op, String opName) {}

    /** Null when the mount has no journal. */
    JournalInfo journal() {
        Path p = view.dir.resolve(IntentJournal.FILE_NAME);
        if (!Files.exists(p)) {
            return null;
        }
        ByteBuffer b = MountView.readHeader(p, 128);
        boolean active = b.getInt(IntentJournal.STATE_OFFSET) == 1;
        int op = b.getInt(IntentJournal.OP_OFFSET);
        return new JournalInfo(b.getLong(IntentJournal.SEQ_OFFSET), active, active ? op : null,
                active ? KernelIntent.name(op) : null);
    }

    private static String time(long millis) {
        return millis <= 0 ? null : Instant.ofEpochMilli(millis).toString();
    }
}
