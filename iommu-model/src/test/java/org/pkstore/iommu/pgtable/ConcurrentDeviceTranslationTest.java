package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.JavaCommand;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.pkstore.iommu.pgtable.ChurnLayout.CHURN_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.CHURN_REGIONS;
import static org.pkstore.iommu.pgtable.ChurnLayout.FAR_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.FIXED_BLOCK_1G;
import static org.pkstore.iommu.pgtable.ChurnLayout.FIXED_BLOCK_2M;
import static org.pkstore.iommu.pgtable.ChurnLayout.PA_OFFSET;
import static org.pkstore.iommu.pgtable.ChurnLayout.SHARED_BASE;
import static org.pkstore.iommu.pgtable.ChurnLayout.SHARED_REGIONS;
import static org.pkstore.iommu.pgtable.ChurnLayout.WRITE_ONLY;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * A writer JVM maps, unmaps, splits and frees table pages continuously while this JVM, as the
 * device, translates through {@link DeviceTranslation} on its own read-only mapping of the file.
 * The fixed set must always translate exactly (and the write-only page fault on read); any other
 * IOVA must be either not present or its one possible PA. Zero wrong answers.
 */
class ConcurrentDeviceTranslationTest {
    private static final long WRITER_MILLIS = 3000;

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void deviceNeverSeesAWrongTranslationWhileAnotherJvmChurns(PageTableFormat format) throws Exception {
        Path table;
        try (PageTableFile f = DomainFiles.create(dir, format, 4096)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            ChurnLayout.mapFixed(t);
            table = f.path();
        }
        long seed = 0xC0FFEEL + format.id();
        Path ready = dir.resolve("ready-" + format.name());
        Path log = dir.resolve("writer-" + format.name() + ".log");
        Process writer = new ProcessBuilder(JavaCommand.forMain(ChurnWriterMain.class, table.toString(),
                Long.toString(seed), Long.toString(WRITER_MILLIS), ready.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (PageTableFile f = PageTableFile.openReadOnly(table)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ready) || !writer.isAlive());
            assertTrue(writer.isAlive() || writer.exitValue() == 0, () -> "writer died: " + read(log));

            DeviceTranslation dev = new DeviceTranslation(f);
            List<Long> fixed = ChurnLayout.fixedPages();
            Random rnd = new Random(seed);
            List<String> wrong = new ArrayList<>();
            long translations = 0;
            long churnHits = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (writer.isAlive() && System.nanoTime() < deadline) {
                for (long page : fixed) {
                    long iova = page + rnd.nextInt((int) SZ_4K);
                    int access = page == WRITE_ONLY ? Prot.WRITE : Prot.READ;
                    check(wrong, iova, access, dev.translate(iova, access), iova + PA_OFFSET);
                }
                check(wrong, WRITE_ONLY, Prot.READ, dev.translate(WRITE_ONLY, Prot.READ), DeviceTranslation.FAULT_PERMISSION);
                long b2 = FIXED_BLOCK_2M + (rnd.nextLong() & (SZ_2M - 1));
                check(wrong, b2, Prot.READ, dev.translate(b2, Prot.READ | Prot.WRITE), b2 + PA_OFFSET);
                long b1 = FIXED_BLOCK_1G + (rnd.nextLong() & (SZ_1G - 1));
                check(wrong, b1, Prot.READ, dev.translate(b1, Prot.READ), b1 + PA_OFFSET);
                translations += fixed.size() + 3;
                for (int i = 0; i < 64; i++) {
                    long iova = churnIova(rnd);
                    long r = dev.translate(iova, Prot.READ);
                    long page = iova & ~(SZ_4K - 1);
                    if (ChurnLayout.isFixedPage(page)) {
                        check(wrong, iova, Prot.READ, r, page == WRITE_ONLY ? DeviceTranslation.FAULT_PERMISSION
                                : iova + PA_OFFSET);
                    } else if (r != DeviceTranslation.FAULT_NOT_PRESENT) {
                        check(wrong, iova, Prot.READ, r, iova + PA_OFFSET);
                        churnHits++;
                    }
                }
                translations += 64;
                if (wrong.size() > 20) {
                    break;
                }
            }
            assertTrue(writer.waitFor(30, TimeUnit.SECONDS), "writer did not finish");
            String summary = read(log);
            System.out.printf("%s: %d translations (%d churn hits), %d retries, %d unstable; writer: %s%n",
                    format.name(), translations, churnHits, dev.retries(), dev.unstableFaults(), summary.trim());
            if (!wrong.isEmpty()) {
                fail(wrong.size() + " wrong answers (seed " + seed + "), first: " + wrong.subList(0, Math.min(10, wrong.size())));
            }
            assertEquals(0, writer.exitValue(), "writer failed: " + summary);
            assertEquals(0, dev.unstableFaults());
            assertTrue(translations > 10_000, "too few translations: " + translations);
            long freed = Long.parseLong(summary.replaceAll("(?s).*tablesFreed=(\\d+).*", "$1"));
            assertTrue(freed > 100, "the writer must free table pages: " + summary);

            PageTableVerifier.Report report = PageTableVerifier.verify(f, format);
            assertTrue(report.clean(), report.problems() + " leaked " + report.leakedPages());
        } finally {
            writer.destroyForcibly();
        }
    }

    private static long churnIova(Random rnd) {
        switch (rnd.nextInt(3)) {
            case 0: return SHARED_BASE + (rnd.nextLong() & (SHARED_REGIONS * SZ_2M - 1));
            case 1: return CHURN_BASE + Math.floorMod(rnd.nextLong(), CHURN_REGIONS * SZ_2M);
            default: return FAR_BASE + (rnd.nextLong() & (64 * SZ_2M - 1));
        }
    }

    private static void check(List<String> wrong, long iova, int access, long got, long want) {
        if (got != want) {
            wrong.add(String.format("IOVA 0x%x access %d: got %s, want %s", iova, access, describe(got), describe(want)));
        }
    }

    private static String describe(long r) {
        return r >= 0 ? "0x" + Long.toHexString(r) : DeviceTranslation.faultName(r);
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
