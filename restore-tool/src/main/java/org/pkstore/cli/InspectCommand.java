package org.pkstore.cli;

import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.RegistryRecoveryLog;
import org.pkstore.persist.registry.VmidRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code pkstore inspect MOUNT}: what a mount holds, file by file and object by object. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        header = "List the files, containers, domains, devices, PASIDs and bindings of a mount.",
        description = {
                "Lists every file of a pkernfs mount (format, version, generation, clean flag, size) and every "
                + "container, domain, device, PASID and guest binding it holds. Read-only, without the writer "
                + "lock: safe beside a running host and on a crashed mount.",
                "",
                "Exit: 0 inspected; 1 some part is damaged (listed under problems); 2 not a mount."})
final class InspectCommand extends BaseCommand {
    @Mixin
    MountArgument mount;

    record ContainerOut(int id, int iommuType, String vmid, String pgtableFile, long domain, int pasidQuota,
                        List<Long> groups) {}

    record DomainOut(Long id, String file, Integer unit, String format, Integer vmid, String stage, Integer container,
                     String rootPa, long mappedBytes, Map<String, Long> leaves, Map<String, Long> bytesByPageSize,
                     Long tablePages, Long allocatedPages, List<String> devices, int problems) {}

    record DeviceOut(int unit, String driver, String bdf, boolean present, String entryOffset, String stage2Root,
                     String domainFile, Integer did, boolean nested, String guestStageBase, Integer guestPasidBits,
                     String pasidDirectory, List<Integer> boundPasids) {}

    record PasidOut(int pasid, int container, List<String> boundOn) {}

    record BindingOut(int hpasid, int container, long gpasid, String gpgd, int format, long flags, int addrWidth,
                      String vtdFlags, List<String> devices) {}

    record GuestStageOut(int container, String kind, String basePtr, int pasidBits, int s1Flags) {}

    record MemoryOut(String file, String paBase, long size) {}

    record Output(String mount, Object snapshot, MountModel.SuperblockInfo superblock, BootVerdict boot, MountModel.JournalInfo journal,
                  List<RegistryRecoveryLog.Line> registryRecoveries,
                  List<MountModel.FileInfo> files, List<ContainerOut> containers, List<DomainOut> domains,
                  List<DeviceOut> devices, List<PasidOut> pasids, List<BindingOut> bindings,
                  List<GuestStageOut> guestStages, List<VmidRecord> vmids, List<GroupRecord> groups,
                  int pendingFaults, int dmaMappings, List<MemoryOut> guestMemory, List<Finding> problems) {}

    @Override
    int execute() {
        try (MountView v = MountView.open(mount.dir)) {
            MountModel m = MountModel.load(v, false, progress("walking domains"));
            Output o = build(m);
            if (json) {
                Json.write(out(), o);
            } else {
                print(o);
            }
            if (m.errorCount() > 0) {
                warn(m.errorCount() + " problems found (listed" + (json ? " under \"problems\")" : " above)"));
                return ExitCodes.FOUND;
            }
            return ExitCodes.OK;
        }
    }

    static Output build(MountModel m) {
        List<ContainerOut> containers = new ArrayList<>();
        for (ContainerRecord c : m.containers.values()) {
            List<Long> groups = new ArrayList<>();
            for (GroupRecord g : m.groups.values()) {
                if (g.containerId() == c.containerId()) {
                    groups.add((long) g.groupId());
                }
            }
            containers.add(new ContainerOut(c.containerId(), c.iommuType(), vmid(c.vmid()), c.pgtableFile(), c.domainId(),
                    c.pasidQuota(), groups));
        }
        List<DomainOut> domains = new ArrayList<>();
        for (MountView.TableFile t : m.view.domainFiles) {
            DomainRecord r = m.domainOfFile(t.name());
            DomainScan s = m.scans.get(t.name());
            domains.add(domainOut(m, t, r, s));
        }
        for (DomainRecord r : m.domains.values()) {
            if (m.view.domainFile(r.pgtableFile()) == null) {
                domains.add(new DomainOut(r.domainId(), "pgtables/" + r.pgtableFile() + ".pt (missing)", r.unitId(),
                        formatName(r.format()), r.vmid(), stage(r.stage()), r.containerId(), null, 0, null, null, null,
                        null, List.of(), 0));
            }
        }
        List<DeviceOut> devices = new ArrayList<>();
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                DomainScan s = d.present() ? m.scanWithRoot(d.stage2Root()) : null;
                List<Integer> bound = new ArrayList<>();
                for (BoundPasidEntry e : d.bound()) {
                    bound.add(e.pasid());
                }
                devices.add(new DeviceOut(d.unit(), d.driver(), d.bdf().toString(), d.present(),
                        Fmt.hex(d.entryPa() - u.file.paBase()), d.present() ? Fmt.hex(d.stage2Root()) : null,
                        s != null ? s.table.rel() : null, d.present() ? d.did() : null, d.nested(),
                        d.guestStageBase() != 0 ? Fmt.hex(d.guestStageBase()) : null,
                        d.guestStageBase() != 0 ? d.guestPasidBits() : null,
                        d.pasidDirectory() != 0 ? Fmt.hex(d.pasidDirectory()) : null, bound));
            }
        }
        List<PasidOut> pasids = new ArrayList<>();
        for (PasidRecord p : m.pasids.values()) {
            pasids.add(new PasidOut(p.pasid(), p.containerId(), boundOn(m, p.pasid())));
        }
        List<BindingOut> bindings = new ArrayList<>();
        for (BindingRecord b : m.bindings.values()) {
            bindings.add(new BindingOut(b.hpasid(), b.containerId(), b.gpasid(), Fmt.hex(b.gpgd()), b.format(), b.flags(),
                    b.addrWidth(), Fmt.hex(b.vtdFlags()), boundOn(m, b.hpasid())));
        }
        List<GuestStageOut> stages = new ArrayList<>();
        for (GuestStageRecord g : m.guestStages.values()) {
            stages.add(new GuestStageOut(g.containerId(), g.kind() == 1 ? "pasid-table" : g.kind() == 2 ? "smmuv3-s1"
                    : "kind " + g.kind(), Fmt.hex(g.basePtr()), g.pasidBits(), g.s1Flags()));
        }
        List<MemoryOut> mem = new ArrayList<>();
        for (MountView.MemFile g : m.view.memoryFiles) {
            if (g.problem() == null) {
                mem.add(new MemoryOut(g.rel(), Fmt.hex(g.paBase()), g.size()));
            }
        }
        return new Output(m.view.dir.toAbsolutePath().toString(), snapshotManifest(m.view.dir), m.superblock(), BootVerdict.of(m.view), m.journal(),
                RegistryRecoveryLog.read(m.view.dir), m.files, containers, domains,
                devices, pasids, bindings, stages, new ArrayList<>(m.vmids.values()), new ArrayList<>(m.groups.values()),
                m.faults.size(), m.dma.size(), mem, m.findings);
    }

    /** The manifest {@code pkstore snapshot} leaves in a copy (null when the mount is not a snapshot). */
    static Object snapshotManifest(java.nio.file.Path dir) {
        java.nio.file.Path p = dir.resolve(SnapshotCommand.MANIFEST);
        if (!java.nio.file.Files.isRegularFile(p)) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(p.toFile());
        } catch (java.io.IOException e) {
            return "unreadable manifest: " + e.getMessage();
        }
    }

    private static DomainOut domainOut(MountModel m, MountView.TableFile t, DomainRecord r, DomainScan s) {
        Map<String, Long> leaves = null;
        Map<String, Long> bytes = null;
        if (s != null) {
            leaves = new LinkedHashMap<>();
            bytes = new LinkedHashMap<>();
            for (int l = 1; l < PageTableGeometry.LEVELS; l++) {
                leaves.put(Fmt.pageName(l), s.leavesByLevel[l]);
                bytes.put(Fmt.pageName(l), s.leavesByLevel[l] * PageTableGeometry.blockSize(l));
            }
        }
        List<String> devs = new ArrayList<>();
        if (s != null) {
            for (DeviceScan.Device d : m.devicesWithRoot(s.root)) {
                devs.add(d.bdf().toString());
            }
        }
        int problems = 0;
        for (Finding f : m.findings) {
            if (f.isError() && t.rel().equals(f.file())) {
                problems++;
            }
        }
        return new DomainOut(r == null ? null : r.domainId(), t.rel(), r == null ? null : r.unitId(),
                t.format() != null ? t.format().name() : null, r == null ? null : r.vmid(),
                r == null ? null : stage(r.stage()), r == null ? null : r.containerId(),
                t.ok() ? Fmt.hex(t.file().rootPa()) : null, s == null ? 0 : s.mappedBytes, leaves, bytes,
                s == null ? null : s.tablePages(), t.ok() ? t.file().allocatedTablePages() : null, devs, problems);
    }

    private static List<String> boundOn(MountModel m, int pasid) {
        List<String> out = new ArrayList<>();
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                for (BoundPasidEntry e : d.bound()) {
                    if (e.pasid() == pasid) {
                        out.add(d.bdf().toString());
                    }
                }
            }
        }
        return out;
    }

    static String vmid(int v) {
        return v == -1 ? "invalid" : Integer.toUnsignedString(v);
    }

    static String stage(int s) {
        return s == 1 ? "paging" : s == 2 ? "nested" : "stage " + s;
    }

    static String formatName(int id) {
        try {
            return org.pkstore.iommu.pgtable.PageTableFormat.byId(id).name();
        } catch (IllegalArgumentException e) {
            return "format " + id;
        }
    }

    private void print(Output o) {
        PrintWriter w = out();
        MountModel.SuperblockInfo sb = o.superblock();
        w.println("mount " + o.mount());
        if (o.snapshot() instanceof com.fasterxml.jackson.databind.JsonNode) {
            com.fasterxml.jackson.databind.JsonNode n = (com.fasterxml.jackson.databind.JsonNode) o.snapshot();
            w.println("  SNAPSHOT of " + n.path("snapshotOf").asText() + " taken " + n.path("takenAt").asText()
                    + (n.path("sourceHeld").asBoolean() ? " while pid " + n.path("sourceHolderPid").asText() + " ran on it" : "")
                    + (n.path("memoryCopied").asBoolean() ? "" : ", guest memory not copied"));
        }
        w.printf("  generation %d, %s, last writer pid %d, %d recoveries%s%n", sb.generation(),
                sb.clean() == null ? "clean flag invalid" : sb.clean() ? "clean" : "NOT clean (in use or crashed)",
                sb.lastWriterPid(), sb.recoveries(), sb.held() ? ", HELD by pid " + sb.heldByPid() + " (a host is running)" : "");
        w.println("  " + o.boot().line());
        if (o.journal() != null) {
            w.println("  intent journal: sequence " + o.journal().sequence()
                    + (o.journal().active() ? ", PENDING " + o.journal().opName() + " (replayed by the next boot)" : ", idle"));
        }
        for (RegistryRecoveryLog.Line l : o.registryRecoveries()) {
            w.println("  registry recovery, generation " + l.generation()
                    + ("-".equals(l.registry()) ? ": " : ", " + l.registry() + ": ") + l.what());
        }
        w.println();
        w.println("files");
        TextTable ft = new TextTable("PATH", "TYPE", "FORMAT", "VERSION", "GENERATION", "CLEAN", "SIZE", "PROBLEM").right(3, 4, 6);
        for (MountModel.FileInfo f : o.files()) {
            ft.row(f.path(), f.type(), f.format(), f.version(), f.generation(),
                    f.clean() == null ? "-" : f.clean() ? "yes" : "no", Fmt.size(f.size()), f.problem() == null ? "" : f.problem());
        }
        ft.print(w, "  ");
        w.println();
        w.println("containers");
        TextTable ct = new TextTable("ID", "TYPE", "VMID", "PGTABLE FILE", "DOMAIN", "PASID QUOTA", "GROUPS").right(0, 4, 5);
        for (ContainerOut c : o.containers()) {
            ct.row(c.id(), typeName(c.iommuType()), c.vmid(), c.pgtableFile().isEmpty() ? "-" : c.pgtableFile(), c.domain(),
                    c.pasidQuota(), c.groups().toString());
        }
        printOrNone(w, ct);
        w.println("domains");
        TextTable dt = new TextTable("ID", "FILE", "UNIT", "FORMAT", "VMID", "STAGE", "ROOT PA", "MAPPED", "1G", "2M", "4K",
                "TABLE PAGES", "DEVICES").right(0, 7, 8, 9, 10, 11);
        for (DomainOut d : o.domains()) {
            dt.row(d.id() == null ? "-" : d.id(), d.file(), d.unit(), d.format(), d.vmid(), d.stage(), d.rootPa(),
                    Fmt.size(d.mappedBytes()), d.leaves() == null ? "" : d.leaves().get("1G"),
                    d.leaves() == null ? "" : d.leaves().get("2M"), d.leaves() == null ? "" : d.leaves().get("4K"),
                    d.tablePages() == null ? "" : d.tablePages() + "/" + d.allocatedPages(), String.join(",", d.devices()));
        }
        printOrNone(w, dt);
        w.println("devices");
        TextTable vt = new TextTable("UNIT", "BDF", "PRESENT", "STAGE-2 ROOT", "DOMAIN FILE", "VMID/DID", "NESTED",
                "GUEST STAGE", "PASID TABLE", "BOUND PASIDS");
        for (DeviceOut d : o.devices()) {
            vt.row(d.unit() + " " + d.driver(), d.bdf(), d.present() ? "yes" : "no", d.stage2Root(),
                    d.domainFile() == null ? (d.present() ? "(no domain has this root)" : "") : d.domainFile(), d.did(),
                    d.nested() ? "yes" : "no", d.guestStageBase() == null ? "" : d.guestStageBase() + "/" + d.guestPasidBits() + "b",
                    d.pasidDirectory() == null ? "" : d.pasidDirectory(),
                    d.boundPasids().isEmpty() ? "" : d.boundPasids().toString());
        }
        printOrNone(w, vt);
        w.println("pasids and guest bindings");
        TextTable pt = new TextTable("PASID", "CONTAINER", "BOUND", "GPASID", "GPGD", "ADDR WIDTH", "ON DEVICES").right(0, 1);
        for (PasidOut p : o.pasids()) {
            BindingOut b = null;
            for (BindingOut x : o.bindings()) {
                if (x.hpasid() == p.pasid()) {
                    b = x;
                }
            }
            pt.row(p.pasid(), p.container(), b != null ? "yes" : "no", b != null ? b.gpasid() : "", b != null ? b.gpgd() : "",
                    b != null ? b.addrWidth() : "", String.join(",", p.boundOn()));
        }
        for (BindingOut b : o.bindings()) {
            boolean listed = o.pasids().stream().anyMatch(p -> p.pasid() == b.hpasid());
            if (!listed) {
                pt.row(b.hpasid(), b.container(), "yes (PASID not allocated)", b.gpasid(), b.gpgd(), b.addrWidth(),
                        String.join(",", b.devices()));
            }
        }
        printOrNone(w, pt);
        if (!o.guestStages().isEmpty()) {
            w.println("guest stage-1 configurations");
            TextTable gt = new TextTable("CONTAINER", "KIND", "BASE", "PASID BITS", "S1 FLAGS");
            for (GuestStageOut g : o.guestStages()) {
                gt.row(g.container(), g.kind(), g.basePtr(), g.pasidBits(), g.s1Flags());
            }
            gt.print(w, "  ");
            w.println();
        }
        w.println("vmids");
        TextTable mt = new TextTable("VMID", "USERS", "VM TAG").right(0, 1);
        for (VmidRecord r : o.vmids()) {
            mt.row(Integer.toUnsignedString(r.vmid()), r.users(), r.vmTag());
        }
        printOrNone(w, mt);
        w.println("guest memory");
        TextTable gm = new TextTable("FILE", "PA BASE", "SIZE").right(2);
        for (MemoryOut g : o.guestMemory()) {
            gm.row(g.file(), g.paBase(), Fmt.size(g.size()));
        }
        printOrNone(w, gm);
        w.println(o.dmaMappings() + " DMA mapping records, " + o.pendingFaults() + " undelivered faults");
        printFindings(w, o.problems());
    }

    static void printOrNone(PrintWriter w, TextTable t) {
        if (t.isEmpty()) {
            w.println("  (none)");
        } else {
            t.print(w, "  ");
        }
        w.println();
    }

    static void printFindings(PrintWriter w, List<Finding> findings) {
        if (findings.isEmpty()) {
            return;
        }
        w.println();
        w.println("problems");
        for (Finding f : findings) {
            w.println("  " + f.line());
        }
    }

    static String typeName(int type) {
        switch (type) {
            case 0: return "unset";
            case 1: return "type1";
            case 3: return "type1v2";
            case 6: return "nesting";
            default: return "type " + type;
        }
    }
}
