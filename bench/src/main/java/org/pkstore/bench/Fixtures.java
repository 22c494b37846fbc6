package org.pkstore.bench;

import org.pkstore.iommu.pgtable.ArmLpaeS2Format;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.VtdSecondStageFormat;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Shared constants and helpers: temp directories, domain table files, formats by name. */
final class Fixtures {
    private Fixtures() {}

    static final long SZ_4K = 1L << 12;
    static final long SZ_2M = 1L << 21;
    static final long SZ_1G = 1L << 30;

    /** Physical base of benchmark page-table files (any 4K-aligned PA below 2^48 works). */
    static final long TABLE_PA_BASE = 0x4000_0000_0000L;
    /** IOVAs start at 1 GiB (not 0, so that a bug mapping IOVA 0 would show). */
    static final long IOVA_BASE = SZ_1G;
    /** Guest-physical output addresses start here; aligned to 1 GiB. */
    static final long OUT_PA_BASE = 0x10_0000_0000L;

    /** Capacity the kernel gives a domain file (VfioKernel.DOMAIN_FILE_PAGES): 64 MiB, sparse. */
    static final long DOMAIN_FILE_PAGES = 16384;

    static PageTableFormat format(String name) {
        switch (name) {
            case "vtd-sl": return VtdSecondStageFormat.INSTANCE;
            case "arm-lpae-s2": return ArmLpaeS2Format.INSTANCE;
            default: throw new IllegalArgumentException("unknown format " + name);
        }
    }

    /** A fresh temp directory under {@code java.io.tmpdir} (or -Dpkstore.bench.tmp). */
    static Path tempDir(String prefix) {
        try {
            String base = System.getProperty("pkstore.bench.tmp");
            if (base != null) {
                Path b = Path.of(base);
                Files.createDirectories(b);
                return Files.createTempDirectory(b, prefix);
            }
            return Files.createTempDirectory("pkstore-bench-" + prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A standalone domain page-table file (not in a mount), as the pgtable tests make them. */
    static PageTableFile domainFile(Path dir, String name, PageTableFormat format, long capacityPages) {
        return PageTableFile.create(dir.resolve(name + ".pt"), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                format.id(), capacityPages, TABLE_PA_BASE, 1, 1);
    }

    /** Random 4K-page IOVAs (with a random in-page offset) inside [IOVA_BASE, IOVA_BASE + pages*4K). */
    static long[] randomIovas(int count, long pages, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        long[] a = new long[count];
        for (int i = 0; i < count; i++) {
            a[i] = IOVA_BASE + r.nextLong(pages) * SZ_4K + r.nextInt(4096);
        }
        return a;
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("benchmark self-check failed: " + what);
        }
    }
}
