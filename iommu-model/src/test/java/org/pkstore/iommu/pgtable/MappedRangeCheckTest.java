package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.iommu.Allocations;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * {@link IoPageTable#firstMismatch} on both formats: 4 KiB pages, 2 MiB and 1 GiB blocks, holes, a
 * wrong PA, a wrong permission, ranges crossing leaf tables, and the position of the first
 * mismatch; compared with the visitor walk it replaced ({@link #walkedFirstMismatch}) on random
 * layouts; and allocation-free.
 */
class MappedRangeCheckTest {
    private static final int RW = Prot.READ | Prot.WRITE;
    private static final long PA = 0x1_0000_0000L;

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void pagesBlocksHolesWrongPaAndProt(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 256)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            // 4 KiB pages across a leaf-table boundary: [2M - 64K, 2M + 64K)
            long pages = SZ_2M - 16 * SZ_4K;
            assertEquals(0, t.map(pages, PA, 32 * SZ_4K, RW));
            assertEquals(-1, t.firstMismatch(pages, 32 * SZ_4K, PA, RW));
            assertEquals(-1, t.firstMismatch(pages + 5 * SZ_4K, 20 * SZ_4K, PA + 5 * SZ_4K, RW), "a sub-range");
            // one page past the end is a hole: the mismatch is the first unmapped IOVA
            assertEquals(pages + 32 * SZ_4K, t.firstMismatch(pages, 33 * SZ_4K, PA, RW));
            // a range starting in a hole
            assertEquals(pages - SZ_4K, t.firstMismatch(pages - SZ_4K, 2 * SZ_4K, PA - SZ_4K, RW));
            // the wrong PA: mismatch at the first IOVA
            assertEquals(pages, t.firstMismatch(pages, 32 * SZ_4K, PA + SZ_4K, RW));
            // the wrong permission
            assertEquals(pages, t.firstMismatch(pages, 32 * SZ_4K, PA, Prot.READ));

            // a hole in the middle (page 20, past the leaf-table boundary), then a page mapped elsewhere
            assertEquals(SZ_4K, t.unmap(pages + 20 * SZ_4K, SZ_4K));
            assertEquals(pages + 20 * SZ_4K, t.firstMismatch(pages, 32 * SZ_4K, PA, RW));
            assertEquals(0, t.map(pages + 20 * SZ_4K, PA + 0x100_0000, SZ_4K, RW));
            assertEquals(pages + 20 * SZ_4K, t.firstMismatch(pages, 32 * SZ_4K, PA, RW));
            assertEquals(-1, t.firstMismatch(pages, 20 * SZ_4K, PA, RW), "everything before it matches");
            // a page with another permission, before it
            assertEquals(SZ_4K, t.unmap(pages + 7 * SZ_4K, SZ_4K));
            assertEquals(0, t.map(pages + 7 * SZ_4K, PA + 7 * SZ_4K, SZ_4K, Prot.READ));
            assertEquals(pages + 7 * SZ_4K, t.firstMismatch(pages, 32 * SZ_4K, PA, RW));

            // a 2 MiB block, then 4 KiB pages continuing it, checked as one range
            long block = SZ_1G;
            assertEquals(0, t.map(block, 0x2_0000_0000L, SZ_2M, RW));
            assertEquals(0, t.map(block + SZ_2M, 0x2_0000_0000L + SZ_2M, 8 * SZ_4K, RW));
            assertEquals(-1, t.firstMismatch(block, SZ_2M + 8 * SZ_4K, 0x2_0000_0000L, RW));
            assertEquals(-1, t.firstMismatch(block + 0x3000, SZ_2M, 0x2_0000_3000L, RW), "from inside the block");
            assertEquals(block + 0x3000, t.firstMismatch(block + 0x3000, SZ_4K, 0x2_0000_4000L, RW),
                    "inside the block, the wrong offset");
            assertEquals(block + SZ_2M + 8 * SZ_4K, t.firstMismatch(block, SZ_2M + 9 * SZ_4K, 0x2_0000_0000L, RW));
            assertEquals(block, t.firstMismatch(block, SZ_4K, 0x2_0000_0000L, Prot.READ));

            // a 1 GiB block
            long giant = 4 * SZ_1G;
            assertEquals(0, t.map(giant, 0x40_0000_0000L, SZ_1G, RW));
            assertEquals(-1, t.firstMismatch(giant, SZ_1G, 0x40_0000_0000L, RW));
            assertEquals(giant + SZ_1G, t.firstMismatch(giant + SZ_1G - SZ_4K, 2 * SZ_4K, 0x40_0000_0000L + SZ_1G - SZ_4K, RW));

            // empty ranges match; an IOVA beyond the input range does not
            assertEquals(-1, t.firstMismatch(pages, 0, PA, RW));
            long limit = PageTableGeometry.IOVA_LIMIT;
            assertEquals(limit, t.firstMismatch(limit, SZ_4K, 0, RW));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void sameAnswerAsTheVisitorWalkOnRandomLayouts(PageTableFormat format) {
        Random rnd = new Random(13);
        try (PageTableFile f = DomainFiles.create(dir, format, 512)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            // 3 x 2 MiB windows of 4 KiB pages with random holes, permissions and PAs, and a block
            for (int w = 0; w < 3; w++) {
                long base = w * SZ_2M * 3 + SZ_2M;
                for (int p = 0; p < 1024; p++) {
                    int r = rnd.nextInt(100);
                    if (r < 3) {
                        continue; // hole
                    }
                    int prot = r < 5 ? Prot.READ : RW;
                    long pa = r < 7 ? PA + 0x7700_0000L + p * SZ_4K : PA + base + p * SZ_4K;
                    assertEquals(0, t.map(base + p * SZ_4K, pa, SZ_4K, prot));
                }
            }
            assertEquals(0, t.map(16 * SZ_2M, PA + 16 * SZ_2M, SZ_2M, RW));
            for (int q = 0; q < 3000; q++) {
                long iova = SZ_2M - 8 * SZ_4K + rnd.nextInt(9 * 512 + 16) * SZ_4K;
                if (q % 10 == 0) {
                    iova = 16 * SZ_2M + rnd.nextInt(512) * SZ_4K;
                }
                long size = (1 + rnd.nextInt(q % 3 == 0 ? 2000 : 40)) * SZ_4K;
                long pa = PA + iova + (q % 17 == 0 ? SZ_4K : 0);
                int prot = q % 23 == 0 ? Prot.READ : RW;
                assertEquals(walkedFirstMismatch(t, iova, size, pa, prot), t.firstMismatch(iova, size, pa, prot),
                        String.format("iova 0x%x size 0x%x pa 0x%x prot %d", iova, size, pa, prot));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void allocatesNothing(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, PA, 1024 * SZ_4K, RW));
            long[] sum = {0}; // the results kept alive, so the JIT cannot drop the calls
            long bytes = Allocations.of(() -> sum[0] += t.firstMismatch(0, 1024 * SZ_4K, PA, RW)
                    + t.firstMismatch(0, 1025 * SZ_4K, PA, RW), 20_000, 2_000);
            assertEquals(0, bytes, "bytes allocated (sum " + sum[0] + ")");
        }
    }

    /** The check as it was before the range walk: PageTableWalker with a visitor (the oracle). */
    private static long walkedFirstMismatch(IoPageTable table, long iova, long size, long pa, int prot) {
        PageTableFormat fmt = table.format();
        int wantProt = fmt.protOf(fmt.makeLeaf(0, prot, PageTableGeometry.LEAF_LEVEL), PageTableGeometry.LEAF_LEVEL);
        long end = iova + size;
        long[] next = {iova};
        long[] bad = {-1};
        new PageTableWalker(table.file(), fmt).walk(table.rootPa(), iova, end, new PageTableVisitor() {
            @Override
            public void leaf(int level, long leafIova, long tablePa, int index, long descriptor, long[] path) {
                if (bad[0] >= 0) {
                    return;
                }
                long from = Math.max(leafIova, iova);
                if (from > next[0]) {
                    bad[0] = next[0];
                    return;
                }
                long oa = fmt.outputAddress(descriptor, level) + (from - leafIova);
                if (oa != pa + (from - iova) || fmt.protOf(descriptor, level) != wantProt) {
                    bad[0] = from;
                    return;
                }
                next[0] = Math.min(end, leafIova + PageTableGeometry.blockSize(level));
            }

            @Override
            public void problem(int level, long pIova, long descriptorPa, long descriptor, String reason) {
                if (bad[0] < 0) {
                    bad[0] = Math.max(pIova, next[0]);
                }
            }
        });
        if (bad[0] >= 0) {
            return bad[0];
        }
        return next[0] < end ? next[0] : -1;
    }
}
