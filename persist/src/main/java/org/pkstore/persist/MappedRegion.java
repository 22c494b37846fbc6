package org.pkstore.persist;

import sun.misc.Unsafe;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;

/**
 * One memory mapping of a whole file, used by composition by every pkernfs file class. A single
 * mapping (not a chunked one) so that a random 8-byte access never remaps. The owner closes it;
 * nobody else does.
 *
 * <p>The mapping is the JDK's own ({@link FileChannel#map}, MAP_SHARED), read and written at its
 * address with plain, volatile, ordered and CAS accesses, each bounds-checked against the file. Not
 * Chronicle Bytes' {@code MappedBytes}: its first use initialises Chronicle Core (a management bean,
 * a logging service lookup, annotation proxies, cleaner probing, class alias pools), 100-240 ms of a
 * fresh host JVM, which a kernel mapping its preserved memory would not pay; the registries' open,
 * which needs Chronicle, now pays it after the reattach (docs/BENCHMARKS.md, session 5, the mount
 * round 2). A file over 1 GiB (guest memory: GiBs; FileChannel.map on JDK 17 maps at most 2 GiB
 * at once) is mapped as consecutive 1 GiB pieces: a scalar access or a run stays inside one piece
 * (every field and table is aligned to its size or a page), a bulk copy is split at their seams.
 *
 * <p>All accessors take absolute file offsets; a region may be shared by a translating thread and
 * a mapping thread.
 */
public final class MappedRegion implements FileBytes, AutoCloseable {
    private static final Unsafe UNSAFE;
    /** Where a direct buffer keeps its address ({@code java.nio.Buffer.address}). */
    private static final long BUFFER_ADDRESS;
    private static final long BYTE_ARRAY_BASE;

    static {
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (Unsafe) f.get(null);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
            BYTE_ARRAY_BASE = UNSAFE.arrayBaseOffset(byte[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Path path;
    private final boolean readOnly;
    private final long size;
    /** The mapping's address when it is one piece (a file of at most 1 GiB), else 0. */
    private final long address;
    /** The address of each 1 GiB piece of a larger file, else null. */
    private final long[] pieces;
    /** What unmaps; null once closed. */
    private MappedByteBuffer[] mapping;
    /** While a new file is being created: its temporary name; null once published (or when opened). */
    private Path creating;

    /** Suffix of a file being created; such a file is never read and is removed by the next mount. */
    public static final String CREATING_SUFFIX = ".creating";

    private static final int PIECE_SHIFT = 30;
    private static final long PIECE = 1L << PIECE_SHIFT;

    private MappedRegion(Path path, boolean readOnly, long size, MappedByteBuffer[] mapping) {
        this.path = path;
        this.readOnly = readOnly;
        this.size = size;
        this.mapping = mapping;
        if (mapping.length == 1) {
            this.address = UNSAFE.getLong(mapping[0], BUFFER_ADDRESS);
            this.pieces = null;
        } else {
            this.address = 0;
            this.pieces = new long[mapping.length];
            for (int i = 0; i < mapping.length; i++) {
                pieces[i] = UNSAFE.getLong(mapping[i], BUFFER_ADDRESS);
            }
        }
    }

    /**
     * Maps {@code file} (shared), {@code size} bytes from 0, the region named {@code path}; read-write
     * mode extends a shorter file to {@code size} (sparse, as ftruncate does).
     */
    private static MappedRegion map(Path path, File file, long size, boolean readOnly) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file, readOnly ? "r" : "rw")) {
            if (!readOnly && raf.length() < size) {
                raf.setLength(size);
            }
            // each piece stays mapped once the file is closed (FileChannel.map)
            FileChannel ch = raf.getChannel();
            FileChannel.MapMode mode = readOnly ? FileChannel.MapMode.READ_ONLY : FileChannel.MapMode.READ_WRITE;
            MappedByteBuffer[] mapped = new MappedByteBuffer[(int) ((size + PIECE - 1) >>> PIECE_SHIFT)];
            try {
                for (int i = 0; i < mapped.length; i++) {
                    long from = (long) i << PIECE_SHIFT;
                    mapped[i] = ch.map(mode, from, Math.min(PIECE, size - from));
                }
            } catch (IOException | RuntimeException e) {
                unmap(mapped);
                throw e;
            }
            return new MappedRegion(path, readOnly, size, mapped);
        }
    }

    private static void unmap(MappedByteBuffer[] mapped) {
        for (MappedByteBuffer b : mapped) {
            if (b != null) {
                UNSAFE.invokeCleaner(b); // munmap now, not at some later GC
            }
        }
    }

    /** Creates (sparse) or opens a file of exactly {@code size} bytes, read-write. */
    public static MappedRegion mapReadWrite(Path path, long size) {
        try {
            if (Files.exists(path) && Files.size(path) != size) {
                throw new PersistException(path + ": expected " + size + " bytes, file has " + Files.size(path));
            }
            return map(path, path.toFile(), size, false);
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
            MappedRegion r = map(path, tmp.toFile(), size, false);
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
            return map(path, f, size, true);
        } catch (IOException e) {
            throw new PersistException("cannot map " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() { return path; }
    public boolean readOnly() { return readOnly; }
    public long size() { return size; }

    /**
     * The address of {@code length} bytes at {@code offset}, refusing what is outside the mapping,
     * after close, or across a seam of a file mapped in pieces.
     */
    private long at(long offset, long length) {
        checkRange(offset, length);
        if (pieces == null) {
            return address + offset;
        }
        long within = offset & (PIECE - 1);
        if (within + length > PIECE) {
            throw new IndexOutOfBoundsException(path + ": " + length + " bytes at " + offset + " cross a 1 GiB seam");
        }
        return pieces[(int) (offset >>> PIECE_SHIFT)] + within;
    }

    private void checkRange(long offset, long length) {
        if (length < 0 || offset < 0 || offset > size - length || mapping == null) {
            throw new IndexOutOfBoundsException(path + ": " + length + " bytes at " + offset
                    + (mapping == null ? " after close" : " outside " + size + " bytes"));
        }
    }

    /** The part of a bulk access at {@code offset} that stays inside one piece. */
    private long pieceLength(long offset, long length) {
        return pieces == null ? length : Math.min(length, PIECE - (offset & (PIECE - 1)));
    }

    @Override public long readLong(long offset) { return UNSAFE.getLong(at(offset, Long.BYTES)); }
    @Override public long readVolatileLong(long offset) { return UNSAFE.getLongVolatile(null, at(offset, Long.BYTES)); }
    @Override public int readInt(long offset) { return UNSAFE.getInt(at(offset, Integer.BYTES)); }
    @Override public int readVolatileInt(long offset) { return UNSAFE.getIntVolatile(null, at(offset, Integer.BYTES)); }
    public int readUnsignedByte(long offset) { return UNSAFE.getByte(at(offset, 1)) & 0xFF; }

    public void writeLong(long offset, long v) { UNSAFE.putLong(writable(offset, Long.BYTES), v); }
    public void writeOrderedLong(long offset, long v) { UNSAFE.putOrderedLong(null, writable(offset, Long.BYTES), v); }
    public void writeInt(long offset, int v) { UNSAFE.putInt(writable(offset, Integer.BYTES), v); }
    public void writeOrderedInt(long offset, int v) { UNSAFE.putOrderedInt(null, writable(offset, Integer.BYTES), v); }
    public void writeByte(long offset, byte v) { UNSAFE.putByte(writable(offset, 1), v); }
    public boolean compareAndSwapLong(long offset, long expected, long v) {
        return UNSAFE.compareAndSwapLong(null, writable(offset, Long.BYTES), expected, v);
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
        if (mapping == null || offset < 0 || (offset & 7) != 0 || offset > size - 8L * count) {
            throw new IndexOutOfBoundsException(path + ": run of " + count + " longs at " + offset
                    + (mapping == null ? " after close" : " outside " + size + " bytes"));
        }
        long base = at(offset, 8L * count);
        long expected = first;
        for (int k = 0; k < count; k++) {
            if (UNSAFE.getLongVolatile(null, base + 8L * k) != expected) {
                return k;
            }
            expected += step;
        }
        return count;
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
        Objects.checkFromIndexSize(dstOff, len, dst.length);
        checkRange(offset, len);
        for (long done = 0; done < len; ) {
            long n = pieceLength(offset + done, len - done);
            UNSAFE.copyMemory(null, at(offset + done, n), dst, BYTE_ARRAY_BASE + dstOff + done, n);
            done += n;
        }
    }

    public void write(long offset, byte[] src, int srcOff, int len) {
        Objects.checkFromIndexSize(srcOff, len, src.length);
        checkWritable();
        checkRange(offset, len);
        for (long done = 0; done < len; ) {
            long n = pieceLength(offset + done, len - done);
            UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + srcOff + done, null, at(offset + done, n), n);
            done += n;
        }
    }

    public void zero(long offset, long len) {
        if (pieces == null) {
            UNSAFE.setMemory(writable(offset, len), len, (byte) 0);
            return;
        }
        checkWritable();
        checkRange(offset, len);
        for (long done = 0; done < len; ) {
            long n = pieceLength(offset + done, len - done);
            UNSAFE.setMemory(at(offset + done, n), n, (byte) 0);
            done += n;
        }
    }

    private void checkWritable() {
        if (readOnly) {
            throw new PersistException(path + " is mapped read-only");
        }
    }

    private long writable(long offset, long length) {
        checkWritable();
        return at(offset, length);
    }

    @Override
    public void close() {
        MappedByteBuffer[] m = mapping;
        if (m != null) {
            mapping = null;
            unmap(m);
        }
    }
}
