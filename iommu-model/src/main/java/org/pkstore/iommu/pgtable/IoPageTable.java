package org.pkstore.iommu.pgtable;

import org.pkstore.iommu.Errno;
import org.pkstore.persist.PageTableFile;

import static org.pkstore.iommu.pgtable.PageTableGeometry.ENTRIES_PER_TABLE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEAF_LEVEL;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEVELS;
import static org.pkstore.iommu.pgtable.PageTableGeometry.PA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.PGSIZE_BITMAP;
import static org.pkstore.iommu.pgtable.PageTableGeometry.blockSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;
import static org.pkstore.iommu.pgtable.PageTableGeometry.entryIova;
import static org.pkstore.iommu.pgtable.PageTableGeometry.index;
import static org.pkstore.iommu.pgtable.PageTableGeometry.levelOfSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.pageCount;
import static org.pkstore.iommu.pgtable.PageTableGeometry.pageSize;

/**
 * The I/O page table of one IOMMU domain, kept in a {@link PageTableFile} so that it survives kexec:
 * the shape of Linux io-pgtable-arm (map and unmap descend one level per step) over either
 * {@link PageTableFormat}.
 *
 * <h2>Concurrency</h2>
 * One writer: callers serialise {@link #map} and {@link #unmap} (the domain's mapping lock). Readers
 * may walk at the same time, in this or another process, because every table is built completely
 * before the single release store that makes it reachable, and a table page is freed only after the
 * entry pointing to it was cleared. A concurrent reader should still use {@link DeviceTranslation},
 * whose free-sequence check catches a walk through a page that was freed and reused meanwhile;
 * {@link #iovaToPhys} does not.
 *
 * <h2>Allocation</h2>
 * {@link #map}, {@link #unmap} and {@link #iovaToPhys} allocate nothing on the heap and report
 * errors as negative errno values, never by exception. Scratch arrays are per table object, which
 * is safe because there is one writer.
 *
 * <h2>Trust</h2>
 * The writer trusts its own file except where a wrong pointer would make it touch memory outside
 * the table area: a table entry whose address is not a table page stops map with {@code -EIO} and
 * ends that unmap chunk. Run {@link PageTableVerifier} on a file of unknown provenance first.
 */
public final class IoPageTable {
    private final PageTableFile file;
    private final PageTableFormat format;
    private final PartialUnmapPolicy policy;
    private final long root;
    /** This process may write the file, so it is the tables' single writer. */
    private final boolean writer;
    private long pageSizes = PGSIZE_BITMAP;

    private long descriptorsWritten;
    private long tablePagesAllocated;
    private long tablePagesFreed;

    /** Table PA at each level of the current unmap descent, to free tables that became empty. */
    private final long[] pathTables = new long[LEVELS];
    /** Pages of a table chain being built before it is published. */
    private final long[] newTables = new long[LEVELS];

    private IoPageTable(PageTableFile file, PageTableFormat format, PartialUnmapPolicy policy, long root) {
        this.file = file;
        this.format = format;
        this.policy = policy;
        this.root = root;
        this.writer = !file.readOnly();
    }

    /**
     * A new, empty table: allocates the root table page and publishes it in the file header.
     *
     * @throws IllegalArgumentException when the file header names another format
     * @throws IllegalStateException when the file is read-only, already has a root, or is full
     */
    public static IoPageTable create(PageTableFile file, PageTableFormat format, PartialUnmapPolicy policy) {
        checkFormat(file, format);
        if (file.readOnly()) {
            throw new IllegalStateException(file.path() + " is open read-only");
        }
        if (file.rootPa() != 0) {
            throw new IllegalStateException(file.path() + " already has a root table at 0x"
                    + Long.toHexString(file.rootPa()) + "; use attach");
        }
        file.beginMutation();
        try {
            long root = file.allocatePage();
            if (root < 0) {
                throw new IllegalStateException(file.path() + " has no free page for a root table");
            }
            file.setRootPa(root);
            IoPageTable t = new IoPageTable(file, format, policy, root);
            t.tablePagesAllocated = 1;
            return t;
        } finally {
            file.endMutation();
        }
    }

    /**
     * A new, empty table whose root is NOT published in the file header: the fresh domain a hotswap
     * restore builds beside the preserved one while DMA continues on the old. Until
     * {@link #publishRoot()} nothing points to it, so a crash leaves only unreachable pages, which
     * the reachability sweep gives back.
     */
    public static IoPageTable createShadow(PageTableFile file, PageTableFormat format, PartialUnmapPolicy policy) {
        checkFormat(file, format);
        if (file.readOnly()) {
            throw new IllegalStateException(file.path() + " is open read-only");
        }
        long root = file.allocatePage();
        if (root < 0) {
            throw new IllegalStateException(file.path() + " has no free page for a root table");
        }
        IoPageTable t = new IoPageTable(file, format, policy, root);
        t.tablePagesAllocated = 1;
        return t;
    }

    /** Makes this table the file's table (one release store of the header's root word). */
    public void publishRoot() {
        file.setRootPa(root);
    }

    /**
     * Frees every table page of the tree at {@code rootPa}, which nothing may point to any more
     * (neither the file header nor any device-table entry). Children are freed before their
     * parents; descriptors are left as they are, since no walker can reach them. Bounded: each
     * page is freed once, pointers outside the table area or to free pages are not followed.
     *
     * @return the pages freed
     */
    public static long freeTree(PageTableFile file, PageTableFormat format, long rootPa) {
        if (rootPa == file.rootPa()) {
            throw new IllegalStateException("0x" + Long.toHexString(rootPa) + " is still the published root of "
                    + file.path());
        }
        java.util.BitSet seen = new java.util.BitSet();
        long[] order = new long[16];
        int n = 0;
        java.util.ArrayDeque<long[]> stack = new java.util.ArrayDeque<>();
        if (file.isTablePage(rootPa) && file.isAllocated(file.pageIndexOf(rootPa))) {
            stack.push(new long[] {rootPa, 0});
            seen.set((int) file.pageIndexOf(rootPa));
        }
        while (!stack.isEmpty()) {
            long[] t = stack.pop();
            if (n == order.length) {
                order = java.util.Arrays.copyOf(order, n * 2);
            }
            order[n++] = t[0];
            int level = (int) t[1];
            if (level == LEVELS - 1) {
                continue;
            }
            for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
                long d = file.readDescriptor(descriptorPa(t[0], i));
                if (format.isPresent(d, level) && format.isTable(d, level)) {
                    long child = format.tableAddress(d);
                    if (file.isTablePage(child) && file.isAllocated(file.pageIndexOf(child))
                            && !seen.get((int) file.pageIndexOf(child))) {
                        seen.set((int) file.pageIndexOf(child));
                        stack.push(new long[] {child, level + 1});
                    }
                }
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            file.freePage(order[i]);
        }
        return n;
    }

    /**
     * Adopts the root in the file header as it is: the reattach after kexec. O(1) and writes
     * nothing, so DMA through these tables is never disturbed. Works on a read-only file too (then
     * only {@link #iovaToPhys} and walks make sense).
     *
     * @throws IllegalStateException when the header names another format or has no valid root
     */
    public static IoPageTable attach(PageTableFile file, PageTableFormat format, PartialUnmapPolicy policy) {
        if (file.format() != format.id()) {
            throw new IllegalStateException(file.path() + " holds format " + file.format() + ", not "
                    + format.id() + " (" + format.name() + ")");
        }
        long root = file.rootPa();
        if (root == 0) {
            throw new IllegalStateException(file.path() + " has no root table: nothing to attach");
        }
        if (!file.isTablePage(root) || !file.isAllocated(file.pageIndexOf(root))) {
            throw new IllegalStateException(file.path() + ": root 0x" + Long.toHexString(root)
                    + " is not an allocated table page");
        }
        return new IoPageTable(file, format, policy, root);
    }

    private static void checkFormat(PageTableFile file, PageTableFormat format) {
        if (file.format() != format.id()) {
            throw new IllegalArgumentException(file.path() + " was created for format " + file.format()
                    + ", not " + format.id() + " (" + format.name() + ")");
        }
    }

    public long rootPa() { return root; }
    public PageTableFormat format() { return format; }
    public PageTableFile file() { return file; }
    public PartialUnmapPolicy partialUnmapPolicy() { return policy; }
    public long pageSizes() { return pageSizes; }

    /** Descriptor stores this object made (map, unmap, splits, publishes, clears). */
    public long descriptorsWritten() { return descriptorsWritten; }
    /** Table pages this object took from the file, the root included when it created it. */
    public long tablePagesAllocated() { return tablePagesAllocated; }
    /** Table pages this object gave back to the file. */
    public long tablePagesFreed() { return tablePagesFreed; }

    /**
     * Restricts the leaf sizes map may use (the domain's pgsize_bitmap), a non-empty subset of
     * 4K|2M|1G. Alignment checks use the smallest size in it, as Linux does.
     */
    public void setPageSizes(long bitmap) {
        if (bitmap == 0 || (bitmap & ~PGSIZE_BITMAP) != 0) {
            throw new IllegalArgumentException("page sizes 0x" + Long.toHexString(bitmap)
                    + " not a non-empty subset of 0x" + Long.toHexString(PGSIZE_BITMAP));
        }
        pageSizes = bitmap;
    }

    // ---- map ---------------------------------------------------------------------------------

    /**
     * Maps {@code [iova, iova + size)} to {@code [pa, pa + size)} as Linux __iommu_map does: in the
     * largest page sizes the alignment of iova and pa and the remaining size allow. If a chunk fails,
     * what this call mapped is unmapped again before the error is returned.
     *
     * @return 0, {@code -EINVAL} (size 0, unaligned, neither READ nor WRITE), {@code -ERANGE} (beyond
     *         2^48), {@code -EEXIST} (a mapping is in the way), {@code -ENOMEM} (file full), or
     *         {@code -EIO} (a table pointer outside the file's table area)
     */
    public int map(long iova, long pa, long size, int prot) {
        if (size <= 0) {
            return -Errno.EINVAL;
        }
        long minPage = Long.lowestOneBit(pageSizes);
        if (((iova | pa | size) & (minPage - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (iova < 0 || iova >= IOVA_LIMIT || size > IOVA_LIMIT - iova
                || pa < 0 || pa >= PA_LIMIT || size > PA_LIMIT - pa) {
            return -Errno.ERANGE;
        }
        if ((prot & (Prot.READ | Prot.WRITE)) == 0) {
            // Linux's io-pgtable silently maps nothing here; the model reports it
            return -Errno.EINVAL;
        }
        file.beginMutation();
        try {
            long origIova = iova;
            long mapped = 0;
            int ret = 0;
            chunks:
            while (mapped < size) {
                long remaining = size - mapped;
                long pgsize = pageSize(pageSizes, iova, pa, remaining);
                long count = pageCount(pageSizes, iova, pa, remaining, pgsize);
                for (long c = 0; c < count; c++) {
                    ret = mapPage(iova, pa, pgsize, prot);
                    if (ret != 0) {
                        break chunks;
                    }
                    iova += pgsize;
                    pa += pgsize;
                    mapped += pgsize;
                }
            }
            if (ret != 0 && mapped > 0) {
                unmapRange(origIova, mapped);
            }
            return ret;
        } finally {
            file.endMutation();
        }
    }

    /** Installs one leaf of {@code pgsize} bytes, descending one level per step. */
    private int mapPage(long iova, long pa, long pgsize, int prot) {
        int target = levelOfSize(pgsize);
        long leaf = format.makeLeaf(pa, prot, target);
        long table = root;
        for (int level = 0; level <= target; level++) {
            long dpa = descriptorPa(table, index(iova, level));
            long d = readOwn(dpa);
            if (!format.isPresent(d, level)) {
                if (level == target) {
                    write(dpa, leaf);
                    return 0;
                }
                return installTables(dpa, level, iova, leaf, target);
            }
            if (!format.isTable(d, level)) {
                // a leaf of this size or larger covers iova: the caller must unmap first
                return -Errno.EEXIST;
            }
            long next = format.tableAddress(d);
            if (!file.isTablePage(next)) {
                return -Errno.EIO;
            }
            if (level == target) {
                return replaceEmptySubtree(dpa, next, level, leaf);
            }
            table = next;
        }
        throw new AssertionError("unreachable");
    }

    /**
     * A block is wanted where a table is. If nothing under it is mapped (tables a kernel that never
     * frees, like io-pgtable-arm, leaves behind), one store swaps in the block and the unlinked
     * subtree is freed; otherwise -EEXIST.
     */
    private int replaceEmptySubtree(long dpa, long subtree, int level, long leaf) {
        if (subtreeHasLeaf(subtree, level + 1)) {
            return -Errno.EEXIST;
        }
        write(dpa, leaf);
        freeSubtree(subtree, level + 1);
        return 0;
    }

    /**
     * Builds the tables from {@code level + 1} down to {@code target} in fresh zeroed pages, puts
     * {@code leaf} in the last, and only then publishes the first with one release store at
     * {@code dpa}: a reader sees nothing or the whole chain.
     */
    private int installTables(long dpa, int level, long iova, long leaf, int target) {
        int n = target - level;
        if (!allocateNewTables(n)) {
            return -Errno.ENOMEM;
        }
        for (int k = 0; k < n; k++) {
            long v = k == n - 1 ? leaf : format.makeTable(newTables[k + 1]);
            write(descriptorPa(newTables[k], index(iova, level + 1 + k)), v);
        }
        write(dpa, format.makeTable(newTables[0]));
        return 0;
    }

    /** Fills newTables[0..n) with fresh pages, or frees what it took and returns false. */
    private boolean allocateNewTables(int n) {
        for (int k = 0; k < n; k++) {
            long p = file.allocatePage();
            if (p < 0) {
                for (int j = 0; j < k; j++) {
                    freeTable(newTables[j]); // never published, so no reader can be in it
                }
                return false;
            }
            tablePagesAllocated++;
            newTables[k] = p;
        }
        return true;
    }

    // ---- unmap -------------------------------------------------------------------------------

    /**
     * Unmaps from {@code iova} as Linux iommu_unmap does: chunk by chunk in the largest page size
     * the IOVA alignment and remaining size allow, stopping at the first chunk that unmaps nothing
     * (a hole, or a partial block with {@link PartialUnmapPolicy#REFUSE}). A chunk that meets a
     * table unmaps everything under it. Table pages left empty are unlinked, then freed.
     *
     * @return bytes unmapped; 0 for size 0, unaligned arguments or a range beyond 2^48
     */
    public long unmap(long iova, long size) {
        if (size <= 0) {
            return 0;
        }
        long minPage = Long.lowestOneBit(pageSizes);
        if (((iova | size) & (minPage - 1)) != 0) {
            return 0;
        }
        if (iova < 0 || iova >= IOVA_LIMIT || size > IOVA_LIMIT - iova) {
            return 0;
        }
        file.beginMutation();
        try {
            return unmapRange(iova, size);
        } finally {
            file.endMutation();
        }
    }

    private long unmapRange(long iova, long size) {
        long unmapped = 0;
        while (unmapped < size) {
            long pgsize = pageSize(pageSizes, iova, iova, size - unmapped);
            long done = unmapPage(iova, pgsize);
            if (done == 0) {
                break;
            }
            iova += done;
            unmapped += done;
        }
        return unmapped;
    }

    /** Unmaps the {@code pgsize} chunk at {@code iova}; returns pgsize or 0. */
    private long unmapPage(long iova, long pgsize) {
        int target = levelOfSize(pgsize);
        long table = root;
        for (int level = 0; level <= target; level++) {
            pathTables[level] = table;
            long dpa = descriptorPa(table, index(iova, level));
            long d = readOwn(dpa);
            if (!format.isPresent(d, level)) {
                return 0;
            }
            if (level == target) {
                write(dpa, 0);
                if (format.isTable(d, level)) {
                    freeSubtree(format.tableAddress(d), level + 1); // unlinked just above
                }
                releaseEmptyTables(iova, level);
                return pgsize;
            }
            if (format.isLeaf(d, level)) {
                if (policy == PartialUnmapPolicy.REFUSE) {
                    return 0;
                }
                return splitBlock(dpa, d, iova, level, target) ? pgsize : 0;
            }
            long next = format.tableAddress(d);
            if (!format.isTable(d, level) || !file.isTablePage(next)) {
                return 0;
            }
            table = next;
        }
        throw new AssertionError("unreachable");
    }

    /**
     * Replaces the block {@code blockDesc} at {@code dpa} (level {@code level}) by tables down to
     * {@code target} that map all of it except the {@code target}-sized piece at {@code iova}. The
     * tables are filled before one release store publishes them, so every other IOVA of the block
     * translates the same before, during and after.
     */
    private boolean splitBlock(long dpa, long blockDesc, long iova, int level, int target) {
        int n = target - level;
        if (!allocateNewTables(n)) {
            return false; // Linux also unmaps nothing when the split table cannot be allocated
        }
        int prot = format.protOf(blockDesc, level);
        long blockIova = iova & ~(blockSize(level) - 1);
        long blockPa = format.outputAddress(blockDesc, level);
        for (int k = 0; k < n; k++) {
            int l = level + 1 + k;
            long tableIova = iova & ~(blockSize(l - 1) - 1);
            int hole = index(iova, l);
            for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
                if (i == hole) {
                    if (k < n - 1) {
                        write(descriptorPa(newTables[k], i), format.makeTable(newTables[k + 1]));
                    }
                    continue;
                }
                long pa = blockPa + (entryIova(tableIova, l, i) - blockIova);
                write(descriptorPa(newTables[k], i), format.makeLeaf(pa, prot, l));
            }
        }
        write(dpa, format.makeTable(newTables[0]));
        return true;
    }

    /**
     * After an entry of the table at {@code level} on the current path was cleared: while that
     * table is empty (and not the root), clear its parent entry first, then free it.
     */
    private void releaseEmptyTables(long iova, int level) {
        for (int l = level; l > 0; l--) {
            long t = pathTables[l];
            if (!isEmpty(t, index(iova, l))) {
                return;
            }
            write(descriptorPa(pathTables[l - 1], index(iova, l - 1)), 0);
            freeTable(t);
        }
    }

    /**
     * Whether a table holds no entry, scanning outwards from {@code cleared}, the entry just
     * cleared: a range is unmapped in ascending or descending order, so a live neighbour is usually
     * one step away and the whole scan (512 reads) is paid once per table, when it really is empty.
     */
    private boolean isEmpty(long tablePa, int cleared) {
        for (int d = 1; d < ENTRIES_PER_TABLE; d++) {
            int up = cleared + d;
            int down = cleared - d;
            if (up >= ENTRIES_PER_TABLE && down < 0) {
                break;
            }
            if (up < ENTRIES_PER_TABLE && readOwn(descriptorPa(tablePa, up)) != 0) {
                return false;
            }
            if (down >= 0 && readOwn(descriptorPa(tablePa, down)) != 0) {
                return false;
            }
        }
        return readOwn(descriptorPa(tablePa, cleared)) == 0;
    }

    /**
     * The writer reading its own tables: a plain load. Only the single writer (callers serialise
     * map, unmap and translate on one IoPageTable) stores into them, so it always sees its own
     * last store; readers in other processes use {@link DeviceTranslation}'s acquire loads, and a
     * table attached to a read-only file (another process writes it) reads with acquire loads too.
     */
    private long readOwn(long pa) {
        return writer ? file.readDescriptorPlain(pa) : file.readDescriptor(pa);
    }

    /** True if any leaf (or anything present that is not a table) sits under {@code tablePa}. */
    private boolean subtreeHasLeaf(long tablePa, int level) {
        for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
            long d = file.readDescriptor(descriptorPa(tablePa, i));
            if (!format.isPresent(d, level)) {
                continue;
            }
            if (!format.isTable(d, level)) {
                return true;
            }
            long next = format.tableAddress(d);
            if (!file.isTablePage(next) || subtreeHasLeaf(next, level + 1)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Frees a table and every table under it. The caller has already cleared the entry that pointed
     * to it, so nothing reaches these pages any more. Depth is bounded by the level; a page already
     * free (a shared or cyclic table in a damaged file) is skipped rather than freed twice.
     */
    private void freeSubtree(long tablePa, int level) {
        if (!file.isTablePage(tablePa) || !file.isAllocated(file.pageIndexOf(tablePa))) {
            return;
        }
        if (level < LEAF_LEVEL) {
            for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
                long d = file.readDescriptor(descriptorPa(tablePa, i));
                if (format.isTable(d, level)) {
                    freeSubtree(format.tableAddress(d), level + 1);
                }
            }
        }
        if (tablePa != root) {
            freeTable(tablePa);
        }
    }

    private void freeTable(long tablePa) {
        file.freePage(tablePa);
        tablePagesFreed++;
    }

    private void write(long dpa, long value) {
        file.writeDescriptor(dpa, value);
        descriptorsWritten++;
    }

    // ---- lookup ------------------------------------------------------------------------------

    /**
     * Linux iova_to_phys: the PA {@code iova} translates to, or 0 when nothing maps it (so a mapping
     * of PA 0 is indistinguishable, as in Linux). Allocation-free; no permission check.
     */
    public long iovaToPhys(long iova) {
        if (iova < 0 || iova >= IOVA_LIMIT) {
            return 0;
        }
        long table = root;
        for (int level = 0; level < LEVELS; level++) {
            long d = readOwn(descriptorPa(table, index(iova, level)));
            if (format.isLeaf(d, level)) {
                return format.outputAddress(d, level) | (iova & (blockSize(level) - 1));
            }
            if (!format.isTable(d, level)) {
                return 0;
            }
            table = format.tableAddress(d);
            if (!file.isTablePage(table)) {
                return 0;
            }
        }
        return 0;
    }

    /**
     * LIVE_UPDATE's check: -1 when {@code [iova, iova + size)} maps to {@code [pa, pa + size)} with
     * {@code prot}, else the first IOVA that does not ({@link MappedRangeCheck}). Allocation-free.
     */
    public long firstMismatch(long iova, long size, long pa, int prot) {
        return MappedRangeCheck.firstMismatch(file, format, root, iova, size, pa, prot);
    }

    /** Bytes mapped, summed over all leaves by a full walk. Not O(1); allocates the walker. */
    public long mappedBytes() {
        long[] sum = new long[1];
        new PageTableWalker(file, format).walk(root, 0, IOVA_LIMIT, new PageTableVisitor() {
            @Override
            public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                sum[0] += blockSize(level);
            }
        });
        return sum[0];
    }

    @Override
    public String toString() {
        return "IoPageTable[" + format.name() + ", root 0x" + Long.toHexString(root) + ", " + file.path() + "]";
    }
}
