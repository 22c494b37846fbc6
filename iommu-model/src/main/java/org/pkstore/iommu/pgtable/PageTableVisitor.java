package org.pkstore.iommu.pgtable;

/**
 * What {@link PageTableWalker} reports. Every method has an empty default, so a visitor overrides
 * only what it needs. Calls arrive depth first in IOVA order.
 */
public interface PageTableVisitor {
    /**
     * A table entry about to be followed: entry {@code index} of the table at {@code tablePa} (level
     * {@code level}), covering IOVAs from {@code iova}.
     */
    default void table(int level, long iova, long tablePa, int index, long descriptor) {}

    /**
     * A leaf mapping {@code PageTableGeometry.blockSize(level)} bytes from {@code iova}.
     * {@code path[l]} is the raw descriptor used at each level {@code l <= level} and 0 below; the
     * array belongs to the walker and is reused, so copy it to keep it.
     */
    default void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {}

    /**
     * A descriptor the walker refused to use: an encoding the format rejects, or a table pointer
     * outside the file's table area, to a free page, or to a page already reached on this walk. It
     * is not followed. {@code descriptorPa} is where it sits (for the root pointer, the header
     * field: file offset = descriptorPa - paBase).
     */
    default void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {}

    /** Single-IOVA translate only: the walk ended without a leaf at this level. */
    default void fault(int level, long iova, long tablePa, int index, long descriptor, String reason) {}
}
