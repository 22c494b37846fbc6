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
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_4K;

/**
 * Boot-to-usable of a domain with 1 thousand, 100 thousand and 1 million 4 KiB mappings, one
 * single-shot invocation each, microseconds; the mount is prepared once per trial. Warm-up
 * invocations absorb the JVM's first Chronicle Map open (measured on its own in StartupBench).
 * <ul>
 *   <li>{@code reattach_pkstore}: what a reattach needs: mountReadWrite(dir, true) (the registries
 *       open in the background), the preserved record (read by the mount), openTableFile of the
 *       record's file, IoPageTable.attach, one checked iovaToPhys. The registries' open is joined
 *       and the mount closed in the invocation's teardown, outside the measured interval;</li>
 *   <li>{@code mountOnly_pkstore}: the mount of {@code reattach_pkstore} alone (registries in the
 *       background, joined in the teardown): what the reattach pays before it touches a table;</li>
 *   <li>{@code reattachRegistriesJoined_pkstore}: the same with the join and unmount inside the
 *       measurement: what the deferred open costs in all, so that nothing is hidden;</li>
 *   <li>{@code reattachRegistriesInline_pkstore}: the same with the nine registries opened inline
 *       (mountReadWrite(dir)), the reattach as it was;</li>
 *   <li>{@code attachOnly_pkstore}: the same without the mount: PageTableFile.openReadWrite,
 *       attach, translate, close (what the page tables themselves cost);</li>
 *   <li>{@code replay_rebuild}: what a host without persistence does at boot, with the same mount
 *       as {@code reattach_pkstore} (registries in the background, joined in the teardown): create
 *       an empty page-table file, replay every mapping (one map call per 4 KiB mapping, from an
 *       in-heap list: the best case), translate;</li>
 *   <li>{@code replayOnly_rebuild}: the same without the mount, beside attachOnly.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ReattachBench {
    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    @Param({"1000", "100000", "1000000"})
    public long mappings;

    private PageTableFormat fmt;
    private Path dir;
    private Path mountDir;
    private long[] iovas;
    private long[] pas;
    private long probe;
    private int seq;
    private Path created;
    private long generation = 100;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        fmt = Fixtures.format(format);
        dir = Fixtures.tempDir("reattach");
        mountDir = dir.resolve("mount");
        probe = Domains.probeIova(mappings);
        String m = params.getBenchmark();
        if (m.endsWith("_pkstore")) {
            Domains.prepare(mountDir, fmt, mappings);
        } else {
            // the list of mappings the replay works from
            iovas = new long[(int) mappings];
            pas = new long[(int) mappings];
            for (int i = 0; i < mappings; i++) {
                iovas[i] = IOVA_BASE + i * SZ_4K;
                pas[i] = OUT_PA_BASE + i * SZ_4K;
            }
            PkernfsMount.mountReadWrite(mountDir).close(); // an empty mount
        }
    }

    /** A mount whose background registry open the teardown joins: outside the measured interval. */
    private PkernfsMount open;

    @TearDown(Level.Invocation)
    public void removeRebuilt() throws IOException {
        Domains.join(open);
        open = null;
        if (created != null) {
            Files.deleteIfExists(created);
            created = null;
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        Fixtures.deleteTree(dir);
    }

    @Benchmark
    public PkernfsMount reattach_pkstore() {
        open = Domains.reattachDeferred(mountDir, fmt, mappings);
        return open;
    }

    @Benchmark
    public PkernfsMount mountOnly_pkstore() {
        open = PkernfsMount.mountReadWrite(mountDir, true);
        return open;
    }

    @Benchmark
    public long reattachRegistriesJoined_pkstore() {
        PkernfsMount m = Domains.reattachDeferred(mountDir, fmt, mappings);
        Domains.join(m);
        return m.generation();
    }

    @Benchmark
    public long reattachRegistriesInline_pkstore() {
        return Domains.reattach(mountDir, fmt, mappings);
    }

    @Benchmark
    public long attachOnly_pkstore() {
        try (PageTableFile f = PageTableFile.openReadWrite(mountDir.resolve(PkernfsMount.PGTABLES_DIR)
                .resolve(Domains.NAME + PkernfsMount.PGTABLE_SUFFIX), generation++)) {
            IoPageTable t = IoPageTable.attach(f, fmt, PartialUnmapPolicy.SPLIT);
            long pa = t.iovaToPhys(probe);
            Fixtures.check(pa == DenseDomain.expectedPa(probe), "attached domain translates");
            return pa;
        }
    }

    private long replayInto(PageTableFile f) {
        IoPageTable t = IoPageTable.create(f, fmt, PartialUnmapPolicy.SPLIT);
        long[] iv = iovas;
        long[] pa = pas;
        for (int i = 0; i < iv.length; i++) {
            int r = t.map(iv[i], pa[i], SZ_4K, MapBench.PROT);
            if (r != 0) {
                throw new IllegalStateException("replay map returned " + r);
            }
        }
        long got = t.iovaToPhys(probe);
        Fixtures.check(got == DenseDomain.expectedPa(probe), "rebuilt domain translates");
        return got;
    }

    @Benchmark
    public long replay_rebuild() {
        open = PkernfsMount.mountReadWrite(mountDir, true);
        created = open.pageTablePath(Domains.NAME + (seq++));
        PageTableFile f = open.createTableFile(created, PageTableFileDescriptor.KIND_DOMAIN_TABLES, fmt.id(),
                Fixtures.DOMAIN_FILE_PAGES, 1);
        return replayInto(f);
    }

    @Benchmark
    public long replayOnly_rebuild() {
        created = dir.resolve("replay" + (seq++) + ".pt");
        try (PageTableFile f = Fixtures.domainFile(dir, "replay" + (seq - 1), fmt, Fixtures.DOMAIN_FILE_PAGES)) {
            return replayInto(f);
        }
    }
}
