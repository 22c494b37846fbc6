package org.pkstore.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The first bytes of a file (its header), read with one open and one positioned read, no mapping:
 * what a check that reads only a header needs (the mount's acceptance reads the 4 KiB header page
 * of a 64 MiB table file, not a mapping of the whole file). A snapshot: later stores to the file
 * are not seen. Reading past what was read throws {@link IndexOutOfBoundsException}.
 */
final class FileHead implements FileBytes {
    private final Path path;
    private final long size;
    private final ByteBuffer bytes;

    private FileHead(Path path, long size, ByteBuffer bytes) {
        this.path = path;
        this.size = size;
        this.bytes = bytes;
    }

    /**
     * Reads the first {@code length} bytes of {@code path} (fewer when the file is shorter);
     * refuses an empty file as a mapping does ({@link MappedRegion#mapReadOnly}).
     */
    static FileHead read(Path path, int length) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size <= 0) {
                throw new CorruptFileException(path, 0, "file is empty");
            }
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(length, size)).order(ByteOrder.nativeOrder());
            while (b.hasRemaining()) {
                if (ch.read(b, b.position()) < 0) {
                    break; // shrank meanwhile: what was read is all there is
                }
            }
            b.limit(b.position());
            return new FileHead(path, size, b);
        } catch (IOException e) {
            throw new PersistException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    @Override public Path path() { return path; }
    @Override public long size() { return size; }

    @Override public long readLong(long offset) { return bytes.getLong(index(offset)); }
    @Override public long readVolatileLong(long offset) { return bytes.getLong(index(offset)); }
    @Override public int readInt(long offset) { return bytes.getInt(index(offset)); }
    @Override public int readVolatileInt(long offset) { return bytes.getInt(index(offset)); }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
        bytes.get(index(offset), dst, dstOff, len);
    }

    private int index(long offset) {
        if (offset < 0 || offset > bytes.limit()) {
            throw new IndexOutOfBoundsException(path + ": offset " + offset + " past the " + bytes.limit() + " bytes read");
        }
        return (int) offset;
    }
}
