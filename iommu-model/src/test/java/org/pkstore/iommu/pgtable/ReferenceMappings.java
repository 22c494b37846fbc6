package org.pkstore.iommu.pgtable;

import org.pkstore.iommu.Errno;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.PA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * The reference model for the property test: the leaves a Linux-like page table holds, as a sorted
 * map of IOVA ranges, written from the iommu_map / iommu_unmap rules without looking at tables.
 */
final class ReferenceMappings {
    record Leaf(long iova, long size, long pa, int prot) {
        long end() {
            return iova + size;
        }

        @Override
        public String toString() {
            return String.format("[0x%x +0x%x -> 0x%x %s]", iova, size, pa, Prot.toString(prot));
        }
    }

    private static final long[] SIZES_DESCENDING = {SZ_1G, SZ_2M, SZ_4K};

    private final TreeMap<Long, Leaf> leaves = new TreeMap<>();
    private final PageTableFormat format;
    private final PartialUnmapPolicy policy;

    ReferenceMappings(PageTableFormat format, PartialUnmapPolicy policy) {
        this.format = format;
        this.policy = policy;
    }

    List<Leaf> leaves() {
        return new ArrayList<>(leaves.values());
    }

    int size() {
        return leaves.size();
    }

    Leaf leafAt(long iova) {
        Map.Entry<Long, Leaf> e = leaves.floorEntry(iova);
        return e != null && e.getValue().end() > iova ? e.getValue() : null;
    }

    /** PA for {@code iova}, or -1. */
    long translate(long iova) {
        Leaf l = leafAt(iova);
        return l == null ? -1 : l.pa() + (iova - l.iova());
    }

    private boolean anyMapped(long from, long to) {
        if (leafAt(from) != null) {
            return true;
        }
        Long next = leaves.ceilingKey(from);
        return next != null && next < to;
    }

    int map(long iova, long pa, long size, int prot) {
        if (size <= 0 || ((iova | pa | size) & (SZ_4K - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (iova < 0 || iova >= IOVA_LIMIT || size > IOVA_LIMIT - iova || pa < 0 || pa >= PA_LIMIT || size > PA_LIMIT - pa) {
            return -Errno.ERANGE;
        }
        if ((prot & (Prot.READ | Prot.WRITE)) == 0) {
            return -Errno.EINVAL;
        }
        if (anyMapped(iova, iova + size)) {
            return -Errno.EEXIST; // whichever chunk meets it fails, and the earlier ones are undone
        }
        int stored = DomainFiles.canonicalProt(format, prot);
        while (size > 0) {
            // greedy largest page is what iommu_pgsize's count loop amounts to
            for (long s : SIZES_DESCENDING) {
                if (s <= size && iova % s == 0 && pa % s == 0) {
                    leaves.put(iova, new Leaf(iova, s, pa, stored));
                    iova += s;
                    pa += s;
                    size -= s;
                    break;
                }
            }
        }
        return 0;
    }

    long unmap(long iova, long size) {
        if (size <= 0 || ((iova | size) & (SZ_4K - 1)) != 0 || iova < 0 || iova >= IOVA_LIMIT || size > IOVA_LIMIT - iova) {
            return 0;
        }
        long unmapped = 0;
        while (unmapped < size) {
            long chunk = 0;
            for (long s : SIZES_DESCENDING) {
                if (s <= size - unmapped && iova % s == 0) {
                    chunk = s;
                    break;
                }
            }
            Leaf covering = leafAt(iova);
            if (covering != null && covering.size() > chunk) {
                if (policy == PartialUnmapPolicy.REFUSE) {
                    break;
                }
                leaves.remove(covering.iova());
                addRest(covering, covering.iova(), covering.size(), iova, chunk);
            } else if (anyMapped(iova, iova + chunk)) {
                // a chunk that meets a table clears everything under it
                leaves.subMap(iova, iova + chunk).clear();
            } else {
                break;
            }
            iova += chunk;
            unmapped += chunk;
        }
        return unmapped;
    }

    /** The split: the next-level pieces of {@code [from, from+size)} except the hole, recursively. */
    private void addRest(Leaf block, long from, long size, long hole, long holeSize) {
        long child = size == SZ_1G ? SZ_2M : SZ_4K;
        for (long c = from; c < from + size; c += child) {
            boolean holds = hole >= c && hole < c + child;
            if (!holds) {
                leaves.put(c, new Leaf(c, child, block.pa() + (c - block.iova()), block.prot()));
            } else if (child != holeSize) {
                addRest(block, c, child, hole, holeSize);
            }
        }
    }
}
