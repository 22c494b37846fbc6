/**
 * Nested (two-stage) translation of PASID-tagged DMA: the guest-owned first-stage formats
 * ({@link org.pkstore.iommu.nested.VtdFirstLevelFormat}, {@link org.pkstore.iommu.nested.ArmLpaeS1Format}),
 * the IOMMU's bounded nested walk ({@link org.pkstore.iommu.nested.NestedWalker}) with its faults
 * ({@link org.pkstore.iommu.nested.NestedFault}), and the guest side that builds a first-stage
 * table in guest memory ({@link org.pkstore.iommu.nested.Stage1TableBuilder}). Layouts:
 * docs/FORMAT.md 7.1. Selftests beside it: FirstStageEncodingTest (golden encodings from the spec
 * bit tables), NestedWalkerTest (both stages, every fault kind, bounded, allocation-free).
 */
package org.pkstore.iommu.nested;
