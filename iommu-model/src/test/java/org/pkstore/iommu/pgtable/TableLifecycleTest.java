package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.iommu.Errno;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;

/** Table pages: allocation, freeing when empty, replacement by blocks, splits, running out. */
class TableLifecycleTest {
    @TempDir
    Path dir;

    private static final int RW = Prot.READ | Prot.WRITE;

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void emptyTablesFreedAfterTheirParentIsCleared(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, 0, SZ_4K, RW));
            assertEquals(0, t.map(SZ_4K, SZ_4K, SZ_4K, RW));
            assertEquals(4, f.allocatedTablePages());
            assertEquals(4, t.tablePagesAllocated());

            // the L3 table still holds a page: one store, nothing freed
            long writes = t.descriptorsWritten();
            long seq = f.freeSeq();
            assertEquals(SZ_4K, t.unmap(0, SZ_4K));
            assertEquals(writes + 1, t.descriptorsWritten());
            assertEquals(seq, f.freeSeq());
            assertEquals(4, f.allocatedTablePages());

            // last page: leaf cleared, then for each emptied table its parent entry cleared, then freed
            writes = t.descriptorsWritten();
            assertEquals(SZ_4K, t.unmap(SZ_4K, SZ_4K));
            assertEquals(writes + 4, t.descriptorsWritten(), "leaf + three parent entries");
            assertEquals(3, t.tablePagesFreed());
            assertEquals(seq + 3, f.freeSeq(), "free sequence bumped once per freed page");
            assertEquals(1, f.allocatedTablePages(), "only the root is left");
            assertEquals(0, f.readDescriptor(descriptorPa(t.rootPa(), 0)), "root entry cleared");
            assertTrue(PageTableVerifier.verify(f, format).clean());
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void blockReplacesAnEmptySubtreeAndFreesIt(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, 0, SZ_4K, RW));
            long l1 = format.tableAddress(f.readDescriptor(descriptorPa(t.rootPa(), 0)));
            long l2 = format.tableAddress(f.readDescriptor(descriptorPa(l1, 0)));

            // empty tables as a kernel that never frees them (io-pgtable-arm) leaves behind:
            // an empty L3 under L2 entry 1 (2M..4M), and an empty L2 -> empty L3 under L1 entry 1 (1G)
            long emptyL3 = f.allocatePage();
            f.writeDescriptor(descriptorPa(l2, 1), format.makeTable(emptyL3));
            long emptyL2 = f.allocatePage();
            long emptyL3b = f.allocatePage();
            f.writeDescriptor(descriptorPa(emptyL2, 7), format.makeTable(emptyL3b));
            f.writeDescriptor(descriptorPa(l1, 1), format.makeTable(emptyL2));
            assertEquals(7, f.allocatedTablePages());

            assertEquals(0, t.map(SZ_2M, 0x4000_0000L, SZ_2M, RW));
            assertFalse(f.isAllocated(f.pageIndexOf(emptyL3)), "empty L3 freed");
            assertTrue(format.isLeaf(f.readDescriptor(descriptorPa(l2, 1)), 2));
            assertEquals(0x4000_0000L + 42, t.iovaToPhys(SZ_2M + 42));

            assertEquals(0, t.map(SZ_1G, SZ_1G, SZ_1G, RW));
            assertFalse(f.isAllocated(f.pageIndexOf(emptyL2)));
            assertFalse(f.isAllocated(f.pageIndexOf(emptyL3b)));
            assertEquals(3, t.tablePagesFreed());
            assertEquals(4, f.allocatedTablePages());
            assertTrue(PageTableVerifier.verify(f, format).clean());
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void blockOverASubtreeWithALeafIsEexist(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(SZ_1G + 2 * SZ_4K, 0x7000, SZ_4K, RW));
            long pages = f.allocatedTablePages();
            long writes = t.descriptorsWritten();
            assertEquals(-Errno.EEXIST, t.map(SZ_1G, SZ_1G, SZ_2M, RW));
            assertEquals(-Errno.EEXIST, t.map(SZ_1G, SZ_1G, SZ_1G, RW));
            assertEquals(writes, t.descriptorsWritten());
            assertEquals(pages, f.allocatedTablePages());
            assertEquals(0x7000 + 42, t.iovaToPhys(SZ_1G + 2 * SZ_4K + 42));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void splitOfAGigabyteBlockKeepsEveryOtherTranslation(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            int prot = Prot.READ | Prot.CACHE | Prot.NOEXEC;
            long pa = 0x20_0000_0000L;
            assertEquals(0, t.map(SZ_1G, pa, SZ_1G, prot));
            long hole = SZ_1G + 5 * SZ_2M + 3 * SZ_4K;
            long seq = f.freeSeq();
            assertEquals(SZ_4K, t.unmap(hole, SZ_4K));
            assertEquals(seq, f.freeSeq(), "a split frees nothing");

            DomainFiles.Collected c = DomainFiles.Collected.walk(f, format);
            assertTrue(c.problems.isEmpty());
            assertEquals(511 + 511, c.leaves.size());
            long expectedIova = SZ_1G;
            for (DomainFiles.Leaf leaf : c.leaves) {
                if (expectedIova == hole) {
                    expectedIova += SZ_4K;
                }
                assertEquals(expectedIova, leaf.iova(), leaf.toString());
                assertEquals(pa + (leaf.iova() - SZ_1G), leaf.pa(), leaf.toString());
                assertEquals(format.makeLeaf(leaf.pa(), prot, leaf.level()), leaf.descriptor(), "same attributes");
                assertEquals(SZ_1G + 5 * SZ_2M == (leaf.iova() & ~(SZ_2M - 1)) ? 3 : 2, leaf.level());
                expectedIova += leaf.size();
            }
            assertEquals(2 * SZ_1G, expectedIova);
            assertEquals(0, t.iovaToPhys(hole));

            // unmapping the rest piece by piece frees the split tables again
            assertEquals(SZ_4K * 3, t.unmap(SZ_1G + 5 * SZ_2M, 3 * SZ_4K));
            assertEquals(SZ_2M - 4 * SZ_4K, t.unmap(hole + SZ_4K, SZ_2M - 4 * SZ_4K));
            assertEquals(5 * SZ_2M, t.unmap(SZ_1G, 5 * SZ_2M));
            assertEquals(SZ_1G - 6 * SZ_2M, t.unmap(SZ_1G + 6 * SZ_2M, SZ_1G - 6 * SZ_2M));
            assertEquals(1, f.allocatedTablePages());
            assertEquals(t.tablePagesAllocated(), t.tablePagesFreed() + 1);
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void fileFullIsEnomemAndLeavesNothingBehind(PageTableFormat format) {
        // capacity 5: header, bitmap, root, and two spare pages; a 4K map needs three
        try (PageTableFile f = DomainFiles.create(dir, format, 5)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(-Errno.ENOMEM, t.map(0, 0, SZ_4K, RW));
            assertEquals(1, f.allocatedTablePages());
            assertEquals(0, f.readDescriptor(descriptorPa(t.rootPa(), 0)), "nothing published");
            // a 2M block needs only two
            assertEquals(0, t.map(0, 0, SZ_2M, RW));
            // splitting it needs a third: Linux unmaps nothing then
            assertEquals(0, t.unmap(SZ_4K, SZ_4K));
            assertEquals(SZ_4K + 1, t.iovaToPhys(SZ_4K + 1));
            assertTrue(PageTableVerifier.verify(f, format).clean());
        }
        // capacity 6: one 4K page fits; a run crossing into the next 2M needs one more table
        try (PageTableFile f = DomainFiles.create(dir, format, 6)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, 0, SZ_4K, RW));
            assertEquals(-Errno.ENOMEM, t.map(SZ_2M - 2 * SZ_4K, 0x10_0000, 4 * SZ_4K, RW));
            assertEquals(0, t.iovaToPhys(SZ_2M - 2 * SZ_4K), "what the call mapped was undone");
            assertEquals(0, t.iovaToPhys(SZ_2M - SZ_4K));
            assertEquals(4, f.allocatedTablePages());
            List<DomainFiles.Leaf> leaves = DomainFiles.Collected.walk(f, format).leaves;
            assertEquals(1, leaves.size());
            assertEquals(0, leaves.get(0).iova());
        }
    }
}
