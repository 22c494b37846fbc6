package org.pkstore.vfio.trace;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A trace assembled byte by byte from docs/TRACE.md (version 1), never through {@link TraceWriter}
 * or {@link TraceFormat}'s constants, so the tests that replay it check the document, not the
 * writer against itself. Shared by iommu-model's TraceEngineTest and restore-tool's
 * ReplayCommandTest (through this module's test-jar).
 *
 * <pre>
 *  header (24 bytes): "PKSTTRC1" | u32 version 1 | u32 flags 0 | u64 reserved 0
 *  record:            u32 type | u32 length | payload (length bytes) | zero padding to 8
 * </pre>
 */
public final class TraceBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public TraceBytes() {
        raw(le(24).put("PKSTTRC1".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(0).putLong(0).array());
    }

    public static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A {@code __s32} argument (a fd passed by pointer). */
    public static byte[] s32(int v) {
        return le(4).putInt(v).array();
    }

    /** struct vfio_iommu_type1_dma_map: argsz 0, flags 4, vaddr 8, iova 16, size 24. */
    public static byte[] dmaMap(int flags, long vaddr, long iova, long size) {
        return le(32).putInt(32).putInt(flags).putLong(vaddr).putLong(iova).putLong(size).array();
    }

    /** struct vfio_iommu_type1_dma_unmap: argsz 0, flags 4, iova 8, size 16. */
    public static byte[] dmaUnmap(long iova, long size) {
        return le(24).putInt(24).putInt(0).putLong(iova).putLong(size).array();
    }

    /** Bytes as they are, well formed or not. */
    public TraceBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    public TraceBytes record(int type, byte[] payload) {
        raw(le(8).putInt(type).putInt(payload.length).array());
        raw(payload);
        return raw(new byte[(8 - payload.length % 8) % 8]);
    }

    public TraceBytes openContainer(int fd) {
        return record(1, s32(fd));
    }

    public TraceBytes openGroup(int fd, int group) {
        return record(2, le(8).putInt(fd).putInt(group).array());
    }

    public TraceBytes openPgtable(int fd, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return record(3, le(8 + n.length).putInt(fd).putInt(n.length).put(n).array());
    }

    public TraceBytes mapGuestMemory(long vaddr, long size, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return record(4, le(20 + n.length).putLong(vaddr).putLong(size).putInt(n.length).put(n).array());
    }

    public TraceBytes ioctl(int fd, int request, byte[] arg) {
        return record(5, le(16 + arg.length).putInt(fd).putInt(request).putInt(arg.length).putInt(0).put(arg).array());
    }

    /** ARG_IS_SCALAR (flags bit 0): the value is the 8-byte argument. */
    public TraceBytes ioctlScalar(int fd, int request, long value) {
        return record(5, le(24).putInt(fd).putInt(request).putInt(8).putInt(1).putLong(value).array());
    }

    public TraceBytes ioctlNoArg(int fd, int request) {
        return ioctl(fd, request, new byte[0]);
    }

    public TraceBytes close(int fd) {
        return record(6, s32(fd));
    }

    /** 1 planned, 2 crash. */
    public TraceBytes kexec(int kind) {
        return record(7, le(4).putInt(kind).array());
    }

    /** Bytes so far: the offset the next record will start at. */
    public long size() {
        return out.size();
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    public Path write(Path file) throws IOException {
        return Files.write(file, bytes());
    }
}
