package org.pkstore.persist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** Byte-level helpers for damaging pkernfs files on purpose, and for proving a refusal wrote nothing. */
public final class TestFiles {
    private TestFiles() {}

    /** What a file looked like: content hash, size and modification time. */
    public record FileState(String sha256, long size, FileTime mtime) {}

    public static FileState state(Path p) {
        try {
            return new FileState(sha256(p), Files.size(p), Files.getLastModifiedTime(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every regular file under {@code dir} (recursively), by relative path. */
    public static Map<String, FileState> dirState(Path dir) {
        Map<String, FileState> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).forEach(p -> out.put(dir.relativize(p).toString(), state(p)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public static String sha256(Path p) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(p)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void writeLong(Path p, long offset, long v) {
        write(p, offset, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v));
    }

    public static void writeInt(Path p, long offset, int v) {
        write(p, offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, v));
    }

    public static long readLong(Path p, long offset) {
        return read(p, offset, 8).getLong(0);
    }

    public static int readInt(Path p, long offset) {
        return read(p, offset, 4).getInt(0);
    }

    /** Overwrites a NUL-padded ASCII field. */
    public static void writeString(Path p, long offset, String s, int width) {
        byte[] field = new byte[width];
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, field, 0, b.length);
        write(p, offset, ByteBuffer.wrap(field));
    }

    public static void flipBit(Path p, long offset, int bit) {
        ByteBuffer b = read(p, offset, 1);
        b.put(0, (byte) (b.get(0) ^ (1 << bit)));
        write(p, offset, b);
    }

    /** Recomputes a header's CRC-32C over [0, length) and stores it (u64) at {@code length}. */
    public static void fixChecksum(Path p, int length) {
        ByteBuffer b = read(p, 0, length);
        CRC32C crc = new CRC32C();
        crc.update(b);
        writeLong(p, length, crc.getValue());
    }

    public static void truncate(Path p, long size) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void extend(Path p, long extra) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), ch.size() + extra - 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ByteBuffer read(Path p, long offset, int len) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
                // keep reading
            }
            return b.flip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path p, long offset, ByteBuffer b) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            b.rewind();
            while (b.hasRemaining()) {
                ch.write(b, offset + b.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
