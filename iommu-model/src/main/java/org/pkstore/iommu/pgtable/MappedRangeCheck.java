package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;

import static org.pkstore.iommu.pgtable.PageTableGeometry.ENTRIES_PER_TABLE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEAF_LEVEL;
import static org.pkstore.iommu.pgtable.PageTableGeometry.blockSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;
import static org.pkstore.iommu.pgtable.PageTableGeometry.index;

/**
 * The LIVE_UPDATE check of a MAP_DMA (docs/UAPI.md, VFIO_DMA_MAP_FLAG_LIVE_UPDATE): do the tables
 * under a root map exactly {@code [iova, iova + size)} to {@code [pa, pa + size)} with one
 * permission set? One range walk: descend from the root once per table that holds leaves, then
 * compare that table's entries in a loop until the range leaves it, as io-pgtable-arm.c's
 * __arm_lpae_iopte_walk visits a table's entries. An entry is checked field by field
 * ({@link PageTableFormat#validate}, output address, permissions) when it starts a run; the
 * entries that continue it (the same descriptor, output address one span higher each) are
 * compared as one run ({@link PageTableFile#descriptorRun}), which is most of a 4 KiB mapping's
 * million leaves. No allocation, no visitor.
 *
 * <p>Bounded on a hostile file: every step either advances the checked IOVA by one entry's span
 * or descends one level (at most {@link PageTableGeometry#LEVELS} from the root), and a table
 * pointer is followed only into an allocated table page of the file. A table page reached twice in
 * the range (a shared table) is not a mismatch by itself: hardware would translate through it, and
 * the entries are compared like any others.
 */
public final class MappedRangeCheck {
    /** Output addresses below this fit the output-address field of both formats (ARM LPAE: bits 47:12). */
    static final long OA_LIMIT = 1L << 48;

    private MappedRangeCheck() {}

    /**
     * @return -1 when every byte of the range matches, else the first IOVA that does not: a hole
     *         (not present, or a descriptor {@link PageTableFormat#validate} rejects), a table
     *         pointer outside the allocated table pages, another output address, other permissions
     *         (as the format expresses {@code prot}), or an IOVA beyond the input range
     */
    public static long firstMismatch(PageTableFile file, PageTableFormat format, long rootPa,
                                     long iova, long size, long pa, int prot) {
        if (size <= 0) {
            return -1;
        }
        long end = iova + size < iova ? Long.MAX_VALUE : iova + size;
        if (!followable(file, rootPa)) {
            return iova;
        }
        int wantProt = format.protOf(format.makeLeaf(0, prot, LEAF_LEVEL), LEAF_LEVEL);
        long delta = pa - iova; // the output address every IOVA of the range must have: iova + delta
        long at = iova;
        while (at < end) {
            if (at < 0 || at >= IOVA_LIMIT) {
                return at;
            }
            // descend to the table whose entry for `at` is not a table pointer
            long table = rootPa;
            int level = 0;
            long d = file.readDescriptor(descriptorPa(table, index(at, level)));
            while (isTablePointer(format, d, level)) {
                long next = format.tableAddress(d);
                if (!followable(file, next)) {
                    return at;
                }
                table = next;
                level++;
                d = file.readDescriptor(descriptorPa(table, index(at, level)));
            }
            // compare this table's entries from `at` on, until the range or the table ends
            long span = blockSize(level);
            long matched = 0; // the previous entry of this table, once it matched
            for (int i = index(at, level); ; ) {
                // an entry that is the previous matching one with its output address one span
                // higher matches too: every other bit is the same, and below 2^48 the addition
                // stays inside the output-address field of both formats
                boolean next = matched != 0 && d == matched + span && at + delta >= 0 && at + delta < OA_LIMIT;
                if (!next) {
                    if (d == 0 || format.validate(d, level) != null || !format.isPresent(d, level)) {
                        return at;
                    }
                    if (!format.isLeaf(d, level)) {
                        if (isTablePointer(format, d, level)) {
                            break; // descend again from the root
                        }
                        return at; // present, neither a table nor a leaf
                    }
                    if (format.outputAddress(d, level) + (at - (at & -span)) != at + delta
                            || format.protOf(d, level) != wantProt) {
                        return at;
                    }
                }
                matched = d;
                at = (at & -span) + span;
                if (at >= end || ++i == ENTRIES_PER_TABLE) {
                    break;
                }
                // the entries that continue it, compared in one run (the test above, entry by entry)
                int same = file.descriptorRun(descriptorPa(table, i), runLength(at, end, delta, span, i),
                        matched + span, span);
                matched += same * span;
                at += same * span;
                i += same;
                if (at >= end || i == ENTRIES_PER_TABLE) {
                    break;
                }
                d = file.readDescriptor(descriptorPa(table, i));
            }
        }
        return -1;
    }

    /**
     * How many entries from index {@code i} (at the span-aligned {@code at}) the run test may
     * accept: those left in the table and in the range whose output address {@code at + delta}
     * stays in [0, {@link #OA_LIMIT}).
     */
    private static int runLength(long at, long end, long delta, long span, int i) {
        long oa = at + delta;
        if (oa < 0 || oa >= OA_LIMIT) {
            return 0;
        }
        long n = Math.min(ENTRIES_PER_TABLE - i, (end - at - 1) / span + 1);
        return (int) Math.min(n, (OA_LIMIT - 1 - oa) / span + 1);
    }

    private static boolean isTablePointer(PageTableFormat format, long d, int level) {
        return level < LEAF_LEVEL && d != 0 && format.validate(d, level) == null && format.isPresent(d, level)
                && !format.isLeaf(d, level) && format.isTable(d, level);
    }

    /** An allocated table page of the file, as {@link PageTableWalker} requires before following it. */
    private static boolean followable(PageTableFile file, long tablePa) {
        return tablePa != 0 && file.isTablePage(tablePa) && file.isAllocated(file.pageIndexOf(tablePa));
    }
}
