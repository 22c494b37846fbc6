package org.pkstore.iommu;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Heap bytes a piece of code allocates on this thread, by the JVM's per-thread counter, after a warm-up for the JIT. */
public final class Allocations {
    private Allocations() {}

    public static long of(Runnable work, int warmUp, int rounds) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) mx;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        for (int i = 0; i < warmUp; i++) {
            work.run();
        }
        long tid = Thread.currentThread().getId();
        // the least of three measurements: a compilation finishing inside one (a deoptimisation, an
        // OSR transition) allocates a few bytes once; an allocation per call shows in all three
        long least = Long.MAX_VALUE;
        for (int attempt = 0; attempt < 3; attempt++) {
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < rounds; i++) {
                work.run();
            }
            least = Math.min(least, threads.getThreadAllocatedBytes(tid) - before);
        }
        return least;
    }
}
