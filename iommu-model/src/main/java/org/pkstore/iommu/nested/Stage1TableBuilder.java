package org.pkstore.iommu.nested;

/**
 * A guest kernel building a first-stage page table in its own RAM: it takes 4 KiB pages from a
 * range of guest-physical memory it set aside (its page allocator), zeroes each before use, and
 * writes descriptors at guest-physical addresses through {@link GuestPhysical}, in the format the
 * PASID entry / context descriptor will name. Leaves are written after the tables above them
 * exist, table entries only once, so a walker running beside the builder sees every entry either
 * absent or complete.
 *
 * <p>4 KiB leaves only (what the rehearsal's guest buffer needs); mapping over a present leaf is
 * refused, as io-pgtable refuses it (-EEXIST).
 */
public final class Stage1TableBuilder {
    private final FirstStageFormat format;
    private final GuestPhysical memory;
    private final long poolEnd;
    private long nextFree;
    private final long rootGpa;
    private long tablePages;

    /**
     * @param poolGpa first GPA of the pages this guest gives its page tables (4 KiB aligned)
     * @param poolBytes bytes of that pool
     */
    public Stage1TableBuilder(FirstStageFormat format, GuestPhysical memory, long poolGpa, long poolBytes) {
        if ((poolGpa & (FirstStageFormat.GRANULE - 1)) != 0 || poolBytes < FirstStageFormat.GRANULE) {
            throw new IllegalArgumentException("page-table pool must be page aligned and hold a page");
        }
        this.format = format;
        this.memory = memory;
        this.nextFree = poolGpa;
        this.poolEnd = poolGpa + poolBytes;
        this.rootGpa = allocate();
    }

    public FirstStageFormat format() { return format; }

    /** GPA of the root table: what the guest hands to BIND (VT-d FLPTR, CD.TTB0). */
    public long rootGpa() { return rootGpa; }

    /** Table pages taken from the pool so far, root included. */
    public long tablePages() { return tablePages; }

    /** Maps the 4 KiB page at {@code va} to the guest-physical page {@code gpa} with Prot bits {@code prot}. */
    public void map4k(long va, long gpa, int prot) {
        if (((va | gpa) & (FirstStageFormat.GRANULE - 1)) != 0 || format.inputProblem(va) != null) {
            throw new IllegalArgumentException(String.format("cannot map va 0x%x -> gpa 0x%x", va, gpa));
        }
        long table = rootGpa;
        int leafLevel = format.levels() - 1;
        for (int level = 0; level < leafLevel; level++) {
            long entry = table + (long) format.index(va, level) * 8;
            long d = memory.read(entry);
            if (!format.isPresent(d, level)) {
                long next = allocate();
                memory.write(entry, format.makeTable(next));
                table = next;
            } else if (format.isLeaf(d, level)) {
                throw new IllegalStateException(String.format("va 0x%x already mapped by a level-%d block", va, level));
            } else {
                table = format.tableAddress(d);
            }
        }
        long leaf = table + (long) format.index(va, leafLevel) * 8;
        if (format.isPresent(memory.read(leaf), leafLevel)) {
            throw new IllegalStateException(String.format("va 0x%x already mapped", va));
        }
        memory.write(leaf, format.makeLeaf(gpa, prot, leafLevel));
    }

    private long allocate() {
        if (nextFree + FirstStageFormat.GRANULE > poolEnd) {
            throw new IllegalStateException("guest page-table pool exhausted");
        }
        long page = nextFree;
        nextFree += FirstStageFormat.GRANULE;
        for (int i = 0; i < FirstStageFormat.ENTRIES; i++) {
            memory.write(page + i * 8L, 0);
        }
        tablePages++;
        return page;
    }
}
