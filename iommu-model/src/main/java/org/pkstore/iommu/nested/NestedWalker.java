package org.pkstore.iommu.nested;

import org.pkstore.iommu.NestedMemory;
import org.pkstore.iommu.PasidTranslation;
import org.pkstore.iommu.pgtable.Prot;

/**
 * The IOMMU's nested walk of one PASID-tagged DMA: stage 1 from the guest's root GPA, every
 * stage-1 table entry read at a GPA that stage 2 translates first (READ), then the output GPA
 * translated through stage 2 again for the access. VT-d spec 3.6 section 3.8 ("Nested
 * Translation"), SMMUv3 spec 3.3.2 and 5.2 (STE Config 0b111: CD and stage-1 tables are IPAs).
 *
 * <p>Bounded by construction: exactly one read per stage-1 level ({@link FirstStageFormat#levels}),
 * and each stage-2 translation is bounded by the stage-2 walker behind {@link NestedMemory}; a
 * table pointing back at itself only costs the remaining levels. Allocation-free and stateless
 * (the fault is packed into the result, {@link NestedFault}), so one instance serves any thread.
 */
public final class NestedWalker {
    private final NestedMemory memory;

    public NestedWalker(NestedMemory memory) {
        this.memory = memory;
    }

    /** As {@link #translate(FirstStageFormat, long, long, long, int, NestedVisitor)} for a decoded PASID entry. */
    public long translate(PasidTranslation t, long va, int access, NestedVisitor visitor) {
        return translate(FirstStageFormat.of(t.stage1Format()), t.stage1RootGpa(), t.stage2RootPa(), va, access, visitor);
    }

    /**
     * Translates {@code va} for {@code access} ({@link Prot#READ} / {@link Prot#WRITE}; 0 checks no permission).
     *
     * @return the host PA (&gt;= 0), or a negative {@link NestedFault} code
     */
    public long translate(FirstStageFormat format, long stage1RootGpa, long stage2RootPa, long va, int access,
                          NestedVisitor visitor) {
        if (format.inputProblem(va) != null) {
            return NestedFault.code(NestedFault.S1_ADDRESS, 0, 0);
        }
        int want = access & (Prot.READ | Prot.WRITE);
        int granted = Prot.READ | Prot.WRITE;
        long table = stage1RootGpa;
        int levels = format.levels();
        for (int level = 0; level < levels; level++) {
            int index = format.index(va, level);
            long entryGpa = table + (long) index * 8;
            long entryHpa = memory.stage2(stage2RootPa, entryGpa, Prot.READ);
            visitor.stage2(level, false, entryGpa, entryHpa);
            if (entryHpa < 0) {
                return NestedFault.code(NestedFault.S2_ON_TABLE, level, entryHpa);
            }
            long d = memory.readWord(entryHpa);
            visitor.stage1(level, table, index, entryGpa, entryHpa, d);
            if (!format.isPresent(d, level)) {
                return NestedFault.code(NestedFault.S1_NOT_PRESENT, level, 0);
            }
            if (format.reservedProblem(d, level) != null) {
                return NestedFault.code(NestedFault.S1_RESERVED, level, 0);
            }
            granted &= format.grants(d, level);
            if (format.isLeaf(d, level)) {
                if (format.accessFlagFault(d, level)) {
                    return NestedFault.code(NestedFault.S1_ACCESS_FLAG, level, 0);
                }
                if ((want & ~granted) != 0) {
                    return NestedFault.code(NestedFault.S1_PERMISSION, level, 0);
                }
                long gpa = format.outputAddress(d, level) | (va & (format.blockSize(level) - 1));
                long hpa = memory.stage2(stage2RootPa, gpa, want);
                visitor.stage2(level, true, gpa, hpa);
                if (hpa < 0) {
                    return NestedFault.code(NestedFault.S2_ON_OUTPUT, level, hpa);
                }
                return hpa;
            }
            if (level == levels - 1) {
                return NestedFault.code(NestedFault.S1_RESERVED, level, 0);
            }
            table = format.tableAddress(d);
        }
        return NestedFault.code(NestedFault.S1_RESERVED, levels - 1, 0);
    }
}
