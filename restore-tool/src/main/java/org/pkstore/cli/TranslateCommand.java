package org.pkstore.cli;

import org.pkstore.iommu.PasidTranslation;
import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.hw.VtdContextEntry;
import org.pkstore.iommu.hw.VtdPasidDirectoryEntry;
import org.pkstore.iommu.hw.VtdPasidEntry;
import org.pkstore.iommu.hw.VtdRootEntry;
import org.pkstore.iommu.hw.VtdRootTableAddress;
import org.pkstore.iommu.hw.VtdScalableContextEntry;
import org.pkstore.iommu.hw.VtdScalableRootEntry;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code pkstore translate MOUNT --domain D IOVA}: one IOVA walked level by level, as the IOMMU would. */
@Command(name = "translate", mixinStandardHelpOptions = true,
        header = "Translate one IOVA level by level, as the IOMMU walks it.",
        description = {
                "Translates one IOVA through a domain's tables, level by level: table PA, index, entry PA and "
                + "file offset, raw descriptor and its decoded fields, then the PA or the fault and its reason. "
                + "With --device, first the device-table entries the IOMMU reads to find the stage-2 root. "
                + "With --pasid P whose entry names a guest stage 1, IOVA is the guest's virtual address and both "
                + "stages are walked: each stage-1 level's entry GPA through stage 2, the descriptor, then the "
                + "output GPA through stage 2 (--device defaults to the one device P is bound on).",
                "",
                "Exit: 0 translated; 1 fault (not present, permission, refused descriptor); 2 unusable input."})
final class TranslateCommand extends BaseCommand {
    @Mixin
    MountArgument mount;

    @Parameters(index = "1", paramLabel = "IOVA", description = "The address to translate (0x hex or decimal).")
    String iovaArg;

    @Mixin
    TargetOptions target;

    @Option(names = "--access", paramLabel = "r|w|rw", description = "Check permissions for this access (default: none checked).")
    String access;

    record Step(int level, String name, String tablePa, int index, String entryPa, String offset, String raw,
                String decoded, String action, String reason) {}

    record DeviceStep(String structure, String pa, String offset, List<String> words, String decoded) {}

    record Result(boolean translated, String pa, Integer level, String pageSize, String prot, String fault, Integer faultLevel,
                  String reason) {}

    record Output(Target.Out target, String iova, String access, List<DeviceStep> deviceTable, List<Step> steps,
                  Result result, List<Finding> notes) {}

    @Override
    int execute() {
        long iova = Fmt.parseNumber(iovaArg, "IOVA");
        int acc = parseAccess(access);
        try (MountView v = MountView.open(mount.dir)) {
            Target t = target.resolve(v);
            if (t.pasid != null) {
                Target withDevice = t.device != null ? t : deviceBinding(v, t.pasid);
                if (withDevice != null) {
                    Integer code = translatePasid(v, withDevice, iova, acc);
                    if (code != null) {
                        return code;
                    }
                }
            }
            List<DeviceStep> dsteps = t.device == null ? List.of() : deviceSteps(t);
            PageTableFile f = t.table.file();
            PageTableFormat fmt = t.table.format();
            List<Step> steps = new ArrayList<>();
            Result[] result = new Result[1];
            // the hardware walk is four reads whatever the tables say; a table met twice on one path is a loop
            // that it would follow blindly, so it is reported instead of the PA it would produce
            long[] pathTables = new long[PageTableGeometry.LEVELS + 1];
            String[] loop = new String[1];
            pathTables[0] = t.root;
            long pa = new PageTableWalker(f, fmt).translate(t.root, iova, new PageTableVisitor() {
                @Override
                public void table(int level, long e, long tablePa, int index, long d) {
                    long next = fmt.tableAddress(d);
                    String action = "table -> 0x" + Long.toHexString(next);
                    for (int l = 0; l <= level && loop[0] == null; l++) {
                        if (pathTables[l] == next) {
                            loop[0] = "loop between tables: the level-" + level + " entry points back to the level-" + l
                                    + " table 0x" + Long.toHexString(next);
                            action = "LOOP -> 0x" + Long.toHexString(next);
                        }
                    }
                    pathTables[level + 1] = next;
                    steps.add(step(f, fmt, level, tablePa, index, d, action, null));
                }

                @Override
                public void leaf(int level, long e, long tablePa, int index, long d, long[] path) {
                    steps.add(step(f, fmt, level, tablePa, index, d, "leaf", null));
                    long out = fmt.outputAddress(d, level) | (iova & (PageTableGeometry.blockSize(level) - 1));
                    int granted = fmt.protOf(d, level);
                    if (loop[0] != null) {
                        result[0] = new Result(false, Fmt.hex(out), level, Fmt.pageName(level), Prot.toString(granted),
                                "cycle", level, loop[0] + " (the hardware would follow it to this PA)");
                    } else if ((acc & ~granted & (Prot.READ | Prot.WRITE)) != 0) {
                        result[0] = new Result(false, Fmt.hex(out), level, Fmt.pageName(level), Prot.toString(granted),
                                "permission", level, "the leaf grants " + Prot.toString(granted) + ", the access needs "
                                + Prot.toString(acc));
                    } else {
                        result[0] = new Result(true, Fmt.hex(out), level, Fmt.pageName(level), Prot.toString(granted),
                                null, null, null);
                    }
                }

                @Override
                public void fault(int level, long e, long tablePa, int index, long d, String reason) {
                    if (tablePa == t.root && index == 0 && d == 0 && (iova < 0 || iova >= PageTableGeometry.IOVA_LIMIT)) {
                        result[0] = new Result(false, null, null, null, null, "address-size", 0, reason);
                        return;
                    }
                    steps.add(step(f, fmt, level, tablePa, index, d, "not present", reason));
                    result[0] = new Result(false, null, null, null, null, "not-present", level, reason);
                }

                @Override
                public void problem(int level, long e, long dpa, long d, String reason) {
                    if (dpa - f.paBase() == PageTableFileDescriptor.ROOT_PA_OFFSET) {
                        result[0] = new Result(false, null, null, null, null, "no-root", level, reason);
                        return;
                    }
                    steps.add(step(f, fmt, level, dpa & ~(PageTableFileDescriptor.PAGE_SIZE - 1L),
                            (int) ((dpa & (PageTableFileDescriptor.PAGE_SIZE - 1)) / 8), d, "refused", reason));
                    result[0] = new Result(false, null, null, null, null, "refused", level, reason);
                }
            });
            Result r = result[0] != null ? result[0] : new Result(false, null, null, null, null, "not-present", null, "no leaf");
            Output o = new Output(t.out(), Fmt.hex(iova), access, dsteps, steps, r, t.notes);
            if (json) {
                Json.write(out(), o);
            } else {
                print(t, o, pa);
            }
            return r.translated() ? ExitCodes.OK : ExitCodes.FOUND;
        }
    }

    /**
     * With {@code --pasid}: the nested walk, when the device table says the PASID has a guest stage 1;
     * null when it has none (stage 2 only: the plain walk follows).
     */
    private Integer translatePasid(MountView v, Target t, long va, int acc) {
        try (PasidWalk.Memory memory = new PasidWalk.Memory(v, t)) {
            return translatePasid(memory, t, va, acc);
        }
    }

    private Integer translatePasid(PasidWalk.Memory memory, Target t, long va, int acc) {
        PasidTranslation p = PasidWalk.lookup(t, memory);
        if (!p.ok()) {
            if (json) {
                Json.write(out(), new PasidFault(t.out(), Fmt.hex(va), p.problem()));
            } else {
                out().println("translate " + Fmt.hex(va) + " in " + t.describe());
                out().println("result: FAULT (PASID entry): " + p.problem());
            }
            return ExitCodes.FOUND;
        }
        if (!p.nested()) {
            return null;
        }
        PasidWalk.Output o = PasidWalk.run(memory, p, va, acc);
        List<DeviceStep> dsteps = deviceSteps(t);
        if (json) {
            Json.write(out(), new NestedOutput(t.out(), Fmt.hex(va), access, dsteps, o, t.notes));
        } else {
            out().println("translate " + Fmt.hex(va) + " in " + t.describe());
            out().println("device table (" + t.deviceTable.table.rel() + ")");
            TextTable dt = new TextTable("STRUCTURE", "PA", "OFFSET", "RAW", "DECODED");
            for (DeviceStep s : dsteps) {
                dt.row(s.structure(), s.pa() == null ? "" : s.pa(), s.offset() == null ? "" : s.offset(),
                        String.join(" ", s.words()), s.decoded());
            }
            dt.print(out(), "  ");
            PasidWalk.print(out(), o);
            for (Finding n : t.notes) {
                err().println(n.line());
            }
        }
        return o.translated() ? ExitCodes.OK : ExitCodes.FOUND;
    }

    record NestedOutput(Target.Out target, String va, String access, List<DeviceStep> deviceTable, PasidWalk.Output nested,
                        List<Finding> notes) {}

    record PasidFault(Target.Out target, String va, String fault) {}

    /** The one device {@code pasid} is bound on, for {@code --pasid} without {@code --device}; null when none or several. */
    private Target deviceBinding(MountView v, int pasid) {
        List<String> found = new ArrayList<>();
        for (MountView.TableFile u : v.unitFiles) {
            if (!u.ok()) {
                continue;
            }
            DeviceScan scan = DeviceScan.run(u);
            if ("smmuv3".equals(scan.driver)) {
                SmmuGuestCds.fill(v, scan); // SMMUv3: the bound SSIDs are the guest's valid CDs, in guest memory
            }
            for (DeviceScan.Device d : scan.devices) {
                if (d.present() && d.bound().stream().anyMatch(b -> b.pasid() == pasid)) {
                    found.add(d.bdf().toString());
                }
            }
        }
        if (found.size() != 1) {
            return null;
        }
        return Target.resolve(v, target.domain, found.get(0), target.unit, pasid);
    }

    static int parseAccess(String a) {
        if (a == null) {
            return 0;
        }
        switch (a.toLowerCase()) {
            case "r": return Prot.READ;
            case "w": return Prot.WRITE;
            case "rw":
            case "wr": return Prot.READ | Prot.WRITE;
            default: throw CliException.unusable("--access: \"" + a + "\" is not r, w or rw");
        }
    }

    static Step step(PageTableFile f, PageTableFormat fmt, int level, long tablePa, int index, long d, String action,
                             String reason) {
        long entry = PageTableGeometry.descriptorPa(tablePa, index);
        return new Step(level, fmt.levelName(level), Fmt.hex(tablePa), index, Fmt.hex(entry), Fmt.hex(entry - f.paBase()),
                Fmt.hex16(d), fmt.decode(d, level), action, reason);
    }

    private static List<DeviceStep> deviceSteps(Target t) {
        List<DeviceStep> out = new ArrayList<>();
        DeviceScan s = t.deviceTable;
        DeviceScan.Device d = t.device;
        PageTableFile f = s.file;
        long[] w = d.words();
        if ("vtd".equals(d.driver())) {
            vtdSteps(out, f, d, t.binding == null ? -1 : t.binding.pasid());
        } else {
            long regs = f.rootPa();
            out.add(new DeviceStep("STRTAB_BASE / STRTAB_BASE_CFG", Fmt.hex(regs), Fmt.hex(regs - f.paBase()),
                    List.of(Fmt.hex16(f.readDescriptor(regs)), Fmt.hex16(f.readDescriptor(regs + 8))),
                    SmmuStreamTableBase.describe(f.readDescriptor(regs), f.readDescriptor(regs + 8))));
            out.add(new DeviceStep(String.format("STE (sid 0x%x)", d.bdf().requesterId()), Fmt.hex(d.entryPa()),
                    Fmt.hex(d.entryPa() - f.paBase()),
                    List.of(Fmt.hex16(w[0]), Fmt.hex16(w[1]), Fmt.hex16(w[2]), Fmt.hex16(w[3])),
                    SmmuStreamTableEntry.describe(w[0], w[1], w[2], w[3])));
        }
        if (t.binding != null) {
            out.add(new DeviceStep("bound PASID " + t.binding.pasid(), null, null, List.of(),
                    String.format("gpgd 0x%x gpasid %d%s addr width %d format %d", t.binding.gpgd(), t.binding.gpasid(),
                            t.binding.gpasidValid() ? " (valid)" : "", t.binding.addrWidth(), t.binding.format())));
        }
        return out;
    }

    /**
     * VT-d, as the hardware reads it: RTADDR_REG, the root entry, the context entry and, in scalable
     * mode, the PASID directory entry and PASID entry of the RID_PASID (and of {@code pasid} if >= 0).
     */
    private static void vtdSteps(List<DeviceStep> out, PageTableFile f, DeviceScan.Device d, int pasid) {
        long regPa = f.rootPa() + VtdRootTableAddress.REGISTER_OFFSET;
        long rtaddr = f.readDescriptor(regPa);
        out.add(new DeviceStep("RTADDR_REG", Fmt.hex(regPa), Fmt.hex(regPa - f.paBase()), List.of(Fmt.hex16(rtaddr)),
                VtdRootTableAddress.describe(rtaddr)));
        long rePa = VtdRootTableAddress.rootTablePa(rtaddr) + VtdRootEntry.offset(d.bdf().bus());
        long lo = f.readDescriptor(rePa);
        long hi = f.readDescriptor(rePa + 8);
        long[] w = d.words();
        boolean scalable = VtdRootTableAddress.scalable(rtaddr);
        out.add(new DeviceStep(String.format("root entry (bus %02x)", d.bdf().bus()), Fmt.hex(rePa), Fmt.hex(rePa - f.paBase()),
                List.of(Fmt.hex16(lo), Fmt.hex16(hi)), scalable ? VtdScalableRootEntry.describe(lo, hi) : VtdRootEntry.describe(lo, hi)));
        if (!scalable) {
            out.add(new DeviceStep(String.format("context entry (devfn %02x)", d.bdf().devfn()), Fmt.hex(d.entryPa()),
                    Fmt.hex(d.entryPa() - f.paBase()), List.of(Fmt.hex16(w[0]), Fmt.hex16(w[1])),
                    VtdContextEntry.describe(w[0], w[1])));
            return;
        }
        long cePa = VtdScalableRootEntry.contextTablePa(VtdScalableRootEntry.wordOffset(d.bdf().devfn()) == 0 ? lo : hi)
                + VtdScalableRootEntry.contextEntryOffset(d.bdf().devfn());
        out.add(new DeviceStep(String.format("scalable-mode context entry (devfn %02x)", d.bdf().devfn()), Fmt.hex(cePa),
                Fmt.hex(cePa - f.paBase()), List.of(Fmt.hex16(w[0]), Fmt.hex16(w[1]), Fmt.hex16(w[2]), Fmt.hex16(w[3])),
                VtdScalableContextEntry.describe(w[0], w[1])));
        long dir = VtdScalableContextEntry.directoryPa(w[0]);
        int rid = VtdScalableContextEntry.ridPasid(w[1]);
        int shownDirectoryEntry = -1;
        for (int p : pasid >= 0 ? new int[] {rid, pasid} : new int[] {rid}) {
            long dePa = dir + VtdPasidDirectoryEntry.offset(p);
            if (dir == 0 || !f.isTablePage(dePa & ~(PageTableFileDescriptor.PAGE_SIZE - 1L))) {
                return;
            }
            long de = f.readDescriptor(dePa);
            if (VtdPasidDirectoryEntry.index(p) == shownDirectoryEntry) {
                // same PASID table as the RID_PASID entry's: the directory entry is already shown
            } else {
                shownDirectoryEntry = VtdPasidDirectoryEntry.index(p);
                out.add(new DeviceStep("PASID directory entry " + (p >>> VtdPasidDirectoryEntry.PDE_SHIFT), Fmt.hex(dePa),
                    Fmt.hex(dePa - f.paBase()), List.of(Fmt.hex16(de)), String.format("P=%d SMPTBLPTR=0x%x", de & 1,
                    VtdPasidDirectoryEntry.pasidTablePa(de))));
            }
            long pe = VtdPasidDirectoryEntry.pasidTablePa(de) + VtdPasidDirectoryEntry.tableOffset(p);
            if (!VtdPasidDirectoryEntry.present(de) || !f.isTablePage(pe & ~(PageTableFileDescriptor.PAGE_SIZE - 1L))) {
                return;
            }
            List<String> words = new ArrayList<>();
            for (int i = 0; i < VtdPasidEntry.WORDS; i++) {
                words.add(Fmt.hex16(f.readDescriptor(pe + i * 8L)));
            }
            out.add(new DeviceStep((p == rid ? "RID_PASID " : "") + "PASID entry " + p, Fmt.hex(pe), Fmt.hex(pe - f.paBase()),
                    words, VtdPasidEntry.describe(f.readDescriptor(pe), f.readDescriptor(pe + 8), f.readDescriptor(pe + 16))));
        }
    }

    private void print(Target t, Output o, long pa) {
        PrintWriter w = out();
        w.println("translate " + o.iova() + " in " + t.describe());
        if (!o.deviceTable().isEmpty()) {
            w.println("device table (" + t.deviceTable.table.rel() + ")");
            TextTable dt = new TextTable("STRUCTURE", "PA", "OFFSET", "RAW", "DECODED");
            for (DeviceStep s : o.deviceTable()) {
                dt.row(s.structure(), s.pa() == null ? "" : s.pa(), s.offset() == null ? "" : s.offset(),
                        String.join(" ", s.words()), s.decoded());
            }
            dt.print(w, "  ");
        }
        w.println("stage-2 walk (" + t.table.rel() + ")");
        TextTable st = new TextTable("LEVEL", "TABLE PA", "INDEX", "ENTRY PA", "OFFSET", "RAW", "DECODED", "ACTION").right(2);
        for (Step s : o.steps()) {
            st.row(s.level() + " " + s.name(), s.tablePa(), s.index(), s.entryPa(), s.offset(), s.raw(), s.decoded(),
                    s.action() + (s.reason() != null ? ": " + s.reason() : ""));
        }
        if (st.isEmpty()) {
            w.println("  (no table read)");
        } else {
            st.print(w, "  ");
        }
        Result r = o.result();
        if (r.translated()) {
            w.println("result: " + o.iova() + " -> " + r.pa() + " (" + r.pageSize() + " " + (r.level() == 3 ? "page" : "block")
                    + ", " + r.prot() + ")");
        } else {
            w.println("result: FAULT (" + r.fault() + (r.faultLevel() != null ? " at level " + r.faultLevel() : "") + "): "
                    + r.reason() + (r.pa() != null ? "; the leaf maps " + r.pa() : ""));
        }
        for (Finding n : o.notes()) {
            err().println(n.line());
        }
    }
}
