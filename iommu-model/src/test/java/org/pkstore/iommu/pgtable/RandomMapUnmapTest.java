package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.JavaCommand;
import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * Random map/unmap sequences against {@link ReferenceMappings}: every return value, and after every
 * few steps the complete leaf list (IOVA, size, PA, prot) the walker finds, must match. At the end
 * the file is closed and a new JVM attaches to it and answers translations for every mapping.
 *
 * <p>Seeds are fixed so the build is repeatable; {@code -Dpgtable.seed=N} runs another one. Every
 * failure message carries the seed and step.
 */
class RandomMapUnmapTest {
    private static final long REGION = 4 * SZ_1G;
    private static final int STEPS = 1500;
    private static final int FULL_COMPARE_EVERY = 20;
    private static final int MANY_LEAVES = 3000;

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        long seed = Long.getLong("pgtable.seed", 0x5eed_0001L);
        List<Arguments> list = new ArrayList<>();
        int i = 0;
        for (PageTableFormat f : DomainFiles.formats().toList()) {
            for (PartialUnmapPolicy p : PartialUnmapPolicy.values()) {
                list.add(Arguments.of(f, p, seed + i++));
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("cases")
    void randomSequenceMatchesReferenceAndSurvivesReopenInANewJvm(PageTableFormat format, PartialUnmapPolicy policy,
                                                                   long seed) throws Exception {
        Random rnd = new Random(seed);
        ReferenceMappings ref = new ReferenceMappings(format, policy);
        Set<Long> touched = new LinkedHashSet<>();
        Path path;
        try (PageTableFile f = DomainFiles.create(dir, format, 8192)) {
            path = f.path();
            IoPageTable t = IoPageTable.create(f, format, policy);
            for (int step = 0; step < STEPS; step++) {
                String where = "seed " + seed + " step " + step + ": ";
                // keep the leaf count in the thousands: map less once it grows
                if (rnd.nextInt(100) < (ref.size() > MANY_LEAVES ? 25 : 55)) {
                    long[] m = randomMap(rnd);
                    int prot = rnd.nextInt(100) < 95 ? (rnd.nextInt(32) | (1 + rnd.nextInt(3))) : rnd.nextInt(32) & ~3;
                    String op = String.format("map(0x%x, 0x%x, 0x%x, %s)", m[0], m[1], m[2], Prot.toString(prot));
                    assertEquals(ref.map(m[0], m[1], m[2], prot), t.map(m[0], m[1], m[2], prot), where + op);
                    touched.add(m[0]);
                } else {
                    long[] u = randomUnmap(rnd, ref);
                    String op = String.format("unmap(0x%x, 0x%x)", u[0], u[1]);
                    assertEquals(ref.unmap(u[0], u[1]), t.unmap(u[0], u[1]), where + op);
                    touched.add(u[0]);
                }
                if (step % FULL_COMPARE_EVERY == 0 || step == STEPS - 1) {
                    compareAll(f, format, t, ref, rnd, where);
                }
            }
            System.out.printf("seed %d: %d leaves, %d table pages, %d descriptor writes, %d pages freed%n",
                    seed, ref.size(), f.allocatedTablePages(), t.descriptorsWritten(), t.tablePagesFreed());
            PageTableVerifier.Report report = PageTableVerifier.verify(f, format);
            assertTrue(report.clean(), "seed " + seed + ": " + report.problems() + " leaked " + report.leakedPages());
            assertEquals(report.reachablePages().cardinality(), f.allocatedTablePages(), "seed " + seed);
            assertEquals(t.tablePagesAllocated() - t.tablePagesFreed(), f.allocatedTablePages(), "seed " + seed);
        }
        reopenInNewJvm(path, ref, touched, rnd, seed);
    }

    private static long[] randomMap(Random rnd) {
        int r = rnd.nextInt(100);
        long size;
        if (r < 30) {
            size = SZ_4K * (1 + rnd.nextInt(8));
        } else if (r < 45) {
            size = SZ_2M;
        } else if (r < 58) {
            size = SZ_2M * (1 + rnd.nextInt(3)) + SZ_4K * rnd.nextInt(600);
        } else if (r < 64) {
            size = SZ_1G;
        } else if (r < 95) {
            size = SZ_4K * (1 + rnd.nextInt(1024));
        } else {
            // invalid: unaligned or empty
            return new long[] {rnd.nextInt(3) == 0 ? 0x800 : 0, 0, rnd.nextBoolean() ? 0 : 0x1800};
        }
        long iova = alignedIn(rnd, REGION - size);
        // same offset as the IOVA within 1G: blocks possible; random: 4K pages (only for small sizes,
        // or a 1G map would be 262144 leaves)
        long pa = size >= 8 * SZ_2M || rnd.nextBoolean()
                ? iova + SZ_1G * rnd.nextInt(64)
                : (rnd.nextLong() & ((1L << 40) - 1)) & ~(SZ_4K - 1);
        return new long[] {iova, pa, size};
    }

    private static long[] randomUnmap(Random rnd, ReferenceMappings ref) {
        int r = rnd.nextInt(100);
        List<ReferenceMappings.Leaf> leaves = ref.leaves();
        if (r < 45 && !leaves.isEmpty()) {
            // aim at an existing leaf: all of it, a piece of it, or a run starting in it
            ReferenceMappings.Leaf l = leaves.get(rnd.nextInt(leaves.size()));
            long piece = rnd.nextInt(3) == 0 ? l.size() : rnd.nextBoolean() ? SZ_4K : SZ_2M;
            piece = Math.min(piece, l.size());
            long iova = l.iova() + (rnd.nextLong() & (l.size() - 1) & ~(piece - 1));
            long size = piece * (1 + rnd.nextInt(rnd.nextInt(4) == 0 ? 600 : 2));
            return new long[] {iova, Math.min(size, REGION - iova)};
        }
        if (r < 47) {
            return new long[] {0, REGION};
        }
        if (r < 49) {
            return new long[] {0x800, SZ_4K};
        }
        long[] sizes = {SZ_4K, SZ_4K * (1 + rnd.nextInt(64)), SZ_2M, SZ_2M * (1 + rnd.nextInt(4)), SZ_1G};
        long size = sizes[rnd.nextInt(sizes.length)];
        return new long[] {alignedIn(rnd, REGION - size), size};
    }

    /** A random IOVA in [0, limit] aligned to 4K, 2M or 1G. */
    private static long alignedIn(Random rnd, long limit) {
        long[] aligns = {SZ_4K, SZ_2M, SZ_1G};
        long align = aligns[rnd.nextInt(3)];
        long slots = limit / align + 1;
        return (Math.floorMod(rnd.nextLong(), slots)) * align;
    }

    private static void compareAll(PageTableFile f, PageTableFormat format, IoPageTable t, ReferenceMappings ref,
                                   Random rnd, String where) {
        DomainFiles.Collected c = DomainFiles.Collected.walk(f, format);
        assertTrue(c.problems.isEmpty(), where + c.problems);
        List<ReferenceMappings.Leaf> expected = ref.leaves();
        List<ReferenceMappings.Leaf> actual = new ArrayList<>();
        for (DomainFiles.Leaf l : c.leaves) {
            actual.add(new ReferenceMappings.Leaf(l.iova(), l.size(), l.pa(), l.prot()));
        }
        if (!expected.equals(actual)) {
            fail(where + "leaves differ: " + firstDifference(expected, actual));
        }
        for (ReferenceMappings.Leaf l : expected) {
            long off = rnd.nextLong() & (l.size() - 1);
            assertEquals(l.pa() + off, t.iovaToPhys(l.iova() + off), where + l);
        }
        for (int i = 0; i < 64; i++) {
            long iova = rnd.nextLong() & (REGION - 1);
            long want = ref.translate(iova);
            assertEquals(want < 0 ? 0 : want, t.iovaToPhys(iova), where + "probe 0x" + Long.toHexString(iova));
        }
    }

    private static String firstDifference(List<ReferenceMappings.Leaf> expected, List<ReferenceMappings.Leaf> actual) {
        for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
            if (!expected.get(i).equals(actual.get(i))) {
                return "at #" + i + " expected " + expected.get(i) + " actual " + actual.get(i);
            }
        }
        return "sizes " + expected.size() + " vs " + actual.size();
    }

    private void reopenInNewJvm(Path table, ReferenceMappings ref, Set<Long> touched, Random rnd, long seed)
            throws IOException, InterruptedException {
        List<Long> queries = new ArrayList<>();
        List<ReferenceMappings.Leaf> leaves = ref.leaves();
        int stride = Math.max(1, leaves.size() / 2000);
        for (int i = 0; i < leaves.size(); i += stride) {
            ReferenceMappings.Leaf l = leaves.get(i);
            queries.add(l.iova());
            queries.add(l.end() - 1);
            queries.add(l.iova() + (rnd.nextLong() & (l.size() - 1)));
        }
        queries.addAll(touched); // mostly unmapped by now
        for (int i = 0; i < 500; i++) {
            queries.add(rnd.nextLong() & (REGION - 1));
        }
        Path queryFile = dir.resolve("queries-" + seed + ".txt");
        Path answerFile = dir.resolve("answers-" + seed + ".txt");
        Path log = dir.resolve("child-" + seed + ".log");
        StringBuilder sb = new StringBuilder();
        for (long q : queries) {
            sb.append(Long.toHexString(q)).append('\n');
        }
        Files.writeString(queryFile, sb);

        Process p = new ProcessBuilder(JavaCommand.forMain(TranslationQueryMain.class,
                table.toString(), queryFile.toString(), answerFile.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("seed " + seed + ": child JVM did not finish; log:\n" + Files.readString(log));
        }
        assertEquals(0, p.exitValue(), "seed " + seed + ": child failed; log:\n" + Files.readString(log));

        List<String> answers = Files.readAllLines(answerFile);
        assertEquals(queries.size(), answers.size(), "seed " + seed);
        for (int i = 0; i < queries.size(); i++) {
            long iova = queries.get(i);
            String[] a = answers.get(i).split(" ");
            assertEquals(iova, Long.parseUnsignedLong(a[0], 16));
            long want = ref.translate(iova);
            ReferenceMappings.Leaf l = ref.leafAt(iova);
            String where = "seed " + seed + ": after reopen, IOVA 0x" + Long.toHexString(iova);
            assertEquals(want, Long.parseLong(a[1]), where);
            assertEquals(want < 0 ? 0 : want, Long.parseLong(a[2]), where + " (iovaToPhys)");
            assertEquals(l == null ? -1 : l.prot(), Integer.parseInt(a[3]), where + " (prot)");
        }
    }
}
