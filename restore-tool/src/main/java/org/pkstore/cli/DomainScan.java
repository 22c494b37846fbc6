package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * One walk of a domain's table tree ({@link PageTableWalker}: bounded, each table page followed at
 * most once, nothing read outside the file's table area) that keeps what the commands need: leaf
 * counts per size, coalesced ranges, the pages reached, and every refused descriptor as a
 * {@link Finding} with its file offset and a {@code kind}: {@code encoding}, {@code outside-file},
 * {@code cross-domain}, {@code header-page}, {@code free-page}, {@code cycle}, {@code shared-table},
 * {@code root}.
 */
final class DomainScan {
    /** Receives every leaf (for raw output); {@code path[l]} is the raw descriptor at level l. */
    interface LeafSink {
        void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path);
    }

    /** A table pointer into another file's window: (file offset of the descriptor, target PA). */
    record CrossPointer(long offset, long target, String otherRel) {}

    final MountView.TableFile table;
    final PageTableFile file;
    final PageTableFormat format;
    final long root;
    final long[] leavesByLevel = new long[PageTableGeometry.LEVELS];
    long mappedBytes;
    final RangeList ranges;
    final List<Finding> findings = new ArrayList<>();
    final List<CrossPointer> crossPointers = new ArrayList<>();
    BitSet reachable = new BitSet();
    /** Leaves whose output address lies in no guest memory file (counted when windows were given). */
    long leavesOutsideMemory;
    long firstLeafOutsideMemory = -1;

    private DomainScan(MountView.TableFile table, PageTableFormat format, long root, boolean keepRanges) {
        this.table = table;
        this.file = table.file();
        this.format = format;
        this.root = root;
        this.ranges = keepRanges ? new RangeList() : null;
    }

    long leaves() {
        long n = 0;
        for (long c : leavesByLevel) {
            n += c;
        }
        return n;
    }

    long tablePages() {
        return reachable.cardinality();
    }

    boolean hasErrors() {
        for (Finding f : findings) {
            if (f.isError()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Walks {@code [start, end)} under {@code root} (the header's root when {@code root} is -1).
     *
     * @param view     to name the file a foreign pointer lands in (may be null)
     * @param memory   guest memory windows as {base, limit} pairs, to count leaves outside them (may be null)
     */
    static DomainScan run(MountView view, MountView.TableFile table, long root, long start, long end, boolean keepRanges,
                          long[][] memory, LeafSink sink, Progress progress) {
        PageTableFormat format = table.format();
        if (format == null) {
            throw new IllegalArgumentException(table.rel() + ": unknown page-table format " + table.file().format());
        }
        PageTableFile f = table.file();
        // Beside a live writer, a walk may cross an update or a page freed and reused: the file's
        // mutation and free sequences say so (the seqlock of PageTableFile), and the walk is redone.
        // A streamed walk (sink) cannot be taken back; it is flagged instead.
        int attempts = sink == null ? MAX_ATTEMPTS : 1;
        DomainScan s = null;
        for (int a = 1; a <= attempts; a++) {
            long mutation = f.mutationSeq();
            long free = f.freeSeq();
            s = once(view, table, format, root < 0 ? f.rootPa() : root, start, end, keepRanges, memory, sink, progress);
            boolean quiet = (mutation & 1) == 0 && f.mutationSeq() == mutation && f.freeSeq() == free;
            if (quiet) {
                return s;
            }
            if (a == attempts) {
                s.findings.add(Finding.note("changed-during-walk", table.rel(), PageTableFileDescriptor.MUTATION_SEQ_OFFSET,
                        "a writer changed these tables during the walk" + (attempts > 1 ? " (" + attempts + " tries)" : "")
                                + ": what is shown may mix states before and after its updates"));
            }
        }
        return s;
    }

    /** Walks attempted beside a live writer before the result is given with a note. */
    static final int MAX_ATTEMPTS = 5;

    private static DomainScan once(MountView view, MountView.TableFile table, PageTableFormat format, long r, long start,
                                   long end, boolean keepRanges, long[][] memory, LeafSink sink, Progress progress) {
        PageTableFile f = table.file();
        DomainScan s = new DomainScan(table, format, r, keepRanges);
        PageTableWalker w = new PageTableWalker(f, format);
        long[] pathTables = new long[PageTableGeometry.LEVELS + 1];
        pathTables[0] = r;
        w.walk(r, start, end, new PageTableVisitor() {
            private long count;

            @Override
            public void table(int level, long iova, long tablePa, int index, long descriptor) {
                pathTables[level + 1] = format.tableAddress(descriptor);
            }

            @Override
            public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                s.leavesByLevel[level]++;
                long bytes = PageTableGeometry.blockSize(level);
                s.mappedBytes += bytes;
                long pa = format.outputAddress(descriptor, level);
                if (s.ranges != null) {
                    s.ranges.add(iova, pa, bytes, level, format.protOf(descriptor, level));
                }
                if (memory != null && !inside(memory, pa, bytes)) {
                    if (s.leavesOutsideMemory++ == 0) {
                        s.firstLeafOutsideMemory = iova;
                    }
                }
                if (sink != null) {
                    sink.leaf(level, iova, tablePa, index, descriptor, path);
                }
                if ((++count & 0xFFF) == 0) {
                    progress.update(count, 0, "leaves (" + table.name() + " at IOVA 0x" + Long.toHexString(iova) + ")");
                }
            }

            @Override
            public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
                s.findings.add(s.classify(view, level, iova, descriptorPa, descriptor, reason, pathTables));
            }
        });
        s.reachable = (BitSet) w.reachablePages().clone();
        progress.done();
        return s;
    }

    private static boolean inside(long[][] memory, long pa, long bytes) {
        for (long[] m : memory) {
            if (pa >= m[0] && pa + bytes <= m[1]) {
                return true;
            }
        }
        return false;
    }

    private Finding classify(MountView view, int level, long iova, long dpa, long d, String reason, long[] pathTables) {
        String rel = table.rel();
        long offset = dpa - file.paBase();
        String where = String.format("level %d (%s) entry for IOVA 0x%x, raw 0x%016x", level, format.levelName(level), iova, d);
        if (offset == PageTableFileDescriptor.ROOT_PA_OFFSET && level == 0 && d == root) {
            if (root == 0) {
                return Finding.note("root", rel, offset, "no root table: the file holds no translation");
            }
            return Finding.error("root", rel, offset, "root pointer refused: " + reason);
        }
        String bad = format.validate(d, level);
        if (bad != null) {
            return Finding.error("encoding", rel, offset, where + ": bad encoding: " + bad);
        }
        if (!format.isTable(d, level)) {
            return Finding.error("encoding", rel, offset, where + ": " + reason);
        }
        long target = format.tableAddress(d);
        if (file.isTablePage(target)) {
            if (!file.isAllocated(file.pageIndexOf(target))) {
                return Finding.error("free-page", rel, offset, where + ": points to table page 0x"
                        + Long.toHexString(target) + " (page " + file.pageIndexOf(target)
                        + "), which the allocation bitmap says is free");
            }
            for (int l = 0; l <= level; l++) {
                if (pathTables[l] == target) {
                    return Finding.error("cycle", rel, offset, where + ": points back to the level-" + l
                            + " table 0x" + Long.toHexString(target) + " on its own path: a loop between tables");
                }
            }
            return Finding.error("shared-table", rel, offset, where + ": table page 0x" + Long.toHexString(target)
                    + " is already reachable through another entry: a table page reachable twice");
        }
        if (target >= file.paBase() && target < file.paLimit()) {
            return Finding.error("header-page", rel, offset, where + ": points to 0x" + Long.toHexString(target)
                    + ", the file's header or allocation bitmap, not a table page");
        }
        MountView.TableFile other = view == null ? null : view.tableFileAt(target);
        if (other != null) {
            crossPointers.add(new CrossPointer(offset, target, other.rel()));
            return Finding.error("cross-domain", rel, offset, where + ": points to 0x" + Long.toHexString(target)
                    + " in " + other.rel() + " (page " + other.file().pageIndexOf(target)
                    + "): a table page reachable from two domains");
        }
        return Finding.error("outside-file", rel, offset, where + ": points to 0x" + Long.toHexString(target)
                + ", outside the file's table area [0x" + Long.toHexString(file.paOfPage(file.firstTablePage()))
                + ", 0x" + Long.toHexString(file.paLimit()) + ") and outside every table file of the mount");
    }

    /** Allocated table pages this walk did not reach, as findings, one per run of consecutive pages. */
    List<Finding> leaks(int maxListed) {
        return leaks(table, reachable, maxListed);
    }

    static List<Finding> leaks(MountView.TableFile t, BitSet reachable, int maxListed) {
        PageTableFile f = t.file();
        List<Finding> out = new ArrayList<>();
        long runStart = -1;
        long runs = 0;
        long pages = 0;
        for (long p = f.firstTablePage(); p <= f.capacityPages(); p++) {
            boolean leaked = p < f.capacityPages() && f.isAllocated(p) && !reachable.get((int) p);
            if (leaked) {
                pages++;
                if (runStart < 0) {
                    runStart = p;
                }
            } else if (runStart >= 0) {
                if (runs++ < maxListed) {
                    long n = p - runStart;
                    out.add(Finding.error("leaked-page", t.rel(), runStart * PageTableFileDescriptor.PAGE_SIZE,
                            (n == 1 ? "page " + runStart : "pages " + runStart + ".." + (p - 1) + " (" + n + ")")
                                    + " allocated in the bitmap but reachable from no table (leak; verify --repair reclaims)"));
                }
                runStart = -1;
            }
        }
        if (runs > maxListed) {
            out.add(Finding.error("leaked-page", t.rel(), -1, (runs - maxListed) + " more runs of leaked pages ("
                    + pages + " leaked pages in all)"));
        }
        return out;
    }

    /** Leaked page count. */
    static long leakedPages(PageTableFile f, BitSet reachable) {
        long n = 0;
        for (long p = f.firstTablePage(); p < f.capacityPages(); p++) {
            if (f.isAllocated(p) && !reachable.get((int) p)) {
                n++;
            }
        }
        return n;
    }
}
