package org.pkstore.persist;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The mount's superblock, {@code pkernfs.super}: generation (boot) counter, clean-shutdown flag and
 * the physical address windows handed out to files so far.
 *
 * <pre>
 *  offset  size  field
 *  0       8     magic "PKSTSUPR"
 *  8       4     layout version (u32, published last)
 *  12      4     reserved, 0
 *  16      32    compatibility string "pkstore-pkernfs-v1", NUL padded
 *  48      8     creation time, ms since the epoch
 *  56      8     CRC-32C of bytes [0, 56)
 *  --- mutable
 *  64      8     generation: incremented by every read-write mount (every boot)
 *  72      4     clean flag: 1 after a clean unmount, 0 while a writer holds the mount
 *  76      4     reserved
 *  80      8     pid of the last writer
 *  88      8     next free PA for table files (grows up from 0x4000_0000_0000)
 *  96      8     next free PA for guest memory (grows up from 0x1_0000_0000)
 *  104     8     time of the last read-write mount, ms
 *  112     8     number of recoveries from an unclean end
 * </pre>
 */
public final class Superblock implements AutoCloseable {
    public static final String FILE_NAME = "pkernfs.super";
    public static final long MAGIC = 0x5250_5553_5453_4B50L; // "PKSTSUPR"
    public static final int LAYOUT_VERSION = 1;
    public static final String COMPAT = "pkstore-pkernfs-v1";
    public static final int SIZE = 4096;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int RESERVED_OFFSET = VERSION_OFFSET + Integer.BYTES;
    public static final int COMPAT_OFFSET = RESERVED_OFFSET + Integer.BYTES;
    public static final int COMPAT_LENGTH = 32;
    public static final int CREATED_OFFSET = COMPAT_OFFSET + COMPAT_LENGTH;
    public static final int CHECKSUM_OFFSET = CREATED_OFFSET + Long.BYTES;
    public static final int CHECKSUMMED_LENGTH = CHECKSUM_OFFSET;
    public static final int GENERATION_OFFSET = CHECKSUM_OFFSET + Long.BYTES;
    public static final int CLEAN_OFFSET = GENERATION_OFFSET + Long.BYTES;
    public static final int WRITER_PID_OFFSET = CLEAN_OFFSET + 2 * Integer.BYTES;
    public static final int NEXT_TABLE_PA_OFFSET = WRITER_PID_OFFSET + Long.BYTES;
    public static final int NEXT_MEMORY_PA_OFFSET = NEXT_TABLE_PA_OFFSET + Long.BYTES;
    public static final int LAST_MOUNT_OFFSET = NEXT_MEMORY_PA_OFFSET + Long.BYTES;
    public static final int RECOVERIES_OFFSET = LAST_MOUNT_OFFSET + Long.BYTES;

    private static final HeaderCheck.Layout LAYOUT = new HeaderCheck.Layout("superblock", MAGIC, VERSION_OFFSET,
            LAYOUT_VERSION, COMPAT_OFFSET, COMPAT_LENGTH, COMPAT, CHECKSUM_OFFSET);

    public static final long FIRST_TABLE_PA = 0x4000_0000_0000L;
    public static final long FIRST_MEMORY_PA = 0x1_0000_0000L;
    /** PA windows are aligned to 1 GiB so that every file can hold 1 GiB-aligned mappings. */
    public static final long PA_WINDOW_ALIGN = 1L << 30;

    private final MappedRegion region;

    private Superblock(MappedRegion region) {
        this.region = region;
    }

    /** Built under a temporary name and renamed when complete, version word last (docs/FORMAT.md). */
    static Superblock create(Path path) {
        MappedRegion r = MappedRegion.create(path, SIZE);
        try {
            r.writeInt(VERSION_OFFSET, 0);
            r.writeLong(MAGIC_OFFSET, MAGIC);
            r.writeInt(RESERVED_OFFSET, 0);
            FixedString.write(r, COMPAT_OFFSET, COMPAT, COMPAT_LENGTH);
            r.writeLong(CREATED_OFFSET, System.currentTimeMillis());
            r.writeLong(CHECKSUM_OFFSET, Checksums.headerCrc32c(r, CHECKSUMMED_LENGTH, VERSION_OFFSET, LAYOUT_VERSION));
            r.writeLong(GENERATION_OFFSET, 0);
            r.writeInt(CLEAN_OFFSET, 1);
            r.writeLong(NEXT_TABLE_PA_OFFSET, FIRST_TABLE_PA);
            r.writeLong(NEXT_MEMORY_PA_OFFSET, FIRST_MEMORY_PA);
            r.writeOrderedInt(VERSION_OFFSET, LAYOUT_VERSION);
            r.publish();
        } catch (RuntimeException e) {
            r.abandon();
            throw e;
        }
        return new Superblock(r);
    }

    static Superblock open(Path path, boolean readOnly) {
        if (!readOnly) {
            validate(path); // through a read-only mapping: nothing writable is mapped before it passed
            return new Superblock(MappedRegion.mapReadWrite(path, SIZE));
        }
        // read-only: validated through the one mapping it keeps
        validateSize(path);
        MappedRegion r = MappedRegion.mapReadOnly(path);
        try {
            validate(path, r);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return new Superblock(r);
    }

    /**
     * Maps for the writer a superblock that {@link MountAcceptance} has just validated while this
     * process held the writer lock (nobody else writes it): the mount's path does not validate it twice.
     */
    static Superblock openAccepted(Path path) {
        return new Superblock(MappedRegion.mapReadWrite(path, SIZE));
    }

    static void validate(Path path) {
        readValidated(path);
    }

    /**
     * The superblock's page, read (not mapped) and validated: what {@link MountAcceptance} reads the
     * clean flag and the generation from.
     */
    static FileHead readValidated(Path path) {
        validateSize(path);
        FileHead head = FileHead.read(path, SIZE);
        validate(path, head);
        return head;
    }

    private static void validateSize(Path path) {
        long size;
        try {
            size = Files.size(path);
        } catch (java.io.IOException e) {
            throw new PersistException(path + ": " + e.getMessage(), e);
        }
        if (size != SIZE) {
            throw new CorruptFileException(path, Math.min(size, SIZE), (size < SIZE ? "truncated: " : "size mismatch: ")
                    + size + " bytes, a superblock is " + SIZE);
        }
    }

    private static void validate(Path path, FileBytes r) {
        HeaderCheck.check(path, r, LAYOUT);
        int clean = r.readVolatileInt(CLEAN_OFFSET);
        if (clean != 0 && clean != 1) {
            throw new CorruptFileException(path, CLEAN_OFFSET, "clean flag " + clean + " is neither 0 nor 1");
        }
        // a wrong PA cursor would hand out a window that overlaps a file's: refuse it
        long nextTable = r.readVolatileLong(NEXT_TABLE_PA_OFFSET);
        if (nextTable < FIRST_TABLE_PA || nextTable > 1L << 48 || (nextTable & (PA_WINDOW_ALIGN - 1)) != 0) {
            throw new CorruptFileException(path, NEXT_TABLE_PA_OFFSET, String.format(
                    "next table PA 0x%x is outside [0x%x, 2^48] or not 1 GiB aligned", nextTable, FIRST_TABLE_PA));
        }
        long nextMemory = r.readVolatileLong(NEXT_MEMORY_PA_OFFSET);
        if (nextMemory < FIRST_MEMORY_PA || nextMemory > FIRST_TABLE_PA || (nextMemory & (PA_WINDOW_ALIGN - 1)) != 0) {
            throw new CorruptFileException(path, NEXT_MEMORY_PA_OFFSET, String.format(
                    "next guest memory PA 0x%x is outside [0x%x, 0x%x] or not 1 GiB aligned",
                    nextMemory, FIRST_MEMORY_PA, FIRST_TABLE_PA));
        }
    }

    public long generation() { return region.readVolatileLong(GENERATION_OFFSET); }
    public boolean clean() { return region.readVolatileInt(CLEAN_OFFSET) == 1; }
    public long writerPid() { return region.readVolatileLong(WRITER_PID_OFFSET); }
    public long recoveries() { return region.readVolatileLong(RECOVERIES_OFFSET); }
    public long lastMountMillis() { return region.readVolatileLong(LAST_MOUNT_OFFSET); }
    public long createdMillis() { return region.readLong(CREATED_OFFSET); }

    /** Starts a boot: the dirty flag is stored before anything else is touched. */
    void beginGeneration(long generation, boolean recovering) {
        PersistentStores.store(PersistentStores.Kind.SUPERBLOCK);
        region.writeOrderedInt(CLEAN_OFFSET, 0);
        region.writeOrderedLong(GENERATION_OFFSET, generation);
        region.writeOrderedLong(WRITER_PID_OFFSET, ProcessHandle.current().pid());
        region.writeOrderedLong(LAST_MOUNT_OFFSET, System.currentTimeMillis());
        if (recovering) {
            region.writeOrderedLong(RECOVERIES_OFFSET, recoveries() + 1);
        }
    }

    void markClean() {
        PersistentStores.store(PersistentStores.Kind.SUPERBLOCK);
        region.writeOrderedInt(CLEAN_OFFSET, 1);
    }

    /** Hands out a PA window; the counter moves before the file exists, so a crash leaves a gap, never an overlap. */
    long reservePa(boolean memory, long bytes) {
        int off = memory ? NEXT_MEMORY_PA_OFFSET : NEXT_TABLE_PA_OFFSET;
        long base = region.readVolatileLong(off);
        long next = base + ((bytes + PA_WINDOW_ALIGN - 1) & -PA_WINDOW_ALIGN);
        long limit = memory ? FIRST_TABLE_PA : 1L << 48;
        if (next > limit) {
            throw new PersistException("physical address space exhausted for " + (memory ? "guest memory" : "tables"));
        }
        PersistentStores.store(PersistentStores.Kind.SUPERBLOCK);
        region.writeOrderedLong(off, next);
        return base;
    }

    @Override
    public void close() { region.close(); }
}
