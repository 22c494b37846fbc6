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
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_1G;
import static org.pkstore.bench.Fixtures.SZ_2M;
import static org.pkstore.bench.Fixtures.SZ_4K;

/**
 * map throughput in pages per second (the score's "ops" are pages of the size in the name).
 * Each invocation maps a fresh window into an empty table; an untimed per-invocation teardown
 * unmaps it again (one call, freeing the tables), so every invocation starts from the same state.
 *
 * <ul>
 *   <li>{@code map4k_*}: 262,144 calls, one 4 KiB page each (1 GiB);</li>
 *   <li>{@code map1gAs4k_*}: one call of 1 GiB whose PA is 4 KiB-misaligned relative to the IOVA,
 *       which the code must split into 262,144 4 KiB pages;</li>
 *   <li>{@code map2m_*}: 4,096 calls, one 2 MiB block each (8 GiB);</li>
 *   <li>{@code map1g_*}: 512 calls, one 1 GiB block each (512 GiB).</li>
 * </ul>
 * {@code _pkstore} is {@link IoPageTable} in a memory-mapped page-table file, {@code _heap} the
 * in-heap radix baseline, {@code _cmap} the Chronicle Map baseline (4 KiB only: that design has no
 * large pages).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MapBench {
    static final int PAGES_4K = 1 << 18;
    static final int BLOCKS_2M = 4096;
    static final int BLOCKS_1G = 512;
    static final int PROT = Prot.READ | Prot.WRITE | Prot.CACHE;

    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    private Path dir;
    private PageTableFile file;
    private IoPageTable pk;
    private HeapRadixPageTable heap;
    private ChronicleMapPageTable cmap;
    private PageTableFormat fmt;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        fmt = Fixtures.format(format);
        String m = params.getBenchmark();
        dir = Fixtures.tempDir("map");
        if (m.endsWith("_pkstore")) {
            file = Fixtures.domainFile(dir, "map", fmt, Fixtures.DOMAIN_FILE_PAGES);
            pk = IoPageTable.create(file, fmt, PartialUnmapPolicy.SPLIT);
        } else if (m.endsWith("_heap")) {
            heap = new HeapRadixPageTable(fmt);
        } else {
            cmap = new ChronicleMapPageTable(dir.resolve("map.cmap"), fmt, PAGES_4K + PAGES_4K / 4);
        }
    }

    /** Untimed: back to an empty table (one unmap call; stops at the first hole). */
    @TearDown(Level.Invocation)
    public void unmapAll() {
        if (pk != null) {
            pk.unmap(IOVA_BASE, BLOCKS_1G * SZ_1G);
        }
        if (heap != null) {
            heap.unmap(IOVA_BASE, BLOCKS_1G * SZ_1G);
        }
        if (cmap != null) {
            cmap.clear();
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (pk != null) {
            Fixtures.check(file.allocatedTablePages() == 1, "tables freed after unmap (" + file.allocatedTablePages() + " left)");
            file.close();
        }
        if (cmap != null) {
            cmap.close();
        }
        Fixtures.deleteTree(dir);
    }

    private static void ok(int ret) {
        if (ret != 0) {
            throw new IllegalStateException("map returned " + ret);
        }
    }

    // ---- 4 KiB pages, one call each ----

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void map4k_pkstore() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(pk.map(IOVA_BASE + i * SZ_4K, OUT_PA_BASE + i * SZ_4K, SZ_4K, PROT));
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void map4k_heap() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(heap.map(IOVA_BASE + i * SZ_4K, OUT_PA_BASE + i * SZ_4K, SZ_4K, PROT));
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void map4k_cmap() {
        for (int i = 0; i < PAGES_4K; i++) {
            ok(cmap.map(IOVA_BASE + i * SZ_4K, OUT_PA_BASE + i * SZ_4K, SZ_4K, PROT));
        }
    }

    // ---- one 1 GiB call split into 4 KiB pages (PA misaligned by 4 KiB) ----

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void map1gAs4k_pkstore() {
        ok(pk.map(IOVA_BASE, OUT_PA_BASE + SZ_4K, SZ_1G, PROT));
    }

    @Benchmark
    @OperationsPerInvocation(PAGES_4K)
    public void map1gAs4k_heap() {
        ok(heap.map(IOVA_BASE, OUT_PA_BASE + SZ_4K, SZ_1G, PROT));
    }

    // ---- 2 MiB blocks ----

    @Benchmark
    @OperationsPerInvocation(BLOCKS_2M)
    public void map2m_pkstore() {
        for (int i = 0; i < BLOCKS_2M; i++) {
            ok(pk.map(IOVA_BASE + i * SZ_2M, OUT_PA_BASE + i * SZ_2M, SZ_2M, PROT));
        }
    }

    @Benchmark
    @OperationsPerInvocation(BLOCKS_2M)
    public void map2m_heap() {
        for (int i = 0; i < BLOCKS_2M; i++) {
            ok(heap.map(IOVA_BASE + i * SZ_2M, OUT_PA_BASE + i * SZ_2M, SZ_2M, PROT));
        }
    }

    // ---- 1 GiB blocks ----

    @Benchmark
    @OperationsPerInvocation(BLOCKS_1G)
    public void map1g_pkstore() {
        for (int i = 0; i < BLOCKS_1G; i++) {
            ok(pk.map(IOVA_BASE + i * SZ_1G, OUT_PA_BASE + i * SZ_1G, SZ_1G, PROT));
        }
    }

    @Benchmark
    @OperationsPerInvocation(BLOCKS_1G)
    public void map1g_heap() {
        for (int i = 0; i < BLOCKS_1G; i++) {
            ok(heap.map(IOVA_BASE + i * SZ_1G, OUT_PA_BASE + i * SZ_1G, SZ_1G, PROT));
        }
    }
}
