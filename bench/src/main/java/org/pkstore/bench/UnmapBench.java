package org.pkstore.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_1G;
import static org.pkstore.bench.Fixtures.SZ_2M;
import static org.pkstore.bench.Fixtures.SZ_4K;
import static org.pkstore.bench.MapBench.BLOCKS_1G;
import static org.pkstore.bench.MapBench.BLOCKS_2M;
import static org.pkstore.bench.MapBench.PAGES_4K;
import static org.pkstore.bench.MapBench.PROT;

/**
 * unmap throughput in pages per second, the inverse of {@link MapBench}: an untimed per-invocation
 * setup maps the window (in one call), the invocation unmaps it, freeing every table page that
 * becomes empty (the trial teardown checks that only the root is left).
 *
 * <ul>
 *   <li>{@code unmap4k_*}: 262,144 calls, one 4 KiB page each;</li>
 *   <li>{@code unmap1gOf4k_*}: one call unmapping the 1 GiB of 4 KiB pages (the code meets the
 *       table at the 1 GiB level, unlinks it and frees the subtree);</li>
 *   <li>{@code unmap2m_*}: 4,096 calls of one 2 MiB block;</li>
 *   <li>{@code unmap1g_*}: 512 calls of one 1 GiB block.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class UnmapBench {
    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    private Path dir;
    private PageTableFile file;
    private IoPageTable pk;
    private HeapRadixPageTable heap;
    private ChronicleMapPageTable cmap;
    private PageTableFormat fmt;
    /** Bytes and page size the per-invocation setup maps. */
    private long span;
    private long pageSize;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        fmt = Fixtures.format(format);
        String m = params.getBenchmark();
        m = m.substring(m.lastIndexOf('.') + 1);
        if (m.startsWith("unmap4k") || m.startsWith("unmap1gOf4k")) { // unmap4k_*, unmap4kDescending_*
            span = PAGES_4K * SZ_4K;
            pageSize = SZ_4K;
        } else if (m.startsWith("unmap2m")) {
            span = BLOCKS_2M * SZ_2M;
            pageSize = SZ_2M;
        } else {
            span = BLOCKS_1G * SZ_1G;
            pageSize = SZ_1G;
        }
        dir = Fixtures.tempDir("unmap");
        if (m.endsWith("_pkstore")) {
            file = Fixtures.domainFile(dir, "unmap", fmt, Fixtures.DOMAIN_FILE_PAGES);
            pk = IoPageTable.create(file, fmt, PartialUnmapPolicy.SPLIT);
            pk.setPageSizes(pageSize);
        } else if (m.endsWith("_heap")) {
            heap = new HeapRadixPageTable(fmt);
            heap.setPageSizes(pageSize);
        } else {
            cmap = new ChronicleMapPageTable(dir.resolve("unmap.cmap"), fmt, PAGES_4K + PAGES_4K / 4);
        }
    }

    /** Untimed: map the window in one call, in pages of exactly {@link #pageSize}. */
    @Setup(Level.Invocation)
    public void mapWindow() {
        int r = pk != null ? pk.map(IOVA_BASE, OUT_PA_BASE, span, PROT)
                : heap != null ? heap.map(IOVA_BASE, OUT_PA_BASE, span, PROT)
                : cmap.map(IOVA_BASE, OUT_PA_BASE, span, PROT);
        if (r != 0) {
            throw new IllegalStateException("setup map returned " + r);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (pk != null) {
            Fixtures.check(file.allocatedTablePages() == 1, "tables freed by unmap (" + file.allocatedTablePages() + " left)");
            file.close();
        }
        if (heap != null) {
            Fixtures.check(heap.tablePages() == 1, "heap tables freed by unmap");
        }
        if (cmap != null) {
            Fixtures.check(cmap.size() == 0, "cmap emptied by unmap");
            cmap.close();
        }
        Fixtures.deleteTree(dir);
    }

    private static void ok(long done, long expected) {
        if (done != expected) {
            throw new IllegalStateException("unmap returned " + done + ", expected " + expected);
        }
    }

    // ---- 4 KiB pages, one call each ----

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap4k_pkstore() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(pk.unmap(IOVA_BASE + i * SZ_4K, SZ_4K), SZ_4K);
        }
    }

    /**
     * Diagnostic: the same pages unmapped from the highest IOVA down. IoPageTable's emptiness check
     * scans a table from entry 0, so ascending unmaps pay a scan over the entries already cleared
     * and descending ones stop at entry 0 at once.
     */
    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap4kDescending_pkstore() {
        for (int i = PAGES_4K - 1; i >= 0; i--) {
            ok(pk.unmap(IOVA_BASE + i * SZ_4K, SZ_4K), SZ_4K);
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap4k_heap() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(heap.unmap(IOVA_BASE + i * SZ_4K, SZ_4K), SZ_4K);
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap4k_cmap() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(cmap.unmap(IOVA_BASE + i * SZ_4K, SZ_4K), SZ_4K);
        }
    }

    // ---- 1 GiB of 4 KiB pages in one call ----

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap1gOf4k_pkstore() {
        pk.setPageSizes(org.pkstore.iommu.pgtable.PageTableGeometry.PGSIZE_BITMAP);
        ok(pk.unmap(IOVA_BASE, SZ_1G), SZ_1G);
        pk.setPageSizes(SZ_4K);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void unmap1gOf4k_heap() {
        heap.setPageSizes(org.pkstore.iommu.pgtable.PageTableGeometry.PGSIZE_BITMAP);
        ok(heap.unmap(IOVA_BASE, SZ_1G), SZ_1G);
        heap.setPageSizes(SZ_4K);
    }

    // ---- 2 MiB blocks ----

    @Benchmark
    @OperationsPerInvocation(BLOCKS_2M)
    public void unmap2m_pkstore() {
        for (int i = 0; i < BLOCKS_2M; i++) {
            ok(pk.unmap(IOVA_BASE + i * SZ_2M, SZ_2M), SZ_2M);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BLOCKS_2M)
    public void unmap2m_heap() {
        for (int i = 0; i < BLOCKS_2M; i++) {
            ok(heap.unmap(IOVA_BASE + i * SZ_2M, SZ_2M), SZ_2M);
        }
    }

    // ---- 1 GiB blocks ----

    @Benchmark
    @OperationsPerInvocation(BLOCKS_1G)
    public void unmap1g_pkstore() {
        for (int i = 0; i < BLOCKS_1G; i++) {
            ok(pk.unmap(IOVA_BASE + i * SZ_1G, SZ_1G), SZ_1G);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BLOCKS_1G)
    public void unmap1g_heap() {
        for (int i = 0; i < BLOCKS_1G; i++) {
            ok(heap.unmap(IOVA_BASE + i * SZ_1G, SZ_1G), SZ_1G);
        }
    }
}
