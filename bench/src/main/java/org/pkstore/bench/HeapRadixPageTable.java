package org.pkstore.bench;

import org.pkstore.iommu.Errno;
import org.pkstore.iommu.pgtable.PageTableFormat;

import java.util.Arrays;

import static org.pkstore.iommu.pgtable.PageTableGeometry.ENTRIES_PER_TABLE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEAF_LEVEL;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEVELS;
import static org.pkstore.iommu.pgtable.PageTableGeometry.PGSIZE_BITMAP;
import static org.pkstore.iommu.pgtable.PageTableGeometry.blockSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.index;
import static org.pkstore.iommu.pgtable.PageTableGeometry.levelOfSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.pageCount;
import static org.pkstore.iommu.pgtable.PageTableGeometry.pageSize;

/**
 * Baseline: the same 4-level, 512-entry radix table with the same descriptor encoding (the
 * {@link PageTableFormat}'s makeLeaf / makeTable / isLeaf / ...), but in the Java heap: table pages
 * are {@code long[512]} arrays in a pool indexed by page number, and a table descriptor holds
 * {@code pageNumber << 12} where the real one holds a PA. Plain array loads and stores (no
 * acquire/release), a free list, and a live-entry count per table so that freeing an emptied
 * table costs O(1). What the JVM can do at best without persistence; not crash safe, not visible to
 * another process.
 *
 * <p>Same semantics as {@code IoPageTable} where the benchmarks touch them: map splits a range into
 * the largest page sizes alignment allows (Linux iommu_pgsize), -EEXIST on overlap; unmap chunks
 * the same way, unlinks and frees a subtree met by a larger chunk, frees tables left empty, and
 * refuses partial block unmaps (PartialUnmapPolicy.REFUSE). Allocation-free once the pool has grown.
 */
public final class HeapRadixPageTable {
    private final PageTableFormat format;
    private long[][] pool = new long[64][];
    private int[] live = new int[64];
    private int[] freeList = new int[64];
    private int freeTop;
    private int nextPage = 1; // page 0 unused, so a table pointer is never 0
    private final int root;
    private long pageSizes = PGSIZE_BITMAP;
    private final int[] pathTables = new int[LEVELS];
    private long tablePages;

    public HeapRadixPageTable(PageTableFormat format) {
        this.format = format;
        this.root = allocate();
    }

    public void setPageSizes(long bitmap) {
        pageSizes = bitmap;
    }

    /** Table pages in use, root included. */
    public long tablePages() {
        return tablePages;
    }

    private int allocate() {
        int p;
        if (freeTop > 0) {
            p = freeList[--freeTop];
            Arrays.fill(pool[p], 0L);
        } else {
            p = nextPage++;
            if (p >= pool.length) {
                int n = pool.length * 2;
                pool = Arrays.copyOf(pool, n);
                live = Arrays.copyOf(live, n);
            }
            pool[p] = new long[ENTRIES_PER_TABLE];
        }
        live[p] = 0;
        tablePages++;
        return p;
    }

    private void free(int p) {
        if (freeTop == freeList.length) {
            freeList = Arrays.copyOf(freeList, freeList.length * 2);
        }
        freeList[freeTop++] = p;
        tablePages--;
    }

    private int pageOf(long tableDesc) {
        return (int) (format.tableAddress(tableDesc) >>> 12);
    }

    // ---- map ----------------------------------------------------------------------------------

    public int map(long iova, long pa, long size, int prot) {
        long minPage = Long.lowestOneBit(pageSizes);
        if (size <= 0 || ((iova | pa | size) & (minPage - 1)) != 0) {
            return -Errno.EINVAL;
        }
        long mapped = 0;
        while (mapped < size) {
            long remaining = size - mapped;
            long pgsize = pageSize(pageSizes, iova, pa, remaining);
            long count = pageCount(pageSizes, iova, pa, remaining, pgsize);
            for (long c = 0; c < count; c++) {
                int ret = mapPage(iova, pa, pgsize, prot);
                if (ret != 0) {
                    return ret; // the benchmarks never overlap; no rollback in the baseline
                }
                iova += pgsize;
                pa += pgsize;
                mapped += pgsize;
            }
        }
        return 0;
    }

    private int mapPage(long iova, long pa, long pgsize, int prot) {
        int target = levelOfSize(pgsize);
        int table = root;
        for (int level = 0; ; level++) {
            long[] t = pool[table];
            int i = index(iova, level);
            long d = t[i];
            if (level == target) {
                if (d != 0) {
                    return -Errno.EEXIST;
                }
                t[i] = format.makeLeaf(pa, prot, level);
                live[table]++;
                return 0;
            }
            if (d == 0) {
                int next = allocate();
                t = pool[table]; // the pool may have grown
                t[i] = format.makeTable((long) next << 12);
                live[table]++;
                table = next;
                continue;
            }
            if (!format.isTable(d, level)) {
                return -Errno.EEXIST;
            }
            table = pageOf(d);
        }
    }

    // ---- unmap --------------------------------------------------------------------------------

    /** Bytes unmapped; stops at the first chunk that unmaps nothing. */
    public long unmap(long iova, long size) {
        long unmapped = 0;
        while (unmapped < size) {
            long pgsize = pageSize(pageSizes, iova, iova, size - unmapped);
            long done = unmapPage(iova, pgsize);
            if (done == 0) {
                break;
            }
            iova += done;
            unmapped += done;
        }
        return unmapped;
    }

    private long unmapPage(long iova, long pgsize) {
        int target = levelOfSize(pgsize);
        int table = root;
        for (int level = 0; level <= target; level++) {
            pathTables[level] = table;
            long[] t = pool[table];
            int i = index(iova, level);
            long d = t[i];
            if (d == 0) {
                return 0;
            }
            if (level == target) {
                t[i] = 0;
                live[table]--;
                if (format.isTable(d, level)) {
                    freeSubtree(pageOf(d), level + 1);
                }
                releaseEmpty(iova, level);
                return pgsize;
            }
            if (format.isLeaf(d, level)) {
                return 0; // partial block: refused
            }
            table = pageOf(d);
        }
        return 0;
    }

    private void releaseEmpty(long iova, int level) {
        for (int l = level; l > 0; l--) {
            int t = pathTables[l];
            if (live[t] != 0) {
                return;
            }
            int parent = pathTables[l - 1];
            pool[parent][index(iova, l - 1)] = 0;
            live[parent]--;
            free(t);
        }
    }

    private void freeSubtree(int table, int level) {
        if (level < LEAF_LEVEL && live[table] != 0) {
            long[] t = pool[table];
            for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
                long d = t[i];
                if (d != 0 && format.isTable(d, level)) {
                    freeSubtree(pageOf(d), level + 1);
                }
            }
        }
        free(table);
    }

    // ---- translate ----------------------------------------------------------------------------

    public long iovaToPhys(long iova) {
        if (iova < 0 || iova >= IOVA_LIMIT) {
            return 0;
        }
        int table = root;
        for (int level = 0; level < LEVELS; level++) {
            long d = pool[table][index(iova, level)];
            if (format.isLeaf(d, level)) {
                return format.outputAddress(d, level) | (iova & (blockSize(level) - 1));
            }
            if (!format.isTable(d, level)) {
                return 0;
            }
            table = pageOf(d);
        }
        return 0;
    }
}
