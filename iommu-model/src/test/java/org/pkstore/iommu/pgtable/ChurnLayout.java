package org.pkstore.iommu.pgtable;

import java.util.ArrayList;
import java.util.List;

import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * IOVA layout shared by {@link ConcurrentDeviceTranslationTest} and {@link ChurnWriterMain}. Every
 * mapping, fixed or churning, maps {@code iova -> iova + PA_OFFSET}, so a reader can tell any
 * translation right or wrong without knowing what the writer is doing.
 *
 * <pre>
 *  [1G, 1G+16M)    8 shared 2M regions: a fixed page every 64K, churning 4K pages between them
 *                  (their L3 tables always hold a fixed page, so they stay; the churn shares them)
 *  [1G+16M, 1G+64M) 24 churn 2M regions: 2M blocks, runs of 4K pages, splits, whole-region unmaps
 *  2G               a fixed 2M block;  3G: a fixed 1G block
 *  [4G, 5G)        far churn: 4K runs in 64 2M regions and whole-1G unmaps that free an L2 table
 *                  and its L3 tables at once
 * </pre>
 */
final class ChurnLayout {
    private ChurnLayout() {}

    static final long PA_OFFSET = 64 * SZ_1G;
    static final long SHARED_BASE = SZ_1G;
    static final int SHARED_REGIONS = 8;
    static final long FIXED_STRIDE = 16 * SZ_4K;
    static final long CHURN_BASE = SZ_1G + SHARED_REGIONS * SZ_2M;
    static final int CHURN_REGIONS = 24;
    static final long FIXED_BLOCK_2M = 2 * SZ_1G;
    static final long FIXED_BLOCK_1G = 3 * SZ_1G;
    static final long FAR_BASE = 4 * SZ_1G;
    static final int FAR_REGIONS = 64;
    /** The one fixed page mapped write-only, for permission faults. */
    static final long WRITE_ONLY = SHARED_BASE + FIXED_STRIDE;

    static List<Long> fixedPages() {
        List<Long> pages = new ArrayList<>();
        for (long a = SHARED_BASE; a < SHARED_BASE + SHARED_REGIONS * SZ_2M; a += FIXED_STRIDE) {
            pages.add(a);
        }
        return pages;
    }

    static boolean isFixedPage(long iova) {
        return iova >= SHARED_BASE && iova < CHURN_BASE && (iova - SHARED_BASE) % FIXED_STRIDE == 0;
    }

    static int fixedProt(long iova) {
        return iova == WRITE_ONLY ? Prot.WRITE : Prot.READ | Prot.WRITE | Prot.CACHE;
    }

    /** Maps the fixed set in an empty table. */
    static void mapFixed(IoPageTable t) {
        for (long a : fixedPages()) {
            check(t.map(a, a + PA_OFFSET, SZ_4K, fixedProt(a)));
        }
        check(t.map(FIXED_BLOCK_2M, FIXED_BLOCK_2M + PA_OFFSET, SZ_2M, Prot.READ | Prot.WRITE));
        check(t.map(FIXED_BLOCK_1G, FIXED_BLOCK_1G + PA_OFFSET, SZ_1G, Prot.READ | Prot.WRITE));
    }

    private static void check(int ret) {
        if (ret != 0) {
            throw new IllegalStateException("fixed map failed: " + ret);
        }
    }
}
