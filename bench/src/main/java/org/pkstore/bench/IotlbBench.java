package org.pkstore.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;

import java.util.concurrent.TimeUnit;

import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_4K;

/**
 * The IOTLB-hit path: {@link Iotlb#lookup} of random IOVAs that are all cached (4,096 entries, one
 * VMID, no PASID), nanoseconds per lookup. Format-independent: the IOTLB caches page PAs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class IotlbBench {
    static final int ENTRIES = 4096;

    private Iotlb iotlb;
    private long[] iovas;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        iotlb = new Iotlb();
        for (int i = 0; i < ENTRIES; i++) {
            long iova = Fixtures.IOVA_BASE + i * SZ_4K;
            iotlb.fill(1, Iotlb.NO_PASID, iova, OUT_PA_BASE + i * SZ_4K, Prot.READ | Prot.WRITE);
        }
        iovas = Fixtures.randomIovas(TranslateBench.RANDOM, ENTRIES, 7);
        for (long iova : iovas) {
            Fixtures.check(iotlb.lookup(1, Iotlb.NO_PASID, iova) != null, "IOTLB hit");
        }
    }

    @Benchmark
    public long iotlbHit_pkstore() {
        long iova = iovas[next++ & TranslateBench.MASK];
        Iotlb.Entry e = iotlb.lookup(1, Iotlb.NO_PASID, iova);
        return e.pa() | (iova & 0xFFF);
    }
}
