package org.pkstore.persist;

import sun.misc.Unsafe;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The memory mapping of a whole file, used by composition by every pkernfs file class, through the
 * JDK alone: {@link FileChannel#map} and absolute-address loads and stores (the mapping is what a
 * kernel would do; Chronicle, whose Bytes mapped these files before, brought its runtime's start
 * onto every boot's path: slf4j, JNA and the affinity library, 100-350 ms in a fresh JVM,
 * docs/BENCHMARKS.md "lean boot"). Chronicle Map (the registries) still maps its own files.
 *
 * <p>A file of up to 1 GiB is one mapping. A larger one (guest memory) is mapped in 1 GiB windows
 * that overlap by {@link #OVERLAP} bytes, so that any access of up to that many bytes lies inside
 * one window and a random 8-byte access never remaps or straddles; only bulk copies are split. Two
 * windows over the same file page share the page cache page (MAP_SHARED), so an atomic update
 * through one is seen through the other.
 *
 * <p>All accessors take absolute file offsets and check them against the file's size (a read
 * beyond it is a {@link PersistException}, never a fault). A region has no thread ownership: a
 * translating thread and a mapping thread may share it. Closing forgets the mapping; the JDK unmaps
 * it once unreachable, so a late access by another thread reads stale memory, never unmapped memory.
 */
public final class MappedRegion implements AutoCloseable {
    private static final int WINDOW_SHIFT = 30;
    private static final long WINDOW = 1L << WINDOW_SHIFT;
    /** Bytes by which consecutive windows overlap: the largest access that is never split. */
    static final int OVERLAP = 4096;
    private static final Unsafe UNSAFE = unsafe();
    private static final long BUFFER_ADDRESS = addressFieldOffset();
    private static final long BYTE_ARRAY_BASE = UNSAFE.arrayBaseOffset(byte[].class);

    private final Path path;
    private final boolean readOnly;
    private final long size;
    /** Kept reachable while the region is: the JDK unmaps a buffer once it is not. */
    private MappedByteBuffer[] windows;
    private final long[] addresses;
    /** The first window's address; the only one when the file is at most {@link #WINDOW} bytes. */
    private final long base;
    private final boolean single;
    private boolean closed;
    /** While a new file is being created: its temporary name; null once published (or when opened). */
    private Path creating;

    /** Suffix of a file being created; such a file is never read and is removed by the next mount. */
    public static final String CREATING_SUFFIX = ".creating";

    /** Maps {@code file} (a new file's temporary name, else {@code path}) as the region of {@code path}. */
    private MappedRegion(Path path, Path file, boolean readOnly, long size) throws IOException {
        this.path = path;
        this.readOnly = readOnly;
        this.size = size;
        int count = (int) ((size + WINDOW - 1) >>> WINDOW_SHIFT);
        windows = new MappedByteBuffer[count];
        addresses = new long[count];
        try (FileChannel ch = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE)) {
            if (!readOnly && ch.size() < size) {
                // a new file: sparse, the holes read as zero
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                    raf.setLength(size);
                }
            }
            for (int w = 0; w < count; w++) {
                long from = (long) w << WINDOW_SHIFT;
                long length = Math.min(size - from, WINDOW + OVERLAP);
                windows[w] = ch.map(readOnly ? FileChannel.MapMode.READ_ONLY : FileChannel.MapMode.READ_WRITE, from, length);
                addresses[w] = UNSAFE.getLong(windows[w], BUFFER_ADDRESS);
            }
        }
        this.base = addresses[0];
        this.single = count == 1;
    }

    /** Creates (sparse) or opens a file of exactly {@code size} bytes, read-write. */
    public static MappedRegion mapReadWrite(Path path, long size) {
        try {
            if (Files.exists(path) && Files.size(path) != size) {
                throw new PersistException(path + ": expected " + size + " bytes, file has " + Files.size(path));
            }
            return new MappedRegion(path, path, false, size);
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
            MappedRegion r = new MappedRegion(path, tmp, false, size);
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
            long size = path.toFile().length();
            if (size <= 0) {
                throw new CorruptFileException(path, 0, "file is empty");
            }
            return new MappedRegion(path, path, true, size);
        } catch (IOException e) {
            throw new PersistException("cannot map " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() { return path; }
    public boolean readOnly() { return readOnly; }
    public long size() { return size; }

    /** The address of {@code length} bytes at {@code offset}, after checking they lie in the file. */
    private long address(long offset, int length) {
        if (offset < 0 || offset > size - length) {
            throw new PersistException(path + ": " + length + " bytes at offset " + offset + " lie beyond its "
                    + size + " bytes");
        }
        if (single) {
            return base + offset;
        }
        // windows overlap by OVERLAP bytes: an access of up to that many starting in window w ends in it
        return addresses[(int) (offset >>> WINDOW_SHIFT)] + (offset & (WINDOW - 1));
    }

    public long readLong(long offset) { return UNSAFE.getLong(address(offset, 8)); }
    public long readVolatileLong(long offset) { return UNSAFE.getLongVolatile(null, address(offset, 8)); }
    public int readInt(long offset) { return UNSAFE.getInt(address(offset, 4)); }
    public int readVolatileInt(long offset) { return UNSAFE.getIntVolatile(null, address(offset, 4)); }
    public int readUnsignedByte(long offset) { return UNSAFE.getByte(address(offset, 1)) & 0xff; }

    public void writeLong(long offset, long v) { checkWritable(); UNSAFE.putLong(address(offset, 8), v); }
    public void writeOrderedLong(long offset, long v) { checkWritable(); UNSAFE.putOrderedLong(null, address(offset, 8), v); }
    public void writeInt(long offset, int v) { checkWritable(); UNSAFE.putInt(address(offset, 4), v); }
    public void writeOrderedInt(long offset, int v) { checkWritable(); UNSAFE.putOrderedInt(null, address(offset, 4), v); }
    public void writeByte(long offset, byte v) { checkWritable(); UNSAFE.putByte(address(offset, 1), v); }
    public boolean compareAndSwapLong(long offset, long expected, long v) {
        checkWritable();
        return UNSAFE.compareAndSwapLong(null, address(offset, 8), expected, v);
    }

    public void read(long offset, byte[] dst, int dstOff, int len) {
        java.util.Objects.checkFromIndexSize(dstOff, len, dst.length);
        for (int done = 0; done < len; ) {
            int piece = piece(offset + done, len - done);
            UNSAFE.copyMemory(null, address(offset + done, piece), dst, BYTE_ARRAY_BASE + dstOff + done, piece);
            done += piece;
        }
    }

    public void write(long offset, byte[] src, int srcOff, int len) {
        checkWritable();
        java.util.Objects.checkFromIndexSize(srcOff, len, src.length);
        for (int done = 0; done < len; ) {
            int piece = piece(offset + done, len - done);
            UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + srcOff + done, null, address(offset + done, piece), piece);
            done += piece;
        }
    }

    public void zero(long offset, long len) {
        checkWritable();
        for (long done = 0; done < len; ) {
            int piece = piece(offset + done, len - done);
            UNSAFE.setMemory(address(offset + done, piece), piece, (byte) 0);
            done += piece;
        }
    }

    /** The most of {@code remaining} bytes at {@code offset} that one window holds (no more than an int). */
    private int piece(long offset, long remaining) {
        long inWindow = single ? remaining : WINDOW + OVERLAP - (offset & (WINDOW - 1));
        return (int) Math.min(Math.min(remaining, inWindow), Integer.MAX_VALUE - 8);
    }

    private void checkWritable() {
        if (readOnly) {
            throw new PersistException(path + " is mapped read-only");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            windows = null; // unmapped by the JDK once unreachable (see the class comment)
        }
    }

    private static Unsafe unsafe() {
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Where a direct buffer keeps its address ({@code java.nio.Buffer.address}). */
    private static long addressFieldOffset() {
        try {
            return UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
