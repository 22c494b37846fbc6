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
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableVerifier;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Whole-table walks of a domain with 1 Mi dense 4 KiB mappings, in mapped pages per second:
 * {@code walk_pkstore} is {@link PageTableWalker#walk} with a counting visitor (dump, diff and
 * translate tools sit on it); {@code verify_pkstore} is {@link PageTableVerifier#verify} (walk,
 * descriptor validation, reachability and leak check), what a boot after an unclean end runs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class WalkBench {
    static final int MAPPINGS = TranslateBench.MAPPINGS;

    @Param({"vtd-sl", "arm-lpae-s2"})
    public String format;

    private Path dir;
    private DenseDomain domain;
    private PageTableWalker walker;
    private PageTableFormat fmt;
    private final Counter counter = new Counter();

    static final class Counter implements PageTableVisitor {
        long leaves;
        long problems;

        @Override
        public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
            leaves++;
        }

        @Override
        public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
            problems++;
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        fmt = Fixtures.format(format);
        dir = Fixtures.tempDir("walk");
        domain = new DenseDomain(dir, fmt, MAPPINGS);
        walker = new PageTableWalker(domain.file, fmt);
    }

    @TearDown(Level.Trial)
    public void close() {
        domain.close();
        Fixtures.deleteTree(dir);
    }

    @Benchmark
    @OperationsPerInvocation(MAPPINGS)
    public long walk_pkstore() {
        counter.leaves = 0;
        walker.walk(counter);
        if (counter.leaves != MAPPINGS || counter.problems != 0) {
            throw new IllegalStateException("walk saw " + counter.leaves + " leaves, " + counter.problems + " problems");
        }
        return counter.leaves;
    }

    @Benchmark
    @OperationsPerInvocation(MAPPINGS)
    public long verify_pkstore() {
        PageTableVerifier.Report r = PageTableVerifier.verify(domain.file, fmt);
        if (!r.clean() || r.leaves() != MAPPINGS) {
            throw new IllegalStateException("verify: " + r.problems().size() + " problems, " + r.leaves() + " leaves");
        }
        return r.leaves();
    }
}
