package org.pkstore.vfio.trace;

import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads a version-1 ioctl trace (docs/TRACE.md), one record at a time, from input that may be
 * hostile. Every length is checked against what is left of the file and against
 * {@link TraceFormat#MAX_PAYLOAD} before anything is allocated or read; every payload must have
 * exactly the length its type implies; padding must be zero. Any violation is a
 * {@link TraceFormatException} carrying the file, the offset and a reason; no other exception
 * escapes for bad input (I/O errors remain {@link IOException}s).
 *
 * <pre>{@code
 * try (TraceReader r = TraceReader.open(path)) {
 *     for (TraceRecord rec; (rec = r.next()) != null; ) {
 *         long at = r.lastRecordOffset();
 *         ...
 *     }
 * } catch (TraceFormatException e) {
 *     System.err.println(e.getMessage()); // "trace.bin: offset 72 (0x48): truncated record: ..."
 * }
 * }</pre>
 *
 * A file cut exactly at a record boundary is indistinguishable from a shorter complete trace
 * (the format has no end marker; see docs/TRACE.md).
 */
public final class TraceReader implements Closeable {
    private final ReadableByteChannel in;
    private final String source;
    private final long size;
    private final int version;
    private long position;
    private long lastRecordOffset = -1;
    private boolean failed;

    private TraceReader(ReadableByteChannel in, long size, String source) throws IOException {
        this.in = in;
        this.size = size;
        this.source = source;
        try {
            this.version = readHeader();
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Open a trace file and check its header. */
    public static TraceReader open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new TraceReader(ch, size, path.toString());
    }

    /** Read a trace held in memory; {@code sourceName} is used in error messages. */
    public static TraceReader of(byte[] data, String sourceName) throws IOException {
        Objects.requireNonNull(data, "data");
        return new TraceReader(Channels.newChannel(new ByteArrayInputStream(data)), data.length,
                Objects.requireNonNull(sourceName, "sourceName"));
    }

    /** All records of a trace file. */
    public static List<TraceRecord> readAll(Path path) throws IOException {
        try (TraceReader r = open(path)) {
            return r.readRemaining();
        }
    }

    /** All records of an in-memory trace. */
    public static List<TraceRecord> readAll(byte[] data, String sourceName) throws IOException {
        try (TraceReader r = of(data, sourceName)) {
            return r.readRemaining();
        }
    }

    /** The rest of the records. */
    public List<TraceRecord> readRemaining() throws IOException {
        List<TraceRecord> out = new ArrayList<>();
        for (TraceRecord rec; (rec = next()) != null; ) {
            out.add(rec);
        }
        return out;
    }

    /** The header's version (always {@link TraceFormat#VERSION}: others are rejected). */
    public int version() {
        return version;
    }

    /** Size of the trace in bytes, as seen when it was opened. */
    public long size() {
        return size;
    }

    /** File offset of the next record. */
    public long position() {
        return position;
    }

    /** File offset of the record last returned by {@link #next()}, or -1. */
    public long lastRecordOffset() {
        return lastRecordOffset;
    }

    /** The next record, or {@code null} at the end of the file. */
    public TraceRecord next() throws IOException {
        if (failed) {
            throw new IllegalStateException("reader already reported a format error");
        }
        try {
            TraceRecord r = readRecord();
            return r;
        } catch (TraceFormatException e) {
            failed = true;
            throw e;
        }
    }

    private int readHeader() throws IOException {
        int magicLen = TraceFormat.MAGIC.length;
        byte[] first = readBytes(0, (int) Math.min(size, magicLen), "header");
        if (!Arrays.equals(first, Arrays.copyOf(TraceFormat.MAGIC, first.length)) || first.length == 0) {
            throw error(0, first.length == 0 ? "empty file: no trace header"
                    : "bad magic: not a pkstore trace (expected \"PKSTTRC1\")");
        }
        if (size < TraceFormat.HEADER_SIZE) {
            throw error(0, "truncated header: file has " + size + " bytes, header needs " + TraceFormat.HEADER_SIZE);
        }
        ByteBuffer h = ByteBuffer.wrap(readBytes(magicLen, TraceFormat.HEADER_SIZE - magicLen, "header"))
                .order(ByteOrder.LITTLE_ENDIAN);
        int v = h.getInt();
        int flags = h.getInt();
        long reserved = h.getLong();
        if (v != TraceFormat.VERSION) {
            throw error(TraceFormat.OFFSET_VERSION, "unsupported trace version " + Integer.toUnsignedString(v)
                    + " (this reader knows " + TraceFormat.VERSION + ")");
        }
        if (flags != 0) {
            throw error(TraceFormat.OFFSET_FLAGS, "unknown header flags 0x" + Integer.toHexString(flags));
        }
        if (reserved != 0) {
            throw error(TraceFormat.OFFSET_RESERVED, "reserved header field is 0x" + Long.toHexString(reserved)
                    + ", must be 0");
        }
        position = TraceFormat.HEADER_SIZE;
        return v;
    }

    private TraceRecord readRecord() throws IOException {
        long at = position;
        long left = size - at;
        if (left == 0) {
            return null;
        }
        if (left < TraceFormat.RECORD_HEADER_SIZE) {
            throw error(at, "truncated record header: " + left + " bytes left, need " + TraceFormat.RECORD_HEADER_SIZE);
        }
        ByteBuffer rh = ByteBuffer.wrap(readBytes(at, TraceFormat.RECORD_HEADER_SIZE, "record header"))
                .order(ByteOrder.LITTLE_ENDIAN);
        int type = rh.getInt();
        long length = Integer.toUnsignedLong(rh.getInt());
        String what = "record " + TraceFormat.typeName(type);
        if (type < TraceFormat.TYPE_OPEN_CONTAINER || type > TraceFormat.TYPE_KEXEC) {
            throw error(at, "unknown record type " + Integer.toUnsignedString(type) + " (payload length " + length + ")");
        }
        if (length > TraceFormat.MAX_PAYLOAD) {
            throw error(at, what + ": payload length " + length + " exceeds the maximum " + TraceFormat.MAX_PAYLOAD);
        }
        long padded = TraceFormat.padded(length);
        long avail = left - TraceFormat.RECORD_HEADER_SIZE;
        if (length > avail) {
            throw error(at, what + ": truncated payload: length " + length + " but only " + avail + " bytes left");
        }
        if (padded > avail) {
            throw error(at, what + ": truncated padding: payload of " + length + " needs " + (padded - length)
                    + " padding bytes, only " + (avail - length) + " left");
        }
        byte[] body = readBytes(at + TraceFormat.RECORD_HEADER_SIZE, (int) padded, what);
        for (int i = (int) length; i < padded; i++) {
            if (body[i] != 0) {
                throw error(at, what + ": padding byte at +" + (TraceFormat.RECORD_HEADER_SIZE + i) + " is 0x"
                        + Integer.toHexString(body[i] & 0xFF) + ", must be 0");
            }
        }
        ByteBuffer p = ByteBuffer.wrap(body, 0, (int) length).order(ByteOrder.LITTLE_ENDIAN);
        TraceRecord r;
        try {
            r = decode(type, (int) length, p, at, what);
        } catch (IllegalArgumentException e) {
            throw error(at, what + ": " + e.getMessage());
        } catch (RuntimeException e) {
            // Defensive: a decoding bug must still surface as a located format error.
            throw new TraceFormatException(source, at, what + ": cannot decode (" + e + ")", e);
        }
        position = at + TraceFormat.RECORD_HEADER_SIZE + padded;
        lastRecordOffset = at;
        return r;
    }

    private TraceRecord decode(int type, int length, ByteBuffer p, long at, String what) throws IOException {
        switch (type) {
            case TraceFormat.TYPE_OPEN_CONTAINER:
                exact(at, what, length, TraceFormat.OPEN_CONTAINER_LEN);
                return new TraceRecord.OpenContainer(p.getInt());
            case TraceFormat.TYPE_OPEN_GROUP:
                exact(at, what, length, TraceFormat.OPEN_GROUP_LEN);
                return new TraceRecord.OpenGroup(p.getInt(), p.getInt());
            case TraceFormat.TYPE_OPEN_PGTABLE_FILE: {
                atLeast(at, what, length, TraceFormat.OPEN_PGTABLE_FILE_FIXED);
                int fd = p.getInt();
                String name = name(at, what, p, length);
                return new TraceRecord.OpenPgtableFile(fd, name);
            }
            case TraceFormat.TYPE_MAP_GUEST_MEMORY: {
                atLeast(at, what, length, TraceFormat.MAP_GUEST_MEMORY_FIXED);
                long vaddr = p.getLong();
                long sz = p.getLong();
                String name = name(at, what, p, length);
                return new TraceRecord.MapGuestMemory(vaddr, sz, name);
            }
            case TraceFormat.TYPE_IOCTL: {
                atLeast(at, what, length, TraceFormat.IOCTL_FIXED);
                int fd = p.getInt();
                int request = p.getInt();
                long argLen = Integer.toUnsignedLong(p.getInt());
                int flags = p.getInt();
                if (argLen != length - TraceFormat.IOCTL_FIXED) {
                    throw error(at, what + ": arg_len " + argLen + " but the payload holds "
                            + (length - TraceFormat.IOCTL_FIXED) + " argument bytes");
                }
                byte[] arg = new byte[(int) argLen];
                p.get(arg);
                return new TraceRecord.Ioctl(fd, request, flags, arg);
            }
            case TraceFormat.TYPE_CLOSE:
                exact(at, what, length, TraceFormat.CLOSE_LEN);
                return new TraceRecord.Close(p.getInt());
            case TraceFormat.TYPE_KEXEC: {
                exact(at, what, length, TraceFormat.KEXEC_LEN);
                int kind = p.getInt();
                return new TraceRecord.Kexec(KexecKind.fromCode(kind).orElseThrow(() -> new IllegalArgumentException(
                        "unknown kexec kind " + Integer.toUnsignedString(kind) + " (1 planned, 2 crash)")));
            }
            default:
                throw error(at, "unknown record type " + Integer.toUnsignedString(type));
        }
    }

    /** Read u32 name_len then the name, which must end the payload exactly. */
    private String name(long at, String what, ByteBuffer p, int length) throws IOException {
        long nameLen = Integer.toUnsignedLong(p.getInt());
        if (nameLen != p.remaining()) {
            throw error(at, what + ": name_len " + nameLen + " but the payload holds " + p.remaining() + " name bytes");
        }
        if (nameLen == 0 || nameLen > TraceFormat.MAX_NAME_LEN) {
            throw error(at, what + ": name_len " + nameLen + " not in 1.." + TraceFormat.MAX_NAME_LEN);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(p).toString();
        } catch (CharacterCodingException e) {
            throw error(at, what + ": name is not valid UTF-8");
        }
    }

    private void exact(long at, String what, int length, int expected) throws IOException {
        if (length != expected) {
            throw error(at, what + ": payload length " + length + ", must be " + expected);
        }
    }

    private void atLeast(long at, String what, int length, int min) throws IOException {
        if (length < min) {
            throw error(at, what + ": payload length " + length + " is shorter than its fixed part " + min);
        }
    }

    /** Read exactly {@code n} bytes at {@code at} (sequential channel: at must be the current offset). */
    private byte[] readBytes(long at, int n, String what) throws IOException {
        byte[] b = new byte[n];
        ByteBuffer bb = ByteBuffer.wrap(b);
        while (bb.hasRemaining()) {
            if (in.read(bb) < 0) {
                throw error(at, what + ": file ended early (it shrank while being read?)");
            }
        }
        return b;
    }

    private TraceFormatException error(long offset, String reason) {
        return new TraceFormatException(source, offset, reason);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
