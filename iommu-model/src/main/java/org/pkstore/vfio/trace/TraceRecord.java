package org.pkstore.vfio.trace;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

import org.pkstore.vfio.uapi.VfioIoctl;

/**
 * One record of an ioctl trace (docs/TRACE.md). The constructors enforce the format's rules, so a
 * record that exists can always be written, and the reader turns a rule violation into a
 * {@link TraceFormatException} at the record's offset. The rules are syntactic only: whether an
 * ioctl's argument is right for that ioctl (e.g. a too small argsz) is for the executor to judge,
 * since traces deliberately contain failing calls.
 */
public sealed interface TraceRecord {

    /** The record type code ({@code TraceFormat.TYPE_*}). */
    int type();

    /** Unpadded payload length in bytes (the record header's length field). */
    int payloadLength();

    /** Append the unpadded payload to a little-endian buffer. */
    void writePayload(ByteBuffer le);

    /** {@code open("/dev/vfio/vfio")} returned {@code fd}. */
    record OpenContainer(int fd) implements TraceRecord {
        public OpenContainer {
            requireOpenedFd(fd);
        }

        @Override public int type() { return TraceFormat.TYPE_OPEN_CONTAINER; }
        @Override public int payloadLength() { return TraceFormat.OPEN_CONTAINER_LEN; }
        @Override public void writePayload(ByteBuffer le) { le.putInt(fd); }
        @Override public String toString() { return "OPEN_CONTAINER fd=" + fd; }
    }

    /** {@code open("/dev/vfio/<groupId>")} returned {@code fd}. */
    record OpenGroup(int fd, int groupId) implements TraceRecord {
        public OpenGroup {
            requireOpenedFd(fd);
        }

        @Override public int type() { return TraceFormat.TYPE_OPEN_GROUP; }
        @Override public int payloadLength() { return TraceFormat.OPEN_GROUP_LEN; }
        @Override public void writePayload(ByteBuffer le) { le.putInt(fd).putInt(groupId); }
        @Override public String toString() { return "OPEN_GROUP fd=" + fd + " group=" + Integer.toUnsignedString(groupId); }
    }

    /**
     * A pkernfs IOMMU page-table file was opened as {@code fd}; {@code name} is relative to the
     * mount's page-table directory (a single path component).
     */
    record OpenPgtableFile(int fd, String name) implements TraceRecord {
        public OpenPgtableFile {
            requireOpenedFd(fd);
            requireName(name);
        }

        @Override public int type() { return TraceFormat.TYPE_OPEN_PGTABLE_FILE; }

        @Override
        public int payloadLength() {
            return TraceFormat.OPEN_PGTABLE_FILE_FIXED + utf8(name).length;
        }

        @Override
        public void writePayload(ByteBuffer le) {
            byte[] n = utf8(name);
            le.putInt(fd).putInt(n.length).put(n);
        }

        @Override public String toString() { return "OPEN_PGTABLE_FILE fd=" + fd + " name=" + name; }
    }

    /**
     * The guest memory file {@code name} is mapped at {@code [vaddr, vaddr + size)} of the traced
     * process, so that MAP_DMA's {@code vaddr} can be resolved to guest memory.
     */
    record MapGuestMemory(long vaddr, long size, String name) implements TraceRecord {
        public MapGuestMemory {
            if (size == 0) {
                throw new IllegalArgumentException("MAP_GUEST_MEMORY size is 0");
            }
            if (Long.compareUnsigned(vaddr + size - 1, vaddr) < 0) {
                throw new IllegalArgumentException("MAP_GUEST_MEMORY vaddr 0x" + Long.toHexString(vaddr) + " + size 0x"
                        + Long.toHexString(size) + " wraps past 2^64");
            }
            requireName(name);
        }

        @Override public int type() { return TraceFormat.TYPE_MAP_GUEST_MEMORY; }

        @Override
        public int payloadLength() {
            return TraceFormat.MAP_GUEST_MEMORY_FIXED + utf8(name).length;
        }

        @Override
        public void writePayload(ByteBuffer le) {
            byte[] n = utf8(name);
            le.putLong(vaddr).putLong(size).putInt(n.length).put(n);
        }

        @Override
        public String toString() {
            return "MAP_GUEST_MEMORY vaddr=0x" + Long.toHexString(vaddr) + " size=0x" + Long.toHexString(size)
                    + " name=" + name;
        }
    }

    /**
     * {@code ioctl(fd, request, arg)}. With {@link TraceFormat#IOCTL_FLAG_ARG_IS_SCALAR} the 8 arg
     * bytes are the little-endian value of {@code arg} itself; otherwise they are the bytes the
     * pointer pointed to, exactly as the C struct (their count is what the program provided; an
     * argsz inside may say otherwise). No argument at all: 0 bytes, no flag.
     */
    record Ioctl(int fd, int request, int flags, byte[] arg) implements TraceRecord {
        public Ioctl {
            Objects.requireNonNull(arg, "arg");
            if ((flags & ~TraceFormat.IOCTL_KNOWN_FLAGS) != 0) {
                throw new IllegalArgumentException("IOCTL flags 0x" + Integer.toHexString(flags) + " has unknown bits");
            }
            if ((flags & TraceFormat.IOCTL_FLAG_ARG_IS_SCALAR) != 0 && arg.length != 8) {
                throw new IllegalArgumentException("IOCTL with ARG_IS_SCALAR has arg_len " + arg.length + ", must be 8");
            }
            if (arg.length > TraceFormat.MAX_ARG_LEN) {
                throw new IllegalArgumentException("IOCTL arg_len " + arg.length + " exceeds " + TraceFormat.MAX_ARG_LEN);
            }
            arg = arg.clone();
        }

        /** An ioctl whose argument points to {@code argBytes}. */
        public static Ioctl pointer(int fd, int request, byte[] argBytes) {
            return new Ioctl(fd, request, 0, argBytes);
        }

        /** An ioctl whose argument is the value itself (CHECK_EXTENSION, SET_IOMMU, SET_VMID). */
        public static Ioctl scalar(int fd, int request, long value) {
            return new Ioctl(fd, request, TraceFormat.IOCTL_FLAG_ARG_IS_SCALAR,
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
        }

        /** An ioctl without argument (GET_API_VERSION, GROUP_UNSET_CONTAINER). */
        public static Ioctl noArg(int fd, int request) {
            return new Ioctl(fd, request, 0, new byte[0]);
        }

        /** A copy of the argument bytes. */
        @Override
        public byte[] arg() {
            return arg.clone();
        }

        public int argLength() {
            return arg.length;
        }

        public boolean isScalar() {
            return (flags & TraceFormat.IOCTL_FLAG_ARG_IS_SCALAR) != 0;
        }

        /** The scalar value; only for ARG_IS_SCALAR records. */
        public long scalar() {
            if (!isScalar()) {
                throw new IllegalStateException("IOCTL argument is not a scalar");
            }
            return ByteBuffer.wrap(arg).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        }

        /** A read-only little-endian view of the argument bytes (e.g. to wrap a flyweight on a copy). */
        public ByteBuffer argBuffer() {
            return ByteBuffer.wrap(arg).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        /** The modelled ioctl with this request number, if any. */
        public Optional<VfioIoctl> vfioIoctl() {
            return VfioIoctl.byNumber(request);
        }

        @Override public int type() { return TraceFormat.TYPE_IOCTL; }

        @Override
        public int payloadLength() {
            return TraceFormat.IOCTL_FIXED + arg.length;
        }

        @Override
        public void writePayload(ByteBuffer le) {
            le.putInt(fd).putInt(request).putInt(arg.length).putInt(flags).put(arg);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ioctl i && i.fd == fd && i.request == request && i.flags == flags
                    && Arrays.equals(i.arg, arg);
        }

        @Override
        public int hashCode() {
            return Objects.hash(fd, request, flags) * 31 + Arrays.hashCode(arg);
        }

        @Override
        public String toString() {
            String what = isScalar() ? "scalar=0x" + Long.toHexString(scalar())
                    : "arg[" + arg.length + "]=" + HexFormat.of().formatHex(arg, 0, Math.min(arg.length, 64))
                    + (arg.length > 64 ? "..." : "");
            return "IOCTL fd=" + fd + " " + VfioIoctl.describe(request) + " " + what;
        }
    }

    /** {@code close(fd)}. */
    record Close(int fd) implements TraceRecord {
        @Override public int type() { return TraceFormat.TYPE_CLOSE; }
        @Override public int payloadLength() { return TraceFormat.CLOSE_LEN; }
        @Override public void writePayload(ByteBuffer le) { le.putInt(fd); }
        @Override public String toString() { return "CLOSE fd=" + fd; }
    }

    /** The machine kexec'd: every fd of the traced process is gone; pkernfs files persist. */
    record Kexec(KexecKind kind) implements TraceRecord {
        public Kexec {
            Objects.requireNonNull(kind, "kind");
        }

        @Override public int type() { return TraceFormat.TYPE_KEXEC; }
        @Override public int payloadLength() { return TraceFormat.KEXEC_LEN; }
        @Override public void writePayload(ByteBuffer le) { le.putInt(kind.code()); }
        @Override public String toString() { return "KEXEC " + kind; }
    }

    private static void requireOpenedFd(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("an opened fd cannot be negative: " + fd);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A single path component: 1..255 UTF-8 bytes, no '/', no NUL, not "." or "..". */
    private static void requireName(String name) {
        Objects.requireNonNull(name, "name");
        int len = utf8(name).length;
        if (len == 0 || len > TraceFormat.MAX_NAME_LEN) {
            throw new IllegalArgumentException("name length " + len + " not in 1.." + TraceFormat.MAX_NAME_LEN);
        }
        if (name.indexOf('/') >= 0 || name.indexOf('\0') >= 0 || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("name must be one path component without '/' or NUL: \""
                    + name.replace("\0", "\\0") + "\"");
        }
        // Lone surrogates would not survive the UTF-8 round trip.
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < name.length()
                        && Character.isLowSurrogate(name.charAt(i + 1))) {
                    i++;
                } else {
                    throw new IllegalArgumentException("name has an unpaired surrogate");
                }
            }
        }
    }
}
