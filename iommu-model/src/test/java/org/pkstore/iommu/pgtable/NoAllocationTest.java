package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.PageTableFile;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * map, unmap (including splits, table frees and error returns), iovaToPhys and device translation
 * allocate nothing on the heap, measured with the JVM's per-thread allocation counter.
 */
class NoAllocationTest {
    @TempDir
    Path dir;

    private long checksum;

    private void exercise(IoPageTable t, DeviceTranslation dev, int rounds) {
        int rw = Prot.READ | Prot.WRITE;
        for (int i = 0; i < rounds; i++) {
            long base = (i & 7) * SZ_1G;
            checksum += t.map(base, base, SZ_2M, rw);                    // block
            checksum += t.map(base + SZ_2M, 0x5000, 4 * SZ_4K, rw);       // new tables, 4K pages
            checksum += t.map(base + SZ_2M, 0x5000, SZ_4K, rw);           // -EEXIST
            checksum += t.map(base + 0x800, 0, SZ_4K, rw);                // -EINVAL
            checksum += t.iovaToPhys(base + 42) + t.iovaToPhys(base + SZ_2M + SZ_4K);
            checksum += dev.translate(base + SZ_2M, Prot.WRITE) + dev.translate(base + 5 * SZ_2M, Prot.READ);
            checksum += t.unmap(base + SZ_4K, SZ_4K);                     // split
            checksum += t.unmap(base, SZ_2M);                             // table chunk
            checksum += t.unmap(base + SZ_2M, 4 * SZ_4K);                 // frees tables
            checksum += t.map(base, base, SZ_1G, rw);
            checksum += t.unmap(base, SZ_1G);
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void hotPathsDoNotAllocate(PageTableFormat format) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) mx;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (PageTableFile f = DomainFiles.create(dir, format, 256)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            DeviceTranslation dev = new DeviceTranslation(f);
            exercise(t, dev, 20_000); // warm up: let the JIT settle
            long tid = Thread.currentThread().getId();
            long before = threads.getThreadAllocatedBytes(tid);
            exercise(t, dev, 2_000);
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            assertEquals(0, allocated, "bytes allocated by 2000 rounds (checksum " + checksum + ")");
            assertEquals(1, f.allocatedTablePages());
        }
    }
}
