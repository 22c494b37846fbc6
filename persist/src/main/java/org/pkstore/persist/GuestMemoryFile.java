package org.pkstore.persist;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pkernfs guest memory file: a sparse file standing for a range of guest RAM at a fixed host
 * physical address, so that a DMA translated through the page tables lands on real bytes.
 *
 * <pre>
 *  offset  size  field
 *  0       8     magic "PKSTGMEM"
 *  8       4     layout version (u32, published last)
 *  12      4     reserved, 0
 *  16      32    compatibility string "pkstore-guest-memory-v1", NUL padded
 *  48      8     size of the memory in bytes (multiple of 4096)
 *  56      8     host physical base address
 *  64      8     generation the file was created in
 *  72      8     CRC-32C of bytes [0, 72)
 *  4096    size  the memory: PA p is at file offset 4096 + (p - base)
 * </pre>
 */
public final class GuestMemoryFile implements AutoCloseable {
    public static final long MAGIC = 0x4D45_4D47_5453_4B50L; // "PKSTGMEM"
    public static final int LAYOUT_VERSION = 1;
    public static final String COMPAT = "pkstore-guest-memory-v1";

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int RESERVED_OFFSET = VERSION_OFFSET + Integer.BYTES;
    public static final int COMPAT_OFFSET = RESERVED_OFFSET + Integer.BYTES;
    public static final int COMPAT_LENGTH = 32;
    public static final int SIZE_OFFSET = COMPAT_OFFSET + COMPAT_LENGTH;
    public static final int PA_BASE_OFFSET = SIZE_OFFSET + Long.BYTES;
    public static final int CREATED_GENERATION_OFFSET = PA_BASE_OFFSET + Long.BYTES;
    public static final int CHECKSUM_OFFSET = CREATED_GENERATION_OFFSET + Long.BYTES;
    public static final int CHECKSUMMED_LENGTH = CHECKSUM_OFFSET;
    public static final int DATA_OFFSET = PageTableFileDescriptor.PAGE_SIZE;
    private static final HeaderCheck.Layout LAYOUT = new HeaderCheck.Layout("guest memory file", MAGIC, VERSION_OFFSET,
            LAYOUT_VERSION, COMPAT_OFFSET, COMPAT_LENGTH, COMPAT, CHECKSUM_OFFSET);

    private final MappedRegion region;
    private final long paBase;
    private final long size;

    private GuestMemoryFile(MappedRegion region) {
        this.region = region;
        this.paBase = region.readLong(PA_BASE_OFFSET);
        this.size = region.readLong(SIZE_OFFSET);
    }

    public static GuestMemoryFile create(Path path, long paBase, long size, long generation) {
        if (size <= 0 || (size & (PageTableFileDescriptor.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("guest memory size must be a positive multiple of 4096: " + size);
        }
        if ((paBase & (PageTableFileDescriptor.PAGE_SIZE - 1)) != 0 || paBase <= 0 || paBase + size > (1L << 48)) {
            throw new IllegalArgumentException("physical base 0x" + Long.toHexString(paBase) + " invalid");
        }
        if (Files.exists(path)) {
            throw new PersistException(path + " already exists");
        }
        // built under a temporary name and renamed when complete, version word last (docs/FORMAT.md)
        MappedRegion r = MappedRegion.create(path, DATA_OFFSET + size);
        try {
            r.writeInt(VERSION_OFFSET, 0);
            r.writeLong(MAGIC_OFFSET, MAGIC);
            r.writeInt(RESERVED_OFFSET, 0);
            FixedString.write(r, COMPAT_OFFSET, COMPAT, COMPAT_LENGTH);
            r.writeLong(SIZE_OFFSET, size);
            r.writeLong(PA_BASE_OFFSET, paBase);
            r.writeLong(CREATED_GENERATION_OFFSET, generation);
            r.writeLong(CHECKSUM_OFFSET, Checksums.headerCrc32c(r, CHECKSUMMED_LENGTH, VERSION_OFFSET, LAYOUT_VERSION));
            r.writeOrderedInt(VERSION_OFFSET, LAYOUT_VERSION);
            r.publish();
        } catch (RuntimeException e) {
            r.abandon();
            throw e;
        }
        return new GuestMemoryFile(r);
    }

    /** Opens for DMA and for the VMM: read-write, after validating the header (nothing is written). */
    public static GuestMemoryFile open(Path path) {
        validate(path);
        try {
            return new GuestMemoryFile(MappedRegion.mapReadWrite(path, Files.size(path)));
        } catch (IOException e) {
            throw new PersistException(path + ": " + e.getMessage(), e);
        }
    }

    public static GuestMemoryFile openReadOnly(Path path) {
        validate(path);
        return new GuestMemoryFile(MappedRegion.mapReadOnly(path));
    }

    /** Header checks; reads only the header page (no mapping of the memory). */
    public static void validate(Path path) {
        readValidated(path);
    }

    /** As {@link #validate}, returning the header page it read (the mount's acceptance keeps it). */
    static FileHead readValidated(Path path) {
        long fileSize;
        try {
            fileSize = Files.size(path);
        } catch (IOException e) {
            throw new PersistException(path + ": " + e.getMessage(), e);
        }
        if (fileSize < DATA_OFFSET) {
            throw new CorruptFileException(path, fileSize, "truncated: shorter than the 4096-byte header");
        }
        FileHead r = FileHead.read(path, DATA_OFFSET);
        HeaderCheck.check(path, r, LAYOUT);
        long size = r.readLong(SIZE_OFFSET);
        if (size <= 0 || (size & 4095) != 0 || fileSize != DATA_OFFSET + size) {
            throw new CorruptFileException(path, fileSize < DATA_OFFSET + size ? fileSize : SIZE_OFFSET,
                    (fileSize < DATA_OFFSET + size ? "truncated: " : "size mismatch: ") + "header says "
                            + size + " bytes of memory, file has " + (fileSize - DATA_OFFSET));
        }
        long paBase = r.readLong(PA_BASE_OFFSET);
        if ((paBase & (PageTableFileDescriptor.PAGE_SIZE - 1)) != 0 || paBase <= 0 || paBase + size > (1L << 48)) {
            throw new CorruptFileException(path, PA_BASE_OFFSET, "physical base 0x" + Long.toHexString(paBase)
                    + " is not page aligned or puts the memory beyond 2^48");
        }
        return r;
    }

    public Path path() { return region.path(); }
    public long paBase() { return paBase; }
    public long size() { return size; }
    public long paLimit() { return paBase + size; }

    public boolean contains(long pa, long length) {
        return pa >= paBase && length >= 0 && pa + length <= paBase + size && pa + length >= pa;
    }

    public long readLong(long pa) { return region.readVolatileLong(DATA_OFFSET + pa - paBase); }
    public void writeLong(long pa, long v) { region.writeOrderedLong(DATA_OFFSET + pa - paBase, v); }
    public void read(long pa, byte[] dst, int off, int len) { region.read(DATA_OFFSET + pa - paBase, dst, off, len); }
    public void write(long pa, byte[] src, int off, int len) { region.write(DATA_OFFSET + pa - paBase, src, off, len); }

    @Override
    public void close() { region.close(); }
}
