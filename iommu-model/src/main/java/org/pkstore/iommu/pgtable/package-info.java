/**
 * Persistent IOMMU page tables: one domain's translation tables in a
 * {@link org.pkstore.persist.PageTableFile}, in a bit-exact hardware format, so that after kexec
 * the new kernel adopts them in place ({@link org.pkstore.iommu.pgtable.IoPageTable#attach}) while
 * devices keep doing DMA through them.
 *
 * <ul>
 *   <li>{@link org.pkstore.iommu.pgtable.PageTableGeometry}: 4 KiB granule, 48-bit IOVA, 4 levels.</li>
 *   <li>{@link org.pkstore.iommu.pgtable.PageTableFormat}: descriptor encodings,
 *       {@link org.pkstore.iommu.pgtable.VtdSecondStageFormat} and
 *       {@link org.pkstore.iommu.pgtable.ArmLpaeS2Format}.</li>
 *   <li>{@link org.pkstore.iommu.pgtable.IoPageTable}: map / unmap / iova_to_phys with Linux
 *       iommu_map / iommu_unmap semantics, the one writer.</li>
 *   <li>{@link org.pkstore.iommu.pgtable.PageTableWalker} and
 *       {@link org.pkstore.iommu.pgtable.PageTableVisitor}: the one bounded walker behind
 *       {@link org.pkstore.iommu.pgtable.PageTableDump}, single-IOVA translate and
 *       {@link org.pkstore.iommu.pgtable.PageTableVerifier}.</li>
 *   <li>{@link org.pkstore.iommu.pgtable.DeviceTranslation}: the device's allocation-free,
 *       seqlocked translation from another process.</li>
 * </ul>
 *
 * <h2>Where this model differs from Linux, on purpose</h2>
 * <ul>
 *   <li>map with neither READ nor WRITE returns -EINVAL (io-pgtable silently maps nothing), and
 *       map of size 0 returns -EINVAL (iommu_map returns 0).</li>
 *   <li>A block wanted where a table is replaces the table only if nothing is mapped under it, else
 *       -EEXIST (arm_lpae_init_pte unmaps whatever is under it).</li>
 *   <li>Partial unmap of a block follows {@link org.pkstore.iommu.pgtable.PartialUnmapPolicy} in
 *       both formats (intel-iommu instead unmaps the whole superpage and returns its size).</li>
 *   <li>Table pages that become empty on unmap are freed (io-pgtable-arm keeps them), so a table
 *       built here never holds an empty table page.</li>
 * </ul>
 */
package org.pkstore.iommu.pgtable;
