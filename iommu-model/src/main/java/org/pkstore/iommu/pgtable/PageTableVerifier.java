package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;

/**
 * Checks a domain's table tree with {@link PageTableWalker}: every descriptor the walker refuses is
 * a {@link Problem} naming its file offset, and the pages the walk reached are returned so a writer
 * can reclaim leaks ({@link PageTableFile#reclaimUnreachable}) after a crash.
 */
public final class PageTableVerifier {
    private PageTableVerifier() {}

    /** One refused descriptor (or header field): where it is and why. */
    public record Problem(Path file, long offset, int level, long iova, long descriptor, String reason) {
        @Override
        public String toString() {
            return String.format("%s: offset 0x%x (level %d, IOVA 0x%x, raw 0x%016x): %s",
                    file, offset, level, iova, descriptor, reason);
        }
    }

    /** Outcome of {@link #verify}. */
    public record Report(List<Problem> problems, BitSet reachablePages, BitSet leakedPages, long leaves,
                         long mappedBytes) {
        /** No problem and no leaked page. */
        public boolean clean() {
            return problems.isEmpty() && leakedPages.isEmpty();
        }

        /** Allocated table pages no table entry reaches: what a reachability sweep would free. */
        public long leakedPageCount() {
            return leakedPages.cardinality();
        }
    }

    /** Verifies with the format the file header names (an unknown id is itself a problem). */
    public static Report verify(PageTableFile file) {
        PageTableFormat format;
        try {
            format = PageTableFormat.byId(file.format());
        } catch (IllegalArgumentException e) {
            List<Problem> p = List.of(new Problem(file.path(), PageTableFileDescriptor.FORMAT_OFFSET, 0, 0,
                    file.format(), "unknown page-table format id " + file.format()));
            return new Report(p, new BitSet(), new BitSet(), 0, 0);
        }
        return verify(file, format);
    }

    public static Report verify(PageTableFile file, PageTableFormat format) {
        List<Problem> problems = new ArrayList<>();
        if (file.format() != format.id()) {
            problems.add(new Problem(file.path(), PageTableFileDescriptor.FORMAT_OFFSET, 0, 0, file.format(),
                    "header format " + file.format() + " is not " + format.id() + " (" + format.name() + ")"));
        }
        long[] counts = new long[2];
        PageTableWalker walker = new PageTableWalker(file, format);
        walker.walk(new PageTableVisitor() {
            @Override
            public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                counts[0]++;
                counts[1] += PageTableGeometry.blockSize(level);
            }

            @Override
            public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
                problems.add(new Problem(file.path(), descriptorPa - file.paBase(), level, iova, descriptor, reason));
            }
        });
        BitSet reachable = (BitSet) walker.reachablePages().clone();
        BitSet leaked = new BitSet();
        for (long p = file.firstTablePage(); p < file.capacityPages(); p++) {
            if (file.isAllocated(p) && !reachable.get((int) p)) {
                leaked.set((int) p);
            }
        }
        return new Report(Collections.unmodifiableList(problems), reachable, leaked, counts[0], counts[1]);
    }
}
