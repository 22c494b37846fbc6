package org.pkstore.cli;

import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.NestedMemory;
import org.pkstore.iommu.PasidTranslation;
import org.pkstore.iommu.nested.FirstStageFormat;
import org.pkstore.iommu.nested.NestedFault;
import org.pkstore.iommu.nested.NestedVisitor;
import org.pkstore.iommu.nested.NestedWalker;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.PageTableFile;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code translate --pasid}: the nested walk of DMA tagged with a PASID, as the IOMMU does it
 * ({@link NestedWalker}), printed level by level. For each stage-1 level: the entry's GPA, its
 * stage-2 walk (each stage-2 level), the host PA read and the descriptor; then the output GPA's
 * stage-2 walk, and the final host PA or the fault named with its stage and level. The PASID's
 * configuration comes from the device table only ({@link DeviceTableReader#pasidTranslation}).
 */
final class PasidWalk {
    /** One stage-2 translation the walk asked for: of a stage-1 entry's GPA, or of the output GPA. */
    record Stage2(String gpa, String access, List<TranslateCommand.Step> steps, String hpa, String fault) {}

    record Stage1Step(int level, String name, String tableGpa, int index, String entryGpa, Stage2 stage2, String raw,
                      String decoded, String action) {}

    record Output(Integer pasid, Integer tag, String stage1Format, String stage1RootGpa, String stage2Root, String va,
                  List<Stage1Step> stage1, Stage2 output, String gpa, String hpa, boolean translated, String fault,
                  Integer faultStage, Integer faultLevel, String reason) {}

    private PasidWalk() {}

    /**
     * What the IOMMU reads in a nested walk, for the CLI: stage 2 of the target's domain walked with
     * {@link PageTableWalker} (each level kept for printing, in {@link #log}), guest memory read-only.
     */
    static final class Memory implements NestedMemory, AutoCloseable {
        private final PageTableFile file;
        private final PageTableFormat format;
        private final List<GuestMemoryFile> memories = new ArrayList<>();
        final List<Stage2> log = new ArrayList<>();

        Memory(MountView v, Target t) {
            this.file = t.table.file();
            this.format = t.table.format();
            for (MountView.MemFile m : v.memoryFiles) {
                if (m.problem() == null) {
                    memories.add(GuestMemoryFile.openReadOnly(m.path()));
                }
            }
        }

        @Override
        public long stage2(long root, long gpa, int acc) {
            List<TranslateCommand.Step> steps = new ArrayList<>();
            long r = stage2Walk(file, format, root, gpa, acc, steps);
            if (r >= 0 && memoryAt(memories, r) == null) {
                log.add(new Stage2(Fmt.hex(gpa), Prot.toString(acc), steps, null,
                        "no guest memory at the output (external abort)"));
                return DeviceTranslation.FAULT_BAD_DESCRIPTOR;
            }
            log.add(new Stage2(Fmt.hex(gpa), Prot.toString(acc), steps, r >= 0 ? Fmt.hex(r) : null,
                    r >= 0 ? null : DeviceTranslation.faultName(r)));
            return r;
        }

        @Override
        public long readWord(long hpa) {
            GuestMemoryFile g = memoryAt(memories, hpa);
            return g == null ? 0 : g.readLong(hpa);
        }

        @Override
        public void close() {
            memories.forEach(GuestMemoryFile::close);
        }
    }

    /** The PASID's translation as the device table (and, for SMMUv3, the guest's CD through stage 2) gives it. */
    static PasidTranslation lookup(Target t, Memory memory) {
        PasidTranslation p = new DeviceTableReader(t.deviceTable.file).pasidTranslation(t.device.bdf(), t.pasid, memory);
        memory.log.clear();
        return p;
    }

    static Output run(Memory memory, PasidTranslation p, long va, int access) {
        FirstStageFormat fmt = FirstStageFormat.of(p.stage1Format());
        List<Stage2> s2 = memory.log;
        List<Stage1Step> s1 = new ArrayList<>();
        long[] gpaOut = {-1};
        long hpa = new NestedWalker(memory).translate(fmt, p.stage1RootGpa(), p.stage2RootPa(), va, access,
                new NestedVisitor() {
                    @Override
                    public void stage2(int level, boolean output, long gpa, long result) {
                        if (output) {
                            gpaOut[0] = gpa;
                        }
                    }

                    @Override
                    public void stage1(int level, long tableGpa, int index, long entryGpa, long entryHpa, long d) {
                        String action;
                        if (!fmt.isPresent(d, level)) {
                            action = "not present";
                        } else if (fmt.reservedProblem(d, level) != null) {
                            action = "reserved: " + fmt.reservedProblem(d, level);
                        } else if (fmt.isLeaf(d, level)) {
                            action = "leaf -> gpa " + Fmt.hex(fmt.outputAddress(d, level) | (va & (fmt.blockSize(level) - 1)));
                        } else {
                            action = "table -> gpa " + Fmt.hex(fmt.tableAddress(d));
                        }
                        s1.add(new Stage1Step(level, fmt.levelName(level), Fmt.hex(tableGpa), index, Fmt.hex(entryGpa),
                                s2.get(s2.size() - 1), Fmt.hex16(d), fmt.decode(d, level), action));
                    }
                });
        // a stage-2 fault fetching an entry leaves a Stage2 without a Stage1Step: show it as the last step
        Stage2 output = null;
        if (gpaOut[0] >= 0) {
            output = s2.get(s2.size() - 1);
        } else if (hpa < 0 && NestedFault.kind(hpa) == NestedFault.S2_ON_TABLE) {
            int level = NestedFault.level(hpa);
            Stage2 failed = s2.get(s2.size() - 1);
            s1.add(new Stage1Step(level, fmt.levelName(level), null, fmt.index(va, level), failed.gpa(), failed, null,
                    null, "entry GPA does not translate at stage 2"));
        }
        boolean ok = hpa >= 0;
        return new Output(p.pasid(), p.tag(), fmt.name(), Fmt.hex(p.stage1RootGpa()), Fmt.hex(p.stage2RootPa()),
                Fmt.hex(va), s1, output, gpaOut[0] >= 0 ? Fmt.hex(gpaOut[0]) : null, ok ? Fmt.hex(hpa) : null, ok,
                ok ? null : NestedFault.kindName(hpa), ok ? null : NestedFault.stage(hpa),
                ok ? null : NestedFault.level(hpa), ok ? null : NestedFault.describe(hpa, fmt));
    }

    /** One stage-2 walk with its levels as {@code translate} prints them; the PA or a DeviceTranslation fault code. */
    private static long stage2Walk(PageTableFile f, PageTableFormat fmt, long root, long gpa, int access,
                                   List<TranslateCommand.Step> steps) {
        long[] result = {DeviceTranslation.FAULT_NOT_PRESENT};
        long pa = new PageTableWalker(f, fmt).translate(root, gpa, new PageTableVisitor() {
            @Override
            public void table(int level, long e, long tablePa, int index, long d) {
                steps.add(TranslateCommand.step(f, fmt, level, tablePa, index, d, "table -> 0x" + Long.toHexString(fmt.tableAddress(d)), null));
            }

            @Override
            public void leaf(int level, long e, long tablePa, int index, long d, long[] path) {
                int granted = fmt.protOf(d, level);
                boolean denied = (access & ~granted & (Prot.READ | Prot.WRITE)) != 0;
                steps.add(TranslateCommand.step(f, fmt, level, tablePa, index, d, denied ? "leaf, permission" : "leaf", null));
                result[0] = denied ? DeviceTranslation.FAULT_PERMISSION : 0;
            }

            @Override
            public void fault(int level, long e, long tablePa, int index, long d, String reason) {
                if (gpa < 0 || gpa >= PageTableGeometry.IOVA_LIMIT) {
                    result[0] = DeviceTranslation.FAULT_ADDRESS_SIZE;
                    return;
                }
                steps.add(TranslateCommand.step(f, fmt, level, tablePa, index, d, "not present", reason));
            }

            @Override
            public void problem(int level, long e, long dpa, long d, String reason) {
                result[0] = DeviceTranslation.FAULT_BAD_DESCRIPTOR;
            }
        });
        return pa >= 0 && result[0] == 0 ? pa : result[0] < 0 ? result[0] : DeviceTranslation.FAULT_NOT_PRESENT;
    }

    private static GuestMemoryFile memoryAt(List<GuestMemoryFile> memories, long pa) {
        for (GuestMemoryFile g : memories) {
            if (g.contains(pa, 8)) {
                return g;
            }
        }
        return null;
    }

    static void print(PrintWriter w, Output o) {
        w.println(String.format("PASID %d: nested, tag (DID/VMID) %d; stage 1 %s from root GPA %s, stage 2 from %s",
                o.pasid(), o.tag(), o.stage1Format(), o.stage1RootGpa(), o.stage2Root()));
        w.println("stage-1 walk (guest tables; each entry's GPA translated through stage 2 before it is read)");
        for (Stage1Step s : o.stage1()) {
            w.println(String.format("  %d %-5s table gpa %s [%d] entry gpa %s -> stage 2 -> %s", s.level(), s.name(),
                    s.tableGpa() == null ? "?" : s.tableGpa(), s.index(), s.entryGpa(),
                    s.stage2().hpa() != null ? "hpa " + s.stage2().hpa() : "FAULT (" + s.stage2().fault() + ")"));
            printStage2(w, s.stage2(), "      ");
            if (s.raw() != null) {
                w.println("      descriptor " + s.raw() + "  " + s.decoded() + "  => " + s.action());
            }
        }
        if (o.output() != null) {
            w.println("output gpa " + o.gpa() + " through stage 2 (" + o.output().access() + ") -> "
                    + (o.output().hpa() != null ? "hpa " + o.output().hpa() : "FAULT (" + o.output().fault() + ")"));
            printStage2(w, o.output(), "  ");
        }
        if (o.translated()) {
            w.println("result: va " + o.va() + " -> gpa " + o.gpa() + " -> hpa " + o.hpa());
        } else {
            w.println("result: FAULT (" + o.fault() + ", stage " + o.faultStage() + ", level " + o.faultLevel() + "): "
                    + o.reason());
        }
    }

    private static void printStage2(PrintWriter w, Stage2 s, String indent) {
        TextTable st = new TextTable("S2 LEVEL", "TABLE PA", "INDEX", "ENTRY PA", "RAW", "DECODED", "ACTION").right(2);
        for (TranslateCommand.Step x : s.steps()) {
            st.row(x.level() + " " + x.name(), x.tablePa(), x.index(), x.entryPa(), x.raw(), x.decoded(),
                    x.action() + (x.reason() != null ? ": " + x.reason() : ""));
        }
        if (!st.isEmpty()) {
            st.print(w, indent);
        }
    }
}
