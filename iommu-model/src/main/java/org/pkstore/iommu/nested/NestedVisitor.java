package org.pkstore.iommu.nested;

/**
 * What {@link NestedWalker} reports, in walk order: for each stage-1 level the stage-2 translation
 * of the entry's GPA, then the entry; at the end the stage-2 translation of the output GPA. Every
 * method has an empty default. {@link #NONE} is the visitor of the DMA path.
 */
public interface NestedVisitor {
    NestedVisitor NONE = new NestedVisitor() {};

    /**
     * Stage 2 translated {@code gpa} (READ for a table entry of stage-1 {@code level}, the access for
     * the output when {@code output}) to {@code result}: a host PA, or a negative stage-2 fault code.
     */
    default void stage2(int level, boolean output, long gpa, long result) {}

    /** The stage-1 entry {@code index} of the table at {@code tableGpa}, read at host PA {@code entryHpa}. */
    default void stage1(int level, long tableGpa, int index, long entryGpa, long entryHpa, long descriptor) {}
}
