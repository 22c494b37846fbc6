package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.iommu.pgtable.DomainFiles.PA_BASE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;

/** The walker, translate, verify, dump and device translation over sound and hostile files. */
class PageTableWalkerTest {
    @TempDir
    Path dir;

    private static final int RW = Prot.READ | Prot.WRITE;
    private static final long P2 = PA_BASE + 2 * SZ_4K; // root
    private static final long P3 = PA_BASE + 3 * SZ_4K; // L1
    private static final long P4 = PA_BASE + 4 * SZ_4K; // L2 for 0..1G
    private static final long P5 = PA_BASE + 5 * SZ_4K; // L3 for 0..2M
    private static final long P6 = PA_BASE + 6 * SZ_4K; // L2 for 1G..2G
    private static final long P7 = PA_BASE + 7 * SZ_4K; // L3 for 1G..1G+2M

    /** Two 4K mappings, at 0 and at 1G, then seven kinds of damage. Returns offset -> reason fragment. */
    private Map<Long, String> buildHostile(PageTableFile f, PageTableFormat format) {
        IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
        assertEquals(0, t.map(0, 0x7000, SZ_4K, RW));
        assertEquals(0, t.map(SZ_1G, 0x8000, SZ_4K, RW));
        assertEquals(P2, t.rootPa());
        assertEquals(P7, format.tableAddress(f.readDescriptor(descriptorPa(P6, 0))));

        Map<Long, String> expected = new LinkedHashMap<>(); // in walk order
        long invalidLeaf = format instanceof ArmLpaeS2Format
                ? format.makeLeaf(0x9000, Prot.READ, 2)        // type 01 at level 3
                : format.makeLeaf(0x9000, Prot.READ, 3) | (1L << 60);
        put(f, expected, descriptorPa(P5, 7), invalidLeaf, "");
        put(f, expected, descriptorPa(P4, 5), format.makeTable(P2), "already reached");      // cycle to the root
        put(f, expected, descriptorPa(P6, 9), format.makeTable(P7), "already reached");      // shared table
        put(f, expected, descriptorPa(P3, 3), format.makeTable(f.paOfPage(40)), "free");    // unallocated page
        put(f, expected, descriptorPa(P2, 1), format.makeTable(f.paLimit() + SZ_4K), "outside");
        put(f, expected, descriptorPa(P2, 2), format.makeLeaf(0, Prot.READ, 1), "level 0");  // 512G block
        put(f, expected, descriptorPa(P2, 3), format.makeTable(PA_BASE), "header or bitmap");
        return expected;
    }

    private static void put(PageTableFile f, Map<Long, String> expected, long dpa, long value, String why) {
        f.writeDescriptor(dpa, value);
        expected.put(dpa - PA_BASE, why);
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void hostileFileIsWalkedToTheEndAndEveryProblemReportedAtItsOffset(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            Map<Long, String> expected = buildHostile(f, format);
            PageTableWalker walker = new PageTableWalker(f, format);
            DomainFiles.Collected c = new DomainFiles.Collected(f, format);
            walker.walk(c);

            List<Long> offsets = new ArrayList<>();
            for (DomainFiles.Problem p : c.problems) {
                offsets.add(p.offset());
                assertTrue(p.reason().contains(expected.get(p.offset())), p.reason());
            }
            assertEquals(new ArrayList<>(expected.keySet()), offsets, c.problems.toString());
            if (format instanceof ArmLpaeS2Format) {
                assertTrue(c.problems.get(5).reason().contains("block descriptor at level 0"));
            } else {
                assertTrue(c.problems.get(5).reason().contains("PS set at level 0"));
            }
            assertEquals(2, c.leaves.size(), "the two sound mappings are still reported");
            assertEquals(0x8000, c.leaves.get(1).pa());

            BitSet reachable = walker.reachablePages();
            assertEquals(6, reachable.cardinality());
            for (int p = 2; p <= 7; p++) {
                assertTrue(reachable.get(p));
            }

            PageTableVerifier.Report report = PageTableVerifier.verify(f, format);
            assertEquals(7, report.problems().size());
            assertEquals(expected.keySet().iterator().next(), report.problems().get(0).offset());
            assertEquals(f.path(), report.problems().get(0).file());
            assertEquals(0, report.leakedPageCount());
            assertEquals(2, report.leaves());

            // a page allocated but linked nowhere is a leak the sweep gives back
            long leaked = f.allocatePage();
            report = PageTableVerifier.verify(f, format);
            assertEquals(1, report.leakedPageCount());
            assertTrue(report.leakedPages().get((int) f.pageIndexOf(leaked)));
            assertEquals(1, f.reclaimUnreachable(report.reachablePages()));
            assertFalse(f.isAllocated(f.pageIndexOf(leaked)));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void rangeWalkAndSingleIovaTranslate(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            buildHostile(f, format);
            PageTableWalker walker = new PageTableWalker(f, format);
            DomainFiles.Collected c = new DomainFiles.Collected(f, format);
            walker.walk(P2, SZ_1G, 2 * SZ_1G, c);
            assertEquals(1, c.leaves.size());
            assertEquals(SZ_1G, c.leaves.get(0).iova());
            assertEquals(1, c.problems.size(), "only the shared table lies in range");
            assertEquals(descriptorPa(P6, 9) - PA_BASE, c.problems.get(0).offset());

            List<String> steps = new ArrayList<>();
            PageTableVisitor v = new PageTableVisitor() {
                @Override
                public void table(int level, long iova, long tablePa, int index, long descriptor) {
                    steps.add(String.format("table L%d 0x%x[%d]=0x%x", level, tablePa, index, descriptor));
                }

                @Override
                public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                    steps.add(String.format("leaf L%d 0x%x[%d]=0x%x", level, tablePa, index, descriptor));
                }

                @Override
                public void fault(int level, long iova, long tablePa, int index, long descriptor, String reason) {
                    steps.add("fault " + reason);
                }

                @Override
                public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
                    steps.add("problem 0x" + Long.toHexString(descriptorPa - PA_BASE));
                }
            };
            assertEquals(0x8000 + 42, walker.translate(SZ_1G + 42, v));
            assertEquals(List.of(
                    String.format("table L0 0x%x[0]=0x%x", P2, format.makeTable(P3)),
                    String.format("table L1 0x%x[1]=0x%x", P3, format.makeTable(P6)),
                    String.format("table L2 0x%x[0]=0x%x", P6, format.makeTable(P7)),
                    String.format("leaf L3 0x%x[0]=0x%x", P7, format.makeLeaf(0x8000, RW, 3))), steps);

            steps.clear();
            assertEquals(-1, walker.translate(2 * SZ_1G, v));
            assertEquals(List.of(String.format("table L0 0x%x[0]=0x%x", P2, format.makeTable(P3)),
                    "fault not present at level 1"), steps);

            steps.clear();
            assertEquals(-1, walker.translate(512 * SZ_1G, v));
            assertEquals(List.of("problem 0x2008"), steps);

            steps.clear();
            assertEquals(-1, walker.translate(3 * SZ_1G, v));
            assertEquals("problem 0x3018", steps.get(steps.size() - 1));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void deviceTranslationFaultsOnHostileEntriesWithoutLeavingTheFile(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            buildHostile(f, format);
            DeviceTranslation dev = new DeviceTranslation(f);
            assertEquals(0x8000 + 42, dev.translate(SZ_1G + 42, Prot.READ | Prot.WRITE));
            assertEquals(0x7000, dev.translate(0, Prot.WRITE));
            assertEquals(DeviceTranslation.FAULT_NOT_PRESENT, dev.translate(2 * SZ_1G, Prot.READ));
            assertEquals(DeviceTranslation.FAULT_NOT_PRESENT, dev.translate(SZ_4K, Prot.READ));
            assertEquals(DeviceTranslation.FAULT_BAD_DESCRIPTOR, dev.translate(512 * SZ_1G, Prot.READ), "outside");
            assertEquals(DeviceTranslation.FAULT_BAD_DESCRIPTOR, dev.translate(1024 * SZ_1G, Prot.READ), "L0 block");
            assertEquals(DeviceTranslation.FAULT_BAD_DESCRIPTOR, dev.translate(7 * SZ_4K, Prot.READ), "invalid leaf");
            assertEquals(DeviceTranslation.FAULT_ADDRESS_SIZE, dev.translate(1L << 48, Prot.READ));
            assertEquals(0, dev.retries());
            assertEquals("permission", DeviceTranslation.faultName(DeviceTranslation.FAULT_PERMISSION));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void rootProblemsAndFormatMismatch(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            DomainFiles.Collected c = DomainFiles.Collected.walk(f, format);
            assertEquals(1, c.problems.size());
            assertEquals(PageTableFileDescriptor.ROOT_PA_OFFSET, c.problems.get(0).offset());
            assertTrue(c.problems.get(0).reason().contains("no root"));
            assertEquals(DeviceTranslation.FAULT_NO_ROOT, new DeviceTranslation(f).translate(0, Prot.READ));

            f.setRootPa(f.paOfPage(50)); // a table page, but free
            c = DomainFiles.Collected.walk(f, format);
            assertEquals(PageTableFileDescriptor.ROOT_PA_OFFSET, c.problems.get(0).offset());
            assertTrue(c.problems.get(0).reason().contains("free"));
            // like hardware, the device does not consult the allocation bitmap: a free page is zeroes
            assertEquals(DeviceTranslation.FAULT_NOT_PRESENT, new DeviceTranslation(f).translate(0, Prot.READ));

            PageTableFormat other = format instanceof ArmLpaeS2Format
                    ? VtdSecondStageFormat.INSTANCE : ArmLpaeS2Format.INSTANCE;
            PageTableVerifier.Report r = PageTableVerifier.verify(f, other);
            assertEquals(PageTableFileDescriptor.FORMAT_OFFSET, r.problems().get(0).offset());
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void dumpHasOneRowPerLeafWithEachLevelsRawEntry(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, 0x7000, SZ_4K, RW));
            assertEquals(0, t.map(2 * SZ_1G, 2 * SZ_1G, SZ_1G, Prot.READ));
            String dump = PageTableDump.toString(f, format, true);
            String[] lines = dump.split("\n");
            assertEquals(3, lines.length, dump);
            assertTrue(lines[0].startsWith("IOVA_PFN\t\t" + format.levelName(0)), lines[0]);
            assertTrue(lines[1].startsWith(String.format("0x0000000000000 |\t0x%016x\t0x%016x\t0x%016x\t0x%016x\t# ",
                    format.makeTable(P3), format.makeTable(P4), format.makeTable(P5),
                    format.makeLeaf(0x7000, RW, 3))), lines[1]);
            assertTrue(lines[2].startsWith(String.format("0x0000000080000 |\t0x%016x\t0x%016x\t# ",
                    format.makeTable(P3), format.makeLeaf(2 * SZ_1G, Prot.READ, 1))), lines[2]);

            f.writeDescriptor(descriptorPa(P2, 4), format.makeTable(PA_BASE));
            assertTrue(PageTableDump.toString(f, format, false).contains("# problem at offset 0x2020"));
        }
    }
}
