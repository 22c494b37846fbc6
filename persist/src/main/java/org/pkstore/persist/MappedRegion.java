package org.pkstore.persist;

import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.core.UnsafeMemory;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * One memory mapping of a whole file through Chronicle Bytes, used by composition by every pkernfs
 * file class. A single mapping (not Chronicle's chunked one) so that a random 8-byte access never
 * remaps. The owner closes it; nobody else does.
 *
 * <p>All accessors take absolute file offsets and go to the {@link BytesStore}, which has no
 * single-thread ownership check, so a translating thread and a mapping thread may share a region.
 */
public final class MappedRegion implements FileBytes, AutoCloseable {
    static {
        ChronicleNativeBindings.select(); // before Chronicle Bytes initialises Chronicle Core
    }

    private final Path path;
    private final boolean readOnly;
    private final MappedBytes bytes;
    private final BytesStore<?, ?> store;
    private final long size;
    private boolean closed;
    /** While a new file is being created: its temporary name; null once published (or when opened). */
    private Path creating;

    /** Suffix of a file being created; such a file is never read and is removed by the next mount. */
    public static final String CREATING_SUFFIX = ".creating";

    private MappedRegion(Path path, boolean readOnly, MappedBytes bytes, long size) {
        this.path = path;
        this.readOnly = readOnly;
        this.bytes = bytes;
        this.store = bytes.bytesStore();
        this.size = size;
    }

    /** Creates (sparse) or opens a file of exactly {@code size} bytes, read-write. */
    public static MappedRegion mapReadWrite(Path path, long size) {
        try {
            if (Files.exists(path) && Files.size(path) != size) {
                throw new PersistException(path + ": expected " + size + " bytes, file has " + Files.size(path));
            }
            MappedBytes mb = MappedBytes.singleMappedBytes(path.toFile(), size, false);
            mb.singleThreadedCheckDisabled(true);
            return new MappedRegion(path, false, mb, size);
        } catch (IOException e) {
            throw new PersistException("cannot map " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates a new file of {@code size} bytes (sparse) under the temporary name
     * {@code path + ".creating"}; {@link #publish} renames it to {@code path} once its header is
     * complete. A process killed during creation therefore never leaves a half-written file under
     * its real name (which every later mount would refuse), only a temporary one that is ignored.
     */
    static MappedRegion create(Path path, long size) {
        Path tmp = creatingPath(path);
        try {
            Files.deleteIfExists(tmp); // left by a creation that was killed
            MappedBytes mb = MappedBytes.singleMappedBytes(tmp.toFile(), size, false);
            mb.singleThreadedCheckDisabled(true);
            MappedRegion r = new MappedRegion(path, false, mb, size);
            r.creating = tmp;
            return r;
        } catch (IOException e) {
            throw new PersistException("cannot create " + path + ": " + e.getMessage(), e);
        }
    }

    static Path creatingPath(Path path) {
        return path.resolveSibling(path.getFileName() + CREATING_SUFFIX);
    }

    /** Gives a file made by {@link #create} its real name (one atomic rename). */
    void publish() {
        if (creating == null) {
            return;
        }
        try {
            PersistentStores.store(PersistentStores.Kind.FILE_CREATE);
            Files.move(creating, path, StandardCopyOption.ATOMIC_MOVE);
            creating = null;
        } catch (IOException e) {
            throw new PersistException("cannot publish " + path + ": " + e.getMessage(), e);
        }
    }

    /** Closes a region whose creation failed and removes its temporary file. */
    void abandon() {
        close();
        if (creating != null) {
            try {
                Files.deleteIfExists(creating);
            } catch (IOException ignored) {
                // the next mount removes it
            }
        }
    }

    /** Maps an existing file read-only; the file's current size is the region's size. */
    public static MappedRegion mapReadOnly(Path path) {
        try {
            File f = path.toFile();
            long size = f.length();
            if (size <= 0) {
                throw new CorruptFileException(path, 0, "file is empty");
            }
            MappedBytes mb = MappedBytes.singleMappedBytes(f, size, true);
            mb.singleThreadedCheckDisabled(true);
            return new MappedRegion(path, true, mb, size);
        } catch (IOException e) {
            throw new PersistException("cannot map " + path + ": " + e.getMessage(), e);
        }
    }

    @Override public Path path() { return path; }
    public boolean readOnly() { return readOnly; }
    @Override public long size() { return size; }
    public BytesStore<?, ?> store() { return store; }

    @Override public long readLong(long offset) { return store.readLong(offset); }
    @Override public long readVolatileLong(long offset) { return store.readVolatileLong(offset); }
    @Override public int readInt(long offset) { return store.readInt(offset); }
    @Override public int readVolatileInt(long offset) { return store.readVolatileInt(offset); }
    public int readUnsignedByte(long offset) { return store.readUnsignedByte(offset); }

    public void writeLong(long offset, long v) { checkWritable(); store.writeLong(offset, v); }
    public void writeOrderedLong(long offset, long v) { checkWritable(); store.writeOrderedLong(offset, v); }
    public void writeInt(long offset, int v) { checkWritable(); store.writeInt(offset, v); }
    public void writeOrderedInt(long offset, int v) { checkWritable(); store.writeOrderedInt(offset, v); }
    public void writeByte(long offset, byte v) { checkWritable(); store.writeByte(offset, v); }
    public boolean compareAndSwapLong(long offset, long expected, long v) {
        checkWritable();
        return store.compareAndSwapLong(offset, expected, v);
    }

    /**
     * How many of the {@code count} longs from {@code offset} on are {@code first},
     * {@code first + step}, {@code first + 2 * step}, ... in a row, each read as
     * {@link #readVolatileLong} reads it: {@code count} when all are. The run is bounds-checked
     * once, then read through the mapping's address in one loop: a C1-compiled caller pays a few
     * ns a long instead of the accessor chain's interface calls (the live-update MAP_DMA compares
     * a million descriptors this way; docs/BENCHMARKS.md, session 5). Allocates nothing.
     *
     * @throws IndexOutOfBoundsException when the run is not 8-byte aligned inside the region
     */
    public int arithmeticRun(long offset, int count, long first, long step) {
        if (count <= 0) {
            return 0;
        }
        if (closed || offset < 0 || (offset & 7) != 0 || offset > size - 8L * count) {
            throw new IndexOutOfBoundsException(path + ": run of " + count + " longs at " + offset
                    + (closed ? " after close" : " outside " + size + " bytes"));
        }
        long address = store.addressForRead(offset);
        long expected = first;
        for (int k = 0; k < count; k++) {
            if (UnsafeMemory.UNSAFE.getLongVolatile(null, address + 8L * k) != expected) {
                return k;
            }
            expected += step;
        }
        return count;
    }

    @Override public void read(long offset, byte[] dst, int dstOff, int len) { store.read(offset, dst, dstOff, len); }
    public void write(long offset, byte[] src, int srcOff, int len) { checkWritable(); store.write(offset, src, srcOff, len); }
    public void zero(long offset, long len) { checkWritable(); store.zeroOut(offset, offset + len); }

    private void checkWritable() {
        if (readOnly) {
            throw new PersistException(path + " is mapped read-only");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            bytes.releaseLast();
        }
    }
}
