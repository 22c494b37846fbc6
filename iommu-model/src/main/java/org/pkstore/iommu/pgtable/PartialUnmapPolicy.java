package org.pkstore.iommu.pgtable;

/**
 * What {@link IoPageTable#unmap} does when asked to unmap part of a larger block mapping.
 */
public enum PartialUnmapPolicy {
    /**
     * Kernels up to 6.12 (arm_lpae_split_blk_unmap): replace the block by next-level tables that
     * map the rest of it, built completely before one release store swaps them in, so a concurrent
     * walker sees either the old block or the new tables, never a hole outside the unmapped piece.
     */
    SPLIT,
    /**
     * Current kernels: a partial unmap of a block unmaps nothing ("Unmap of a partial large IOPTE is
     * not allowed"), so that unmap chunk returns 0 and the unmap loop stops there.
     */
    REFUSE
}
