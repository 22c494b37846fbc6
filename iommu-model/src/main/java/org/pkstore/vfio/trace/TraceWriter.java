package org.pkstore.vfio.trace;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

import org.pkstore.vfio.uapi.CStruct;

/**
 * Writes a version-1 ioctl trace (docs/TRACE.md). The header is written on construction; each
 * {@code write} appends one record, zero-padded to 8 bytes. Records are validated by their
 * constructors, so everything written is readable by {@link TraceReader}.
 *
 * <pre>{@code
 * try (TraceWriter w = TraceWriter.create(path)) {
 *     w.openContainer(3).openGroup(4, 26);
 *     w.ioctl(4, VfioIoctl.VFIO_GROUP_SET_CONTAINER.number(), new byte[] {3, 0, 0, 0}); // __s32 *fd
 *     w.ioctlScalar(3, VfioIoctl.VFIO_SET_IOMMU.number(), VfioUapi.VFIO_TYPE1v2_IOMMU);
 *     w.ioctl(3, VfioIoctl.VFIO_IOMMU_MAP_DMA.number(), dmaMapFlyweight);
 * }
 * }</pre>
 * Not thread-safe.
 */
public final class TraceWriter implements Closeable, Flushable {
    private final OutputStream out;
    private long position;
    private boolean closed;

    /** Start a trace on {@code out} (header written immediately). Closing the writer closes {@code out}. */
    public TraceWriter(OutputStream out) throws IOException {
        this.out = Objects.requireNonNull(out, "out");
        ByteBuffer h = ByteBuffer.allocate(TraceFormat.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        h.put(TraceFormat.MAGIC).putInt(TraceFormat.VERSION).putInt(0).putLong(0);
        emit(h.array(), h.position());
    }

    /** Create (or truncate) {@code path} and start a trace in it. */
    public static TraceWriter create(Path path) throws IOException {
        return new TraceWriter(new BufferedOutputStream(Files.newOutputStream(path, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)));
    }

    /** Append one record. */
    public TraceWriter write(TraceRecord r) throws IOException {
        Objects.requireNonNull(r, "record");
        if (closed) {
            throw new IOException("trace writer is closed");
        }
        int len = r.payloadLength();
        int padded = (int) TraceFormat.padded(len);
        ByteBuffer b = ByteBuffer.allocate(TraceFormat.RECORD_HEADER_SIZE + padded).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(r.type()).putInt(len);
        r.writePayload(b);
        if (b.position() != TraceFormat.RECORD_HEADER_SIZE + len) {
            throw new IllegalStateException(r + " wrote " + (b.position() - 8) + " bytes, declared " + len);
        }
        emit(b.array(), b.capacity()); // padding bytes are the buffer's zeros
        return this;
    }

    public TraceWriter openContainer(int fd) throws IOException {
        return write(new TraceRecord.OpenContainer(fd));
    }

    public TraceWriter openGroup(int fd, int groupId) throws IOException {
        return write(new TraceRecord.OpenGroup(fd, groupId));
    }

    public TraceWriter openPgtableFile(int fd, String name) throws IOException {
        return write(new TraceRecord.OpenPgtableFile(fd, name));
    }

    public TraceWriter mapGuestMemory(long vaddr, long size, String name) throws IOException {
        return write(new TraceRecord.MapGuestMemory(vaddr, size, name));
    }

    /** ioctl with a pointer argument: {@code arg} are the bytes pointed to. */
    public TraceWriter ioctl(int fd, int request, byte[] arg) throws IOException {
        return write(TraceRecord.Ioctl.pointer(fd, request, arg));
    }

    /** ioctl with a pointer to the fixed part of {@code struct} (its {@code size()} bytes). */
    public TraceWriter ioctl(int fd, int request, CStruct<?> struct) throws IOException {
        return write(TraceRecord.Ioctl.pointer(fd, request, struct.toBytes()));
    }

    /** ioctl whose argument is the value itself. */
    public TraceWriter ioctlScalar(int fd, int request, long value) throws IOException {
        return write(TraceRecord.Ioctl.scalar(fd, request, value));
    }

    /** ioctl without argument. */
    public TraceWriter ioctlNoArg(int fd, int request) throws IOException {
        return write(TraceRecord.Ioctl.noArg(fd, request));
    }

    /** A CLOSE record (named so as not to clash with {@link #close()}). */
    public TraceWriter closeFd(int fd) throws IOException {
        return write(new TraceRecord.Close(fd));
    }

    public TraceWriter kexec(KexecKind kind) throws IOException {
        return write(new TraceRecord.Kexec(kind));
    }

    /** Bytes written so far (the offset the next record will have). */
    public long position() {
        return position;
    }

    private void emit(byte[] b, int len) throws IOException {
        assert len % TraceFormat.ALIGN == 0 : "records keep 8-byte alignment";
        out.write(b, 0, len);
        position += len;
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            out.close();
        }
    }
}
