package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

import static org.pkstore.iommu.pgtable.ChurnLayout.CHURN_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.CHURN_REGIONS;
import static org.pkstore.iommu.pgtable.ChurnLayout.FAR_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.FAR_REGIONS;
import static org.pkstore.iommu.pgtable.ChurnLayout.PA_OFFSET;
import static org.pkstore.iommu.pgtable.ChurnLayout.SHARED_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.SHARED_REGIONS;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * Child JVM of {@link ConcurrentDeviceTranslationTest}: the one writer. Attaches to the table file
 * and maps and unmaps at random outside the fixed set for the given time, then prints a summary
 * line and checks the fixed set is intact.
 *
 * <p>Arguments: table file, seed, milliseconds, ready-marker file.
 */
public final class ChurnWriterMain {
    private ChurnWriterMain() {}

    public static void main(String[] args) throws Exception {
        Path table = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long millis = Long.parseLong(args[2]);
        Path ready = Path.of(args[3]);
        Random rnd = new Random(seed);
        try (PageTableFile f = PageTableFile.openReadWrite(table, 2)) {
            IoPageTable t = IoPageTable.attach(f, PageTableFormat.byId(f.format()), PartialUnmapPolicy.SPLIT);
            Path tmp = ready.resolveSibling(ready.getFileName() + ".tmp");
            Files.writeString(tmp, "attached\n");
            Files.move(tmp, ready, StandardCopyOption.ATOMIC_MOVE);

            long ops = 0;
            long mappedOk = 0;
            long unmappedBytes = 0;
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < 64; i++, ops++) {
                    int r = rnd.nextInt(100);
                    int prot = rnd.nextBoolean() ? Prot.READ : Prot.READ | Prot.WRITE;
                    if (r < 30) {
                        // a non-fixed 4K page in a shared region
                        long page;
                        do {
                            page = SHARED_BASE + (long) rnd.nextInt(SHARED_REGIONS * 512) * SZ_4K;
                        } while (ChurnLayout.isFixedPage(page));
                        if (rnd.nextBoolean()) {
                            mappedOk += t.map(page, page + PA_OFFSET, SZ_4K, prot) == 0 ? 1 : 0;
                        } else {
                            unmappedBytes += t.unmap(page, SZ_4K);
                        }
                    } else if (r < 60) {
                        long region = CHURN_BASE + rnd.nextInt(CHURN_REGIONS) * SZ_2M;
                        long off = rnd.nextInt(512) * SZ_4K;
                        switch (rnd.nextInt(5)) {
                            case 0: mappedOk += t.map(region, region + PA_OFFSET, SZ_2M, prot) == 0 ? 1 : 0; break;
                            case 1: {
                                long n = Math.min(1 + rnd.nextInt(64), 512 - off / SZ_4K);
                                mappedOk += t.map(region + off, region + off + PA_OFFSET, n * SZ_4K, prot) == 0 ? 1 : 0;
                                break;
                            }
                            case 2: unmappedBytes += t.unmap(region, SZ_2M); break;
                            case 3: unmappedBytes += t.unmap(region + off, SZ_4K); break; // splits a block
                            default: unmappedBytes += t.unmap(CHURN_BASE, CHURN_REGIONS * SZ_2M); break;
                        }
                    } else if (r < 95) {
                        long region = FAR_BASE + rnd.nextInt(FAR_REGIONS) * SZ_2M;
                        long off = rnd.nextInt(512) * SZ_4K;
                        if (rnd.nextInt(3) > 0) {
                            long n = Math.min(1 + rnd.nextInt(8), 512 - off / SZ_4K);
                            mappedOk += t.map(region + off, region + off + PA_OFFSET, n * SZ_4K, prot) == 0 ? 1 : 0;
                        } else {
                            unmappedBytes += t.unmap(region + off, SZ_4K);
                        }
                    } else {
                        unmappedBytes += t.unmap(FAR_BASE, SZ_1G); // frees the far L2 and its L3s
                    }
                }
            }
            for (long a : ChurnLayout.fixedPages()) {
                if (t.iovaToPhys(a) != a + PA_OFFSET) {
                    System.out.println("FIXED PAGE LOST 0x" + Long.toHexString(a));
                    System.exit(2);
                }
            }
            System.out.printf("ops=%d mapped=%d unmappedBytes=%d tablesAllocated=%d tablesFreed=%d writes=%d%n",
                    ops, mappedOk, unmappedBytes, t.tablePagesAllocated(), t.tablePagesFreed(), t.descriptorsWritten());
        }
    }
}
