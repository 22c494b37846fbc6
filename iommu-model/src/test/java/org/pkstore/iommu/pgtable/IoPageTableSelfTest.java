package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.iommu.Errno;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * Linux io-pgtable-arm's arm_lpae_run_tests, re-expressed for both formats, plus the error paths
 * of iommu_map / iommu_unmap.
 */
class IoPageTableSelfTest {
    private static final long[] SIZES = {SZ_4K, SZ_2M, SZ_1G};
    private static final long SZ_2G = 2 * SZ_1G;

    @TempDir
    Path dir;

    static java.util.stream.Stream<PageTableFormat> formats() {
        return DomainFiles.formats();
    }

    private IoPageTable newTable(PageTableFile f, PageTableFormat format, PartialUnmapPolicy policy) {
        return IoPageTable.create(f, format, policy);
    }

    @ParameterizedTest
    @MethodSource("formats")
    void linuxSelftestWithSplit(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 256)) {
            IoPageTable t = newTable(f, format, PartialUnmapPolicy.SPLIT);

            // empty page tables provide no translation
            assertEquals(0, t.iovaToPhys(42));
            assertEquals(0, t.iovaToPhys(SZ_1G + 42));
            assertEquals(0, t.iovaToPhys(SZ_2G + 42));

            // distinct mappings of each size: 4K at 0, 2M at 1G, 1G at 2G
            long iova = 0;
            for (long size : SIZES) {
                assertEquals(0, t.map(iova, iova, size, Prot.READ | Prot.WRITE | Prot.NOEXEC | Prot.CACHE));
                assertEquals(-Errno.EEXIST, t.map(iova, iova + size, size, Prot.READ | Prot.NOEXEC), "overlap");
                assertEquals(iova + 42, t.iovaToPhys(iova + 42));
                iova += SZ_1G;
            }

            // partial unmap of a 4K page inside the 2M block splits it
            assertEquals(SZ_4K, t.unmap(SZ_1G + SZ_4K, SZ_4K));
            assertEquals(0, t.iovaToPhys(SZ_1G + SZ_4K + 42));
            assertEquals(SZ_1G + 42, t.iovaToPhys(SZ_1G + 42), "rest of the block still maps");
            assertEquals(SZ_1G + 2 * SZ_4K + 42, t.iovaToPhys(SZ_1G + 2 * SZ_4K + 42));
            assertEquals(SZ_1G + SZ_2M - 1, t.iovaToPhys(SZ_1G + SZ_2M - 1));

            // remap of the partial unmap, to another PA
            assertEquals(0, t.map(SZ_1G + SZ_4K, SZ_4K, SZ_4K, Prot.READ));
            assertEquals(SZ_4K + 42, t.iovaToPhys(SZ_1G + SZ_4K + 42));

            // full unmap of each size, then remap write-only
            iova = 0;
            for (long size : SIZES) {
                assertEquals(size, t.unmap(iova, size));
                assertEquals(0, t.iovaToPhys(iova + 42));
                assertEquals(0, t.map(iova, iova, size, Prot.WRITE));
                assertEquals(iova + 42, t.iovaToPhys(iova + 42));
                iova += SZ_1G;
            }

            // the largest page at the top of the input range
            long top = IOVA_LIMIT - SZ_1G;
            assertEquals(0, t.map(top, top, SZ_1G, Prot.READ | Prot.WRITE));
            assertEquals(top + 42, t.iovaToPhys(top + 42));
            assertEquals(IOVA_LIMIT - 1, t.iovaToPhys(IOVA_LIMIT - 1));
            assertEquals(SZ_1G, t.unmap(top, SZ_1G));
            assertEquals(0, t.iovaToPhys(top + 42));

            iova = 0;
            for (long size : SIZES) {
                assertEquals(size, t.unmap(iova, size));
                iova += SZ_1G;
            }
            assertEquals(1, f.allocatedTablePages(), "only the root is left");
            assertTrue(PageTableVerifier.verify(f, format).clean());
        }
    }

    @ParameterizedTest
    @MethodSource("formats")
    void partialUnmapRefusedLeavesTheBlock(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = newTable(f, format, PartialUnmapPolicy.REFUSE);
            assertEquals(0, t.map(SZ_1G, SZ_1G, SZ_2M, Prot.READ | Prot.WRITE));
            assertEquals(0, t.map(SZ_2G, SZ_2G, SZ_1G, Prot.READ));
            long pages = f.allocatedTablePages();
            long writes = t.descriptorsWritten();

            assertEquals(0, t.unmap(SZ_1G + SZ_4K, SZ_4K));
            assertEquals(0, t.unmap(SZ_2G + SZ_2M, SZ_2M));
            assertEquals(0, t.unmap(SZ_2G, SZ_4K), "a 4K chunk at the block's start is still partial");
            assertEquals(SZ_1G + SZ_4K + 42, t.iovaToPhys(SZ_1G + SZ_4K + 42), "translation unchanged");
            assertEquals(SZ_2G + SZ_2M + 42, t.iovaToPhys(SZ_2G + SZ_2M + 42));
            assertEquals(pages, f.allocatedTablePages());
            assertEquals(writes, t.descriptorsWritten(), "nothing written");

            // a range starting at the whole block unmaps it, then stops at the hole after it
            assertEquals(SZ_2M, t.unmap(SZ_1G, SZ_2M + SZ_4K));
            assertEquals(SZ_1G, t.unmap(SZ_2G, SZ_1G));
        }
    }

    @ParameterizedTest
    @MethodSource("formats")
    void mapErrors(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = newTable(f, format, PartialUnmapPolicy.SPLIT);
            int rw = Prot.READ | Prot.WRITE;
            long writes = t.descriptorsWritten();

            assertEquals(-Errno.ERANGE, t.map(IOVA_LIMIT - SZ_4K, 0, 2 * SZ_4K, rw), "iova + size beyond 2^48");
            assertEquals(-Errno.ERANGE, t.map(IOVA_LIMIT, 0, SZ_4K, rw), "iova at 2^48");
            assertEquals(-Errno.ERANGE, t.map(0, IOVA_LIMIT - SZ_4K, 2 * SZ_4K, rw), "pa + size beyond 2^48");
            assertEquals(-Errno.ERANGE, t.map(-SZ_4K, 0, SZ_4K, rw), "negative iova is above 2^48 unsigned");
            assertEquals(-Errno.ERANGE, t.map(0, 0, Long.MAX_VALUE & ~(SZ_4K - 1), rw), "huge size");

            assertEquals(-Errno.EINVAL, t.map(0, 0, SZ_4K, 0), "no prot");
            assertEquals(-Errno.EINVAL, t.map(0, 0, SZ_4K, Prot.CACHE | Prot.NOEXEC), "neither READ nor WRITE");
            assertEquals(-Errno.EINVAL, t.map(0x800, 0, SZ_4K, rw), "unaligned iova");
            assertEquals(-Errno.EINVAL, t.map(0, 0x800, SZ_4K, rw), "unaligned pa");
            assertEquals(-Errno.EINVAL, t.map(0, 0, 0x800, rw), "unaligned size");
            assertEquals(-Errno.EINVAL, t.map(0, 0, 0, rw), "size 0");
            assertEquals(-Errno.EINVAL, t.map(0, 0, -SZ_4K, rw), "negative size");
            assertEquals(writes, t.descriptorsWritten());
            assertEquals(1, f.allocatedTablePages());

            assertEquals(0, t.map(0x5000, 0x5000, SZ_4K, rw));
            assertEquals(-Errno.EEXIST, t.map(0x5000, 0x9000, SZ_4K, rw), "same page");
            assertEquals(-Errno.EEXIST, t.map(0, 0, SZ_2M, rw), "block over a table with a leaf");
            // a multi-page map that meets the leaf half way undoes what it mapped
            assertEquals(-Errno.EEXIST, t.map(0, 0x100000, 0x10000, rw));
            for (long a = 0; a < 0x10000; a += SZ_4K) {
                assertEquals(a == 0x5000 ? 0x5000 : 0, t.iovaToPhys(a), "0x" + Long.toHexString(a));
            }
            assertEquals(4, f.allocatedTablePages());
            assertTrue(PageTableVerifier.verify(f, format).clean());
        }
    }

    @ParameterizedTest
    @MethodSource("formats")
    void unmapEdges(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = newTable(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(0, t.map(0, 0x10_0000, 2 * SZ_4K, Prot.READ));
            assertEquals(0, t.unmap(0x800, SZ_4K), "unaligned");
            assertEquals(0, t.unmap(0, 0), "size 0");
            assertEquals(0, t.unmap(IOVA_LIMIT, SZ_4K), "beyond range");
            assertEquals(0, t.unmap(3 * SZ_4K, SZ_4K), "hole");
            assertEquals(2 * SZ_4K, t.unmap(0, 4 * SZ_4K), "stops at the first hole");
            assertEquals(1, f.allocatedTablePages());

            // a chunk that meets a table unmaps everything under it, as Linux does
            assertEquals(0, t.map(SZ_4K, SZ_4K, SZ_4K, Prot.READ));
            assertEquals(0, t.map(9 * SZ_4K, SZ_4K, SZ_4K, Prot.READ));
            assertEquals(SZ_2M, t.unmap(0, SZ_2M));
            assertEquals(0, t.iovaToPhys(9 * SZ_4K));
            assertEquals(1, f.allocatedTablePages());
        }
    }

    @ParameterizedTest
    @MethodSource("formats")
    void restrictedPageSizes(PageTableFormat format) {
        try (PageTableFile f = DomainFiles.create(dir, format, 2048)) {
            IoPageTable t = newTable(f, format, PartialUnmapPolicy.SPLIT);
            t.setPageSizes(SZ_4K);
            assertEquals(0, t.map(0, 0, SZ_2M, Prot.READ));
            DomainFiles.Collected c = DomainFiles.Collected.walk(f, format);
            assertEquals(512, c.leaves.size(), "4K pages only");
            assertEquals(SZ_2M, t.unmap(0, SZ_2M));

            t.setPageSizes(SZ_2M | SZ_1G);
            assertEquals(-Errno.EINVAL, t.map(0, 0, SZ_4K, Prot.READ), "smaller than the smallest size");
            assertEquals(0, t.map(0, 0, SZ_1G + SZ_2M, Prot.READ));
            c = DomainFiles.Collected.walk(f, format);
            assertEquals(2, c.leaves.size());
            assertEquals(1, c.leaves.get(0).level());
            assertEquals(2, c.leaves.get(1).level());
            assertThrows(IllegalArgumentException.class, () -> t.setPageSizes(0));
            assertThrows(IllegalArgumentException.class, () -> t.setPageSizes(SZ_4K | (1L << 13)));
        }
    }

    @Test
    void pageSizeMatchesLinuxIommuPgsize() {
        long all = PageTableGeometry.PGSIZE_BITMAP;
        assertEquals(SZ_2M, PageTableGeometry.pageSize(all, 0, 0, 4 * SZ_2M));
        assertEquals(4, PageTableGeometry.pageCount(all, 0, 0, 4 * SZ_2M, SZ_2M));
        // 4K pages up to the next 2M boundary, then larger pages again
        assertEquals(SZ_4K, PageTableGeometry.pageSize(all, SZ_4K, SZ_4K, 2 * SZ_2M));
        assertEquals(511, PageTableGeometry.pageCount(all, SZ_4K, SZ_4K, 2 * SZ_2M, SZ_4K));
        // iova and pa offset differently within 2M: never larger than 4K
        assertEquals(SZ_4K, PageTableGeometry.pageSize(all, 0, SZ_4K, 2 * SZ_2M));
        assertEquals(1024, PageTableGeometry.pageCount(all, 0, SZ_4K, 2 * SZ_2M, SZ_4K));
        // not enough left after the boundary for a 2M page: all 4K
        assertEquals(SZ_4K, PageTableGeometry.pageSize(all, SZ_2M - SZ_4K, SZ_2M - SZ_4K, 3 * SZ_4K));
        assertEquals(3, PageTableGeometry.pageCount(all, SZ_2M - SZ_4K, SZ_2M - SZ_4K, 3 * SZ_4K, SZ_4K));
        assertEquals(SZ_1G, PageTableGeometry.pageSize(all, 0, 0, 5 * SZ_1G));
        assertEquals(SZ_1G, PageTableGeometry.pageSize(all, 0, 0, Long.MAX_VALUE));
        assertEquals(0, PageTableGeometry.pageSize(SZ_2M, SZ_4K, 0, SZ_2M), "nothing fits");
    }

    @Test
    void geometry() {
        assertEquals(39, PageTableGeometry.levelShift(0));
        assertEquals(30, PageTableGeometry.levelShift(1));
        assertEquals(21, PageTableGeometry.levelShift(2));
        assertEquals(12, PageTableGeometry.levelShift(3));
        assertEquals(SZ_1G, PageTableGeometry.blockSize(1));
        assertEquals(511, PageTableGeometry.index(IOVA_LIMIT - 1, 0));
        assertEquals(1, PageTableGeometry.index(SZ_1G, 1));
        assertEquals(3, PageTableGeometry.index(0x3000, 3));
        assertTrue(!PageTableGeometry.isLeafLevelAllowed(0) && PageTableGeometry.isLeafLevelAllowed(1)
                && PageTableGeometry.isLeafLevelAllowed(3));
        assertEquals(PageTableFormat.FORMAT_VTD_SL, PageTableFormat.byId(1).id());
        assertEquals("arm-lpae-s2", PageTableFormat.byId(2).name());
        assertThrows(IllegalArgumentException.class, () -> PageTableFormat.byId(3));
    }
}
