package org.pkstore.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.Prot;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_4K;

/**
 * Translation of random IOVAs (64 Ki precomputed, indexed with a mask) in a domain of 1 Mi dense
 * 4 KiB mappings (4 GiB), nanoseconds per translation.
 * <ul>
 *   <li>{@code translate_pkstore}: {@code IoPageTable.iovaToPhys} (the kernel's iova_to_phys);</li>
 *   <li>{@code translate_pkstoreDevice}: {@link DeviceTranslation#translate} (the device-side walk:
 *       permission check, descriptor validation, free-sequence seqlock);</li>
 *   <li>{@code translate_heap}: the in-heap radix baseline, same encoding;</li>
 *   <li>{@code translate_cmap}: the Chronicle Map baseline (one get).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TranslateBench {
    static final int MAPPINGS = 1 << 20;
    static final int RANDOM = 1 << 16;
    static final int MASK = RANDOM - 1;

    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    /** Dense 4 KiB mappings in the domain: 1 Mi (4 GiB) for the record; smaller only for diagnostics. */
    @Param({"1048576"})
    public int mappings;

    private Path dir;
    private DenseDomain pk;
    private DeviceTranslation device;
    private HeapRadixPageTable heap;
    private ChronicleMapPageTable cmap;
    private long[] iovas;
    private int next;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        PageTableFormat fmt = Fixtures.format(format);
        String m = params.getBenchmark();
        dir = Fixtures.tempDir("translate");
        iovas = Fixtures.randomIovas(RANDOM, mappings, 42);
        if (m.contains("_pkstore")) {
            pk = new DenseDomain(dir, fmt, mappings);
            device = new DeviceTranslation(pk.file, fmt, DeviceTranslation.DEFAULT_MAX_ATTEMPTS);
            HeapRadixPageTable h = new HeapRadixPageTable(fmt);
            h.setPageSizes(SZ_4K);
            h.map(IOVA_BASE, OUT_PA_BASE, (long) mappings * SZ_4K, MapBench.PROT);
            pk.reportMemory(format, h.tablePages());
        } else if (m.endsWith("_heap")) {
            heap = new HeapRadixPageTable(fmt);
            heap.setPageSizes(SZ_4K);
            Fixtures.check(heap.map(IOVA_BASE, OUT_PA_BASE, (long) mappings * SZ_4K, MapBench.PROT) == 0, "heap map");
        } else {
            cmap = new ChronicleMapPageTable(dir.resolve("translate.cmap"), fmt, mappings + mappings / 4 + 1024);
            Fixtures.check(cmap.map(IOVA_BASE, OUT_PA_BASE, (long) mappings * SZ_4K, MapBench.PROT) == 0, "cmap map");
        }
        for (int i = 0; i < 1000; i++) {
            long iova = iovas[i];
            long want = DenseDomain.expectedPa(iova);
            long got = pk != null ? pk.table.iovaToPhys(iova) : heap != null ? heap.iovaToPhys(iova) : cmap.iovaToPhys(iova);
            Fixtures.check(got == want, "translate 0x" + Long.toHexString(iova));
            if (device != null) {
                Fixtures.check(device.translate(iova, Prot.READ) == want, "device translate");
                Fixtures.check(plainWalk(iova) == want, "plain-read walk");
            }
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (pk != null) {
            pk.close();
        }
        if (cmap != null) {
            cmap.close();
        }
        Fixtures.deleteTree(dir);
    }

    @Benchmark
    public long translate_pkstore() {
        return pk.table.iovaToPhys(iovas[next++ & MASK]);
    }

    @Benchmark
    public long translate_pkstoreDevice() {
        return device.translate(iovas[next++ & MASK], Prot.READ);
    }

    /**
     * Diagnostic, not a product path: iovaToPhys's walk with plain loads
     * ({@code MappedRegion.readLong}) instead of acquire loads ({@code readDescriptor}), to see what
     * the acquire loads cost the writer's own translations.
     */
    @Benchmark
    public long translate_pkstorePlainReads() {
        return plainWalk(iovas[next++ & MASK]);
    }

    private long plainWalk(long iova) {
        org.pkstore.persist.PageTableFile f = pk.file;
        org.pkstore.persist.MappedRegion r = f.region();
        PageTableFormat fmt = pk.table.format();
        long base = f.paBase();
        long table = pk.table.rootPa();
        for (int level = 0; level < PageTableGeometry.LEVELS; level++) {
            long d = r.readLong(PageTableGeometry.descriptorPa(table, PageTableGeometry.index(iova, level)) - base);
            if (fmt.isLeaf(d, level)) {
                return fmt.outputAddress(d, level) | (iova & (PageTableGeometry.blockSize(level) - 1));
            }
            if (!fmt.isTable(d, level)) {
                return 0;
            }
            table = fmt.tableAddress(d);
            if (!f.isTablePage(table)) {
                return 0;
            }
        }
        return 0;
    }

    @Benchmark
    public long translate_heap() {
        return heap.iovaToPhys(iovas[next++ & MASK]);
    }

    @Benchmark
    public long translate_cmap() {
        return cmap.iovaToPhys(iovas[next++ & MASK]);
    }
}
