package org.pkstore.persist;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;

import static org.pkstore.persist.PageTableFileDescriptor.*;

/**
 * A pkernfs page-table file (layout in {@link PageTableFileDescriptor} and docs/FORMAT.md): a fixed
 * capacity of 4 KiB pages in one Chronicle Bytes mapping, with a crash-safe page allocator.
 *
 * <h2>Allocator crash safety</h2>
 * A page is taken by a CAS that sets its bitmap bit <em>before</em> it is zeroed and used, and a page
 * is given back only after the caller has cleared every descriptor that pointed to it. A SIGKILL at
 * any instant therefore leaves at worst a page that is allocated but unreachable (a leak, which
 * {@link #reclaimUnreachable} gives back), never a page that is reachable but free, so no page is ever
 * handed out twice.
 *
 * <h2>Readers in other processes</h2>
 * Descriptors are read with acquire loads and written with release stores. A new page is zeroed
 * and filled before the descriptor that publishes it is stored. Before a page is freed, the free
 * sequence is bumped: a reader that samples it before and after a walk knows whether any page it
 * may have walked through was recycled meanwhile.
 *
 * <p>Map, unmap and translate go through {@link #readDescriptor}, {@link #writeDescriptor},
 * {@link #allocatePage} and {@link #freePage}, none of which allocates on the Java heap.
 */
public final class PageTableFile implements AutoCloseable {
    private final MappedRegion region;
    /**
     * Where descriptors are loaded from: for a file opened read-write (a table an earlier process
     * wrote, after kexec) a second, read-only mapping of the same file, else {@link #region}. The
     * same page-cache pages, so a store through {@link #region} is seen here at once; but on this
     * machine (a KVM guest) a process's first load from a page costs ~8-15 us through a writable
     * shared mapping and ~2-4 us through a read-only one, and the live-update MAP_DMA's check
     * loads from ~2,000 leaf tables per container (docs/BENCHMARKS.md, session 5).
     */
    private final MappedRegion loads;
    private final long capacityPages;
    private final long paBase;
    private final int bitmapPages;
    private final long firstTablePage;
    private final long bitmapWords;
    private final int kind;
    private final int format;
    private final long ownerId;
    /** What a descriptor store here is for the crash-point count: a device-table word or a table descriptor. */
    private final PersistentStores.Kind storeKind;

    private long allocHintWord;
    private long descriptorWrites;
    private long pagesAllocated;
    private long pagesFreed;

    private PageTableFile(MappedRegion region) {
        this(region, region);
    }

    private PageTableFile(MappedRegion region, MappedRegion loads) {
        this.region = region;
        this.loads = loads;
        this.capacityPages = region.readLong(CAPACITY_PAGES_OFFSET);
        this.paBase = region.readLong(PA_BASE_OFFSET);
        this.bitmapPages = region.readInt(BITMAP_PAGES_OFFSET);
        this.firstTablePage = PageTableFileDescriptor.firstTablePage(bitmapPages);
        this.bitmapWords = (capacityPages + 63) / 64;
        this.kind = region.readInt(KIND_OFFSET);
        this.format = region.readInt(FORMAT_OFFSET);
        this.ownerId = region.readLong(OWNER_ID_OFFSET);
        this.storeKind = kind == KIND_IOMMU_TABLES ? PersistentStores.Kind.DEVICE_TABLE_WORD
                : PersistentStores.Kind.DESCRIPTOR;
    }

    /**
     * Creates a new, empty file. It is built under the name {@code path + ".creating"}, the version
     * word is written last, and the finished file is renamed to {@code path}: a crash during
     * creation leaves only a temporary file, which the next mount removes, never a half-built file
     * under its real name.
     */
    public static PageTableFile create(Path path, int kind, int format, long capacityPages, long paBase,
                                       long ownerId, long generation) {
        if (kind != KIND_DOMAIN_TABLES && kind != KIND_IOMMU_TABLES) {
            throw new IllegalArgumentException("unknown kind " + kind);
        }
        if (capacityPages < MIN_CAPACITY_PAGES || capacityPages > MAX_CAPACITY_PAGES) {
            throw new IllegalArgumentException("capacity " + capacityPages + " pages outside ["
                    + MIN_CAPACITY_PAGES + ", " + MAX_CAPACITY_PAGES + "]");
        }
        if ((paBase & (PAGE_SIZE - 1)) != 0 || paBase <= 0 || paBase + capacityPages * PAGE_SIZE > (1L << 48)) {
            throw new IllegalArgumentException("physical base 0x" + Long.toHexString(paBase) + " invalid");
        }
        if (Files.exists(path)) {
            throw new PersistException(path + " already exists");
        }
        int bitmapPages = bitmapPagesFor(capacityPages);
        if (PageTableFileDescriptor.firstTablePage(bitmapPages) >= capacityPages) {
            throw new IllegalArgumentException("capacity " + capacityPages + " leaves no table page");
        }
        // built under a temporary name and renamed when complete, version word last (docs/FORMAT.md)
        MappedRegion r = MappedRegion.create(path, capacityPages * PAGE_SIZE);
        try {
            r.writeInt(VERSION_OFFSET, 0);
            r.writeLong(MAGIC_OFFSET, MAGIC);
            r.writeInt(PAGE_SIZE_OFFSET, PAGE_SIZE);
            FixedString.write(r, COMPAT_OFFSET, compatFor(kind), COMPAT_LENGTH);
            r.writeLong(CAPACITY_PAGES_OFFSET, capacityPages);
            r.writeLong(PA_BASE_OFFSET, paBase);
            r.writeInt(BITMAP_PAGES_OFFSET, bitmapPages);
            r.writeInt(KIND_OFFSET, kind);
            r.writeInt(FORMAT_OFFSET, format);
            r.writeInt(RESERVED_OFFSET, 0);
            r.writeLong(OWNER_ID_OFFSET, ownerId);
            r.writeLong(CREATED_GENERATION_OFFSET, generation);
            r.writeLong(CHECKSUM_OFFSET, Checksums.headerCrc32c(r, CHECKSUMMED_LENGTH, VERSION_OFFSET, LAYOUT_VERSION));
            r.writeLong(ROOT_PA_OFFSET, 0);
            r.writeLong(GENERATION_OFFSET, generation);
            r.writeInt(CLEAN_OFFSET, 0);
            r.writeLong(FREE_SEQ_OFFSET, 0);
            r.writeLong(MUTATION_SEQ_OFFSET, 0);
            r.writeLong(WRITER_PID_OFFSET, ProcessHandle.current().pid());
            // header and bitmap pages, and the bits past the capacity, are never allocatable
            long reserved = PageTableFileDescriptor.firstTablePage(bitmapPages);
            for (long p = 0; p < reserved; p++) {
                setBitUnsync(r, p);
            }
            long words = (capacityPages + 63) / 64;
            for (long p = capacityPages; p < words * 64; p++) {
                setBitUnsync(r, p);
            }
            r.writeOrderedInt(VERSION_OFFSET, LAYOUT_VERSION);
            r.publish();
        } catch (RuntimeException e) {
            r.abandon();
            throw e;
        }
        return new PageTableFile(r);
    }

    private static void setBitUnsync(MappedRegion r, long page) {
        long off = BITMAP_OFFSET + (page >>> 6) * Long.BYTES;
        r.writeLong(off, r.readLong(off) | (1L << (page & 63)));
    }

    /** Opens for reading only: validates and writes nothing. Safe beside a live writer. */
    public static PageTableFile openReadOnly(Path path) {
        MappedRegion r = MappedRegion.mapReadOnly(validateSize(path));
        try {
            validate(path, r);
            return new PageTableFile(r);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /**
     * Validates a table file from its header page alone (read, not mapped: the file may be 64 MiB
     * and more) and returns that page: what the mount's acceptance and the handover check read.
     */
    static FileHead validateHeader(Path path) {
        FileHead head = FileHead.read(validateSize(path), PAGE_SIZE);
        validate(path, head);
        return head;
    }

    /**
     * Opens for the one writer: validates everything first (and writes nothing if that fails), then
     * records the writer's generation and pid and marks the file in use.
     */
    public static PageTableFile openReadWrite(Path path, long generation) {
        validateSize(path);
        long size;
        try {
            size = Files.size(path);
        } catch (java.io.IOException e) {
            throw new PersistException(path + ": " + e.getMessage(), e);
        }
        // one mapping, of the file's own size (so nothing grows it); validated before any store
        MappedRegion r = MappedRegion.mapReadWrite(path, size);
        try {
            validate(path, r);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        MappedRegion loads;
        try {
            loads = MappedRegion.mapReadOnly(path);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        PageTableFile f = new PageTableFile(r, loads);
        f.markInUse(generation);
        return f;
    }

    private static Path validateSize(Path path) {
        try {
            if (!Files.isRegularFile(path)) {
                throw new PersistException(path + ": no such page-table file");
            }
            long size = Files.size(path);
            if (size < PAGE_SIZE) {
                throw new CorruptFileException(path, size, "truncated: " + size
                        + " bytes is shorter than the " + PAGE_SIZE + "-byte header page");
            }
            return path;
        } catch (java.io.IOException e) {
            throw new PersistException(path + ": " + e.getMessage(), e);
        }
    }

    /** Every refusal names the offset of the field that is wrong. Reads only. */
    static void validate(Path path, FileBytes r) {
        long magic = r.readLong(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptFileException(path, MAGIC_OFFSET, String.format(
                    "wrong magic 0x%016x, expected 0x%016x (\"PKSTPGT\"): not a pkstore page-table file", magic, MAGIC));
        }
        int version = r.readVolatileInt(VERSION_OFFSET);
        if (version == 0) {
            throw new CorruptFileException(path, VERSION_OFFSET,
                    "layout version is 0: the file was never completely created");
        }
        if (version != LAYOUT_VERSION) {
            throw new CorruptFileException(path, VERSION_OFFSET, "unknown layout version " + version
                    + " (this pkstore reads version " + LAYOUT_VERSION + ")");
        }
        int pageSize = r.readInt(PAGE_SIZE_OFFSET);
        if (pageSize != PAGE_SIZE) {
            throw new CorruptFileException(path, PAGE_SIZE_OFFSET, "page size " + pageSize + ", expected " + PAGE_SIZE);
        }
        int kind = r.readInt(KIND_OFFSET);
        if (kind != KIND_DOMAIN_TABLES && kind != KIND_IOMMU_TABLES) {
            throw new CorruptFileException(path, KIND_OFFSET, "unknown file kind " + kind);
        }
        String compat = FixedString.read(r, COMPAT_OFFSET, COMPAT_LENGTH);
        if (!compat.equals(compatFor(kind))) {
            throw new CorruptFileException(path, COMPAT_OFFSET, "incompatible format \"" + compat
                    + "\", expected \"" + compatFor(kind) + "\""
                    + (compat.equals(COMPAT_IOMMU_TABLES_V1) ? ": a device table of the layout before VT-d scalable mode"
                    + " and the SMMUv3 nested STE (docs/FORMAT.md 6.5), not readable by this pkstore" : ""));
        }
        long stored = r.readLong(CHECKSUM_OFFSET);
        long actual = Checksums.crc32c(r, 0, CHECKSUMMED_LENGTH);
        if (stored != actual) {
            throw new CorruptFileException(path, CHECKSUM_OFFSET, String.format(
                    "header checksum mismatch: stored 0x%08x, computed 0x%08x over bytes [0, %d)",
                    stored, actual, CHECKSUMMED_LENGTH));
        }
        long capacity = r.readLong(CAPACITY_PAGES_OFFSET);
        if (capacity < MIN_CAPACITY_PAGES || capacity > MAX_CAPACITY_PAGES) {
            throw new CorruptFileException(path, CAPACITY_PAGES_OFFSET, "capacity " + capacity + " pages out of range");
        }
        if (r.size() != capacity * PAGE_SIZE) {
            throw new CorruptFileException(path, r.size() < capacity * PAGE_SIZE ? r.size() : CAPACITY_PAGES_OFFSET,
                    (r.size() < capacity * PAGE_SIZE ? "truncated: " : "size mismatch: ") + "header says "
                            + capacity + " pages (" + capacity * PAGE_SIZE + " bytes), file has " + r.size() + " bytes");
        }
        int bitmapPages = r.readInt(BITMAP_PAGES_OFFSET);
        if (bitmapPages != bitmapPagesFor(capacity)) {
            throw new CorruptFileException(path, BITMAP_PAGES_OFFSET, "bitmap pages " + bitmapPages
                    + " does not match capacity " + capacity);
        }
        long paBase = r.readLong(PA_BASE_OFFSET);
        if ((paBase & (PAGE_SIZE - 1)) != 0 || paBase <= 0 || paBase + capacity * PAGE_SIZE > (1L << 48)) {
            throw new CorruptFileException(path, PA_BASE_OFFSET, "physical base 0x" + Long.toHexString(paBase)
                    + " is not page aligned or puts the file beyond 2^48");
        }
        long root = r.readVolatileLong(ROOT_PA_OFFSET);
        if (root != 0 && ((root & (PAGE_SIZE - 1)) != 0 || root < paBase + PageTableFileDescriptor.firstTablePage(bitmapPages) * PAGE_SIZE
                || root >= paBase + capacity * PAGE_SIZE)) {
            throw new CorruptFileException(path, ROOT_PA_OFFSET, "root table PA 0x" + Long.toHexString(root)
                    + " is not a table page of this file");
        }
        int clean = r.readVolatileInt(CLEAN_OFFSET);
        if (clean != 0 && clean != 1) {
            throw new CorruptFileException(path, CLEAN_OFFSET, "clean flag " + clean + " is neither 0 nor 1");
        }
    }

    // ---- header ----------------------------------------------------------------------------

    public Path path() { return region.path(); }
    public boolean readOnly() { return region.readOnly(); }
    public int kind() { return kind; }
    public int format() { return format; }
    public long ownerId() { return ownerId; }
    public long capacityPages() { return capacityPages; }
    public long paBase() { return paBase; }
    public long paLimit() { return paBase + capacityPages * PAGE_SIZE; }
    public int bitmapPages() { return bitmapPages; }
    public long firstTablePage() { return firstTablePage; }
    public long createdGeneration() { return region.readLong(CREATED_GENERATION_OFFSET); }
    public long rootPa() { return region.readVolatileLong(ROOT_PA_OFFSET); }
    public long generation() { return region.readVolatileLong(GENERATION_OFFSET); }
    public boolean clean() { return region.readVolatileInt(CLEAN_OFFSET) == 1; }
    public long freeSeq() { return region.readVolatileLong(FREE_SEQ_OFFSET); }
    public long mutationSeq() { return region.readVolatileLong(MUTATION_SEQ_OFFSET); }
    public long writerPid() { return region.readVolatileLong(WRITER_PID_OFFSET); }
    public String compat() { return FixedString.read(region, COMPAT_OFFSET, COMPAT_LENGTH); }
    public MappedRegion region() { return region; }

    /** Publishes a new root: a release store, so readers see a fully built table or the old one. */
    public void setRootPa(long pa) {
        if (pa != 0 && !isTablePage(pa)) {
            throw new IllegalArgumentException("0x" + Long.toHexString(pa) + " is not a table page of " + path());
        }
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedLong(ROOT_PA_OFFSET, pa);
    }

    public void markInUse(long generation) {
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedLong(GENERATION_OFFSET, generation);
        region.writeOrderedLong(WRITER_PID_OFFSET, ProcessHandle.current().pid());
        region.writeOrderedInt(CLEAN_OFFSET, 0);
    }

    public void markClean() {
        if (mutationSeq() % 2 != 0) {
            throw new PersistException(path() + ": cannot mark clean while an update is under way");
        }
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedInt(CLEAN_OFFSET, 1);
    }

    /** Mutation sequence: odd from begin to end, so a snapshot can tell a quiet moment. */
    public void beginMutation() {
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedLong(MUTATION_SEQ_OFFSET, region.readLong(MUTATION_SEQ_OFFSET) | 1);
    }

    public void endMutation() {
        long s = region.readLong(MUTATION_SEQ_OFFSET);
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedLong(MUTATION_SEQ_OFFSET, (s | 1) + 1);
    }

    /** After a crash the sequence may be left odd; the recovering writer evens it. */
    public void resetMutation() {
        long s = region.readLong(MUTATION_SEQ_OFFSET);
        if ((s & 1) != 0) {
            PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
            region.writeOrderedLong(MUTATION_SEQ_OFFSET, s + 1);
        }
    }

    // ---- table memory ------------------------------------------------------------------------

    /** True when {@code pa} is the start of a page that tables may occupy (not header or bitmap). */
    public boolean isTablePage(long pa) {
        return (pa & (PAGE_SIZE - 1)) == 0 && pa >= paBase + firstTablePage * PAGE_SIZE && pa < paLimit();
    }

    /** True when {@code pa} is an 8-byte aligned address inside the table area. */
    public boolean containsDescriptor(long pa) {
        return (pa & 7) == 0 && pa >= paBase + firstTablePage * PAGE_SIZE && pa < paLimit();
    }

    public long pageIndexOf(long pa) { return (pa - paBase) >>> PAGE_SHIFT; }
    public long paOfPage(long pageIndex) { return paBase + (pageIndex << PAGE_SHIFT); }

    /** Acquire load of the descriptor at {@code pa}; the caller bounds {@code pa}. */
    public long readDescriptor(long pa) {
        return loads.readVolatileLong(pa - paBase);
    }

    /**
     * How many of the {@code count} descriptors from {@code pa} on are {@code first},
     * {@code first + step}, ... in a row (acquire loads, as {@link #readDescriptor}): a range walk
     * compares a table's run of leaves that continue one another in one call. The caller bounds
     * {@code pa} as for {@link #readDescriptor}; allocates nothing.
     */
    public int descriptorRun(long pa, int count, long first, long step) {
        return loads.arithmeticRun(pa - paBase, count, first, step);
    }

    /**
     * Plain load of the descriptor at {@code pa}, for the single writer reading what it wrote
     * itself (no ordering needed); every other reader uses {@link #readDescriptor}.
     */
    public long readDescriptorPlain(long pa) {
        return region.readLong(pa - paBase);
    }

    /** Release store of a descriptor: everything written before it is visible to whoever reads it. */
    public void writeDescriptor(long pa, long value) {
        PersistentStores.store(storeKind);
        region.writeOrderedLong(pa - paBase, value);
        descriptorWrites++;
    }

    /**
     * Takes a free page, zeroes it and returns its PA, or -1 when the file is full. The bitmap bit
     * is set (CAS) before the page is touched.
     */
    public long allocatePage() {
        for (long n = 0; n < bitmapWords; n++) {
            long w = allocHintWord + n;
            if (w >= bitmapWords) {
                w -= bitmapWords;
            }
            long off = BITMAP_OFFSET + w * Long.BYTES;
            long word = region.readVolatileLong(off);
            while (word != -1L) {
                int bit = Long.numberOfTrailingZeros(~word);
                PersistentStores.store(PersistentStores.Kind.BITMAP);
                if (region.compareAndSwapLong(off, word, word | (1L << bit))) {
                    allocHintWord = w;
                    long pa = paOfPage(w * 64 + bit);
                    region.zero(pa - paBase, PAGE_SIZE);
                    pagesAllocated++;
                    return pa;
                }
                word = region.readVolatileLong(off);
            }
        }
        return -1;
    }

    /**
     * Takes {@code count} consecutive free pages (for structures the hardware indexes linearly, such
     * as an SMMUv3 stream table), zeroed; returns the first PA or -1.
     */
    public long allocateContiguous(int count) {
        if (count < 1) {
            // count 0 used to "succeed" and return the PA of a page it had not taken
            throw new IllegalArgumentException("cannot allocate " + count + " contiguous pages");
        }
        if (count == 1) {
            return allocatePage();
        }
        long run = 0;
        for (long p = firstTablePage; p < capacityPages; p++) {
            run = isAllocated(p) ? 0 : run + 1;
            if (run == count) {
                long first = p - count + 1;
                for (long q = first; q <= p; q++) {
                    if (!trySetBit(q)) {
                        for (long u = first; u < q; u++) {
                            clearBit(u);
                        }
                        return -1;
                    }
                }
                region.zero((first << PAGE_SHIFT), (long) count * PAGE_SIZE);
                pagesAllocated += count;
                return paOfPage(first);
            }
        }
        return -1;
    }

    private boolean trySetBit(long page) {
        long off = BITMAP_OFFSET + (page >>> 6) * Long.BYTES;
        long mask = 1L << (page & 63);
        while (true) {
            long word = region.readVolatileLong(off);
            if ((word & mask) != 0) {
                return false;
            }
            PersistentStores.store(PersistentStores.Kind.BITMAP);
            if (region.compareAndSwapLong(off, word, word | mask)) {
                return true;
            }
        }
    }

    private void clearBit(long page) {
        long off = BITMAP_OFFSET + (page >>> 6) * Long.BYTES;
        long mask = 1L << (page & 63);
        while (true) {
            long word = region.readVolatileLong(off);
            PersistentStores.store(PersistentStores.Kind.BITMAP);
            if (region.compareAndSwapLong(off, word, word & ~mask)) {
                return;
            }
        }
    }

    /**
     * Gives a page back. The caller must already have cleared every descriptor that pointed to it;
     * the free sequence is bumped first so that a concurrent walker in another process retries.
     */
    public void freePage(long pa) {
        if (!isTablePage(pa)) {
            throw new IllegalArgumentException("0x" + Long.toHexString(pa) + " is not a table page of " + path());
        }
        long page = pageIndexOf(pa);
        if (!isAllocated(page)) {
            throw new IllegalStateException("double free of page 0x" + Long.toHexString(pa) + " in " + path());
        }
        PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
        region.writeOrderedLong(FREE_SEQ_OFFSET, region.readLong(FREE_SEQ_OFFSET) + 1);
        clearBit(page);
        pagesFreed++;
    }

    public boolean isAllocated(long pageIndex) {
        if (pageIndex < 0 || pageIndex >= capacityPages) {
            return false;
        }
        long word = region.readVolatileLong(BITMAP_OFFSET + (pageIndex >>> 6) * Long.BYTES);
        return (word & (1L << (pageIndex & 63))) != 0;
    }

    /** Number of allocated table pages (header and bitmap not counted). */
    public long allocatedTablePages() {
        long n = 0;
        for (long w = 0; w < bitmapWords; w++) {
            n += Long.bitCount(region.readVolatileLong(BITMAP_OFFSET + w * Long.BYTES));
        }
        return n - firstTablePage - (bitmapWords * 64 - capacityPages);
    }

    /**
     * The reachability sweep: frees every allocated table page whose index is not set in
     * {@code reachablePages}. Only the single writer may call it, with no update under way (at
     * mount recovery, or from {@code pkstore verify --repair} on a mount no host holds).
     *
     * @return the number of pages reclaimed
     */
    public long reclaimUnreachable(BitSet reachablePages) {
        long reclaimed = 0;
        for (long p = firstTablePage; p < capacityPages; p++) {
            if (isAllocated(p) && !reachablePages.get((int) p)) {
                PersistentStores.store(PersistentStores.Kind.TABLE_HEADER);
                region.writeOrderedLong(FREE_SEQ_OFFSET, region.readLong(FREE_SEQ_OFFSET) + 1);
                clearBit(p);
                reclaimed++;
            }
        }
        pagesFreed += reclaimed;
        return reclaimed;
    }

    // ---- counters (this process only) -------------------------------------------------------

    public long descriptorWrites() { return descriptorWrites; }
    public long pagesAllocated() { return pagesAllocated; }
    public long pagesFreed() { return pagesFreed; }

    @Override
    public void close() {
        if (loads != region) {
            loads.close();
        }
        region.close();
    }
}
