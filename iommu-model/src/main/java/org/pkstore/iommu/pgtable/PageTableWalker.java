package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.util.Arrays;
import java.util.BitSet;

import static org.pkstore.iommu.pgtable.PageTableGeometry.ENTRIES_PER_TABLE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEAF_LEVEL;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEVELS;
import static org.pkstore.iommu.pgtable.PageTableGeometry.blockSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;
import static org.pkstore.iommu.pgtable.PageTableGeometry.index;

/**
 * The one walker behind dumps, translate tools and {@link PageTableVerifier}: visits the present
 * descriptors of a table tree in a {@link PageTableFile} (read-only or read-write; it only reads).
 *
 * <p>Safe on hostile files: it reads only descriptors inside the file's table area, follows each
 * table page at most once per walk (a BitSet of page indices), and reports rather than follows a
 * table pointer outside the table area, to a free page or to a page already reached (a cycle or a
 * shared table), and any descriptor {@link PageTableFormat#validate} rejects. A walk therefore reads
 * at most every table page once and always ends.
 *
 * <p>Not thread-safe; one walker per thread. Not for the DMA path: it allocates (reasons, the
 * BitSet); {@link DeviceTranslation} is the allocation-free reader.
 */
public final class PageTableWalker {
    private final PageTableFile file;
    private final PageTableFormat format;
    private final long[] path = new long[LEVELS];
    private final BitSet reached = new BitSet();
    private PageTableVisitor visitor;
    private long start;
    private long end;

    public PageTableWalker(PageTableFile file, PageTableFormat format) {
        this.file = file;
        this.format = format;
    }

    /** A walker with the format the file header names. */
    public static PageTableWalker of(PageTableFile file) {
        return new PageTableWalker(file, PageTableFormat.byId(file.format()));
    }

    public PageTableFile file() { return file; }
    public PageTableFormat format() { return format; }

    /**
     * Page indices of the table pages the last {@link #walk} followed, root included. Owned by the
     * walker and cleared by the next walk; copy it to keep it.
     */
    public BitSet reachablePages() {
        return reached;
    }

    /** Walks the tree under the file header's root over all IOVAs. */
    public void walk(PageTableVisitor v) {
        walk(file.rootPa(), 0, IOVA_LIMIT, v);
    }

    /**
     * Visits every present descriptor whose IOVA range meets {@code [startIova, endIova)} in the
     * tree under {@code rootPa}, depth first in IOVA order.
     */
    public void walk(long rootPa, long startIova, long endIova, PageTableVisitor v) {
        reached.clear();
        Arrays.fill(path, 0);
        this.visitor = v;
        this.start = Math.max(0, startIova);
        this.end = Math.min(IOVA_LIMIT, endIova);
        try {
            String bad = checkRoot(rootPa);
            if (bad != null) {
                v.problem(0, 0, file.paBase() + PageTableFileDescriptor.ROOT_PA_OFFSET, rootPa, bad);
                return;
            }
            reached.set((int) file.pageIndexOf(rootPa));
            if (start < end) {
                walkTable(rootPa, 0, 0);
            }
        } finally {
            this.visitor = null;
        }
    }

    private void walkTable(long tablePa, int level, long tableIova) {
        long span = blockSize(level);
        int first = start > tableIova ? (int) ((start - tableIova) / span) : 0;
        int last = (int) Math.min(ENTRIES_PER_TABLE - 1, (end - 1 - tableIova) / span);
        for (int i = first; i <= last; i++) {
            long dpa = descriptorPa(tablePa, i);
            long d = file.readDescriptor(dpa);
            if (d == 0) {
                continue;
            }
            long iova = tableIova + i * span;
            String bad = format.validate(d, level);
            if (bad != null) {
                visitor.problem(level, iova, dpa, d, bad);
                continue;
            }
            if (!format.isPresent(d, level)) {
                continue;
            }
            path[level] = d;
            if (format.isLeaf(d, level)) {
                visitor.leaf(level, iova, tablePa, i, d, path);
            } else if (format.isTable(d, level)) {
                long next = format.tableAddress(d);
                String why = checkTable(next);
                if (why != null) {
                    visitor.problem(level, iova, dpa, d, why);
                } else {
                    reached.set((int) file.pageIndexOf(next));
                    visitor.table(level, iova, tablePa, i, d);
                    walkTable(next, level + 1, iova);
                }
            } else {
                visitor.problem(level, iova, dpa, d, "present but neither a table nor a leaf at level " + level);
            }
            path[level] = 0;
        }
    }

    private String checkRoot(long rootPa) {
        if (rootPa == 0) {
            return "no root table";
        }
        return checkPointer(rootPa, "root table");
    }

    private String checkTable(long next) {
        String bad = checkPointer(next, "next-level table");
        if (bad != null) {
            return bad;
        }
        if (reached.get((int) file.pageIndexOf(next))) {
            return String.format("next-level table 0x%x already reached on this walk (cycle or shared table)", next);
        }
        return null;
    }

    private String checkPointer(long pa, String what) {
        if (file.isTablePage(pa)) {
            if (!file.isAllocated(file.pageIndexOf(pa))) {
                return String.format("%s 0x%x is a free (unallocated) page", what, pa);
            }
            return null;
        }
        if (pa >= file.paBase() && pa < file.paLimit() && (pa & (PageTableGeometry.GRANULE - 1)) == 0) {
            return String.format("%s 0x%x points into the file's header or bitmap pages", what, pa);
        }
        return String.format("%s 0x%x is outside the file's table area [0x%x, 0x%x)", what, pa,
                file.paOfPage(file.firstTablePage()), file.paLimit());
    }

    /**
     * Translates one IOVA under the header's root, reporting each level: {@code table} for each
     * table entry followed, then {@code leaf} (with the path) or {@code fault} ("not present at
     * level N") or {@code problem}.
     *
     * @return the PA, or -1 when {@code iova} does not translate
     */
    public long translate(long iova, PageTableVisitor v) {
        return translate(file.rootPa(), iova, v);
    }

    public long translate(long rootPa, long iova, PageTableVisitor v) {
        Arrays.fill(path, 0);
        if (iova < 0 || iova >= IOVA_LIMIT) {
            v.fault(0, iova, rootPa, 0, 0, String.format("IOVA 0x%x beyond the %d-bit input range",
                    iova, PageTableGeometry.IAS_BITS));
            return -1;
        }
        String bad = checkRoot(rootPa);
        if (bad != null) {
            v.problem(0, iova, file.paBase() + PageTableFileDescriptor.ROOT_PA_OFFSET, rootPa, bad);
            return -1;
        }
        long table = rootPa;
        for (int level = 0; level < LEVELS; level++) {
            int i = index(iova, level);
            long dpa = descriptorPa(table, i);
            long d = file.readDescriptor(dpa);
            long entryIova = iova & ~(blockSize(level) - 1);
            path[level] = d;
            bad = format.validate(d, level);
            if (bad != null) {
                v.problem(level, entryIova, dpa, d, bad);
                return -1;
            }
            if (!format.isPresent(d, level)) {
                v.fault(level, entryIova, table, i, d, "not present at level " + level);
                return -1;
            }
            if (format.isLeaf(d, level)) {
                v.leaf(level, entryIova, table, i, d, path);
                return format.outputAddress(d, level) | (iova & (blockSize(level) - 1));
            }
            long next = format.tableAddress(d);
            bad = level < LEAF_LEVEL && format.isTable(d, level)
                    ? checkPointer(next, "next-level table")
                    : "present but neither a table nor a leaf at level " + level;
            if (bad != null) {
                v.problem(level, entryIova, dpa, d, bad);
                return -1;
            }
            v.table(level, entryIova, table, i, d);
            table = next;
        }
        return -1; // level 3 entries are leaves or not present, so this is not reached
    }
}
