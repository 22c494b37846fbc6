package org.pkstore.vfio.trace;

import java.nio.charset.StandardCharsets;

/**
 * Constants of the pkstore ioctl trace format, version 1 (docs/TRACE.md is the specification).
 *
 * <pre>
 * file    := header record*
 * header  := magic[8]="PKSTTRC1" u32 version=1 u32 flags=0 u64 reserved=0          (24 bytes)
 * record  := u32 type, u32 length, payload[length], zero padding to a multiple of 8
 * </pre>
 * All integers little-endian. Records therefore start at 8-aligned file offsets.
 */
public final class TraceFormat {
    private TraceFormat() {}

    /** The 8 magic bytes at offset 0. */
    public static final byte[] MAGIC = "PKSTTRC1".getBytes(StandardCharsets.US_ASCII);
    public static final int VERSION = 1;
    public static final int HEADER_SIZE = 24;
    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_VERSION = 8;
    public static final int OFFSET_FLAGS = 12;
    public static final int OFFSET_RESERVED = 16;

    /** u32 type + u32 length. */
    public static final int RECORD_HEADER_SIZE = 8;
    /** Payloads are zero-padded to this. */
    public static final int ALIGN = 8;
    /** Largest payload length accepted (1 MiB); bigger is a format error, not an allocation. */
    public static final int MAX_PAYLOAD = 1 << 20;
    /** Longest name in OPEN_PGTABLE_FILE / MAP_GUEST_MEMORY (NAME_MAX). */
    public static final int MAX_NAME_LEN = 255;

    // Record types (0 is never valid).
    public static final int TYPE_OPEN_CONTAINER = 1;
    public static final int TYPE_OPEN_GROUP = 2;
    public static final int TYPE_OPEN_PGTABLE_FILE = 3;
    public static final int TYPE_MAP_GUEST_MEMORY = 4;
    public static final int TYPE_IOCTL = 5;
    public static final int TYPE_CLOSE = 6;
    public static final int TYPE_KEXEC = 7;

    /** IOCTL flags bit 0: the argument is the 8-byte value itself, not the bytes of a struct. */
    public static final int IOCTL_FLAG_ARG_IS_SCALAR = 1 << 0;
    public static final int IOCTL_KNOWN_FLAGS = IOCTL_FLAG_ARG_IS_SCALAR;

    // Fixed payload parts.
    public static final int OPEN_CONTAINER_LEN = 4;
    public static final int OPEN_GROUP_LEN = 8;
    public static final int OPEN_PGTABLE_FILE_FIXED = 8;
    public static final int MAP_GUEST_MEMORY_FIXED = 20;
    public static final int IOCTL_FIXED = 16;
    public static final int CLOSE_LEN = 4;
    public static final int KEXEC_LEN = 4;
    /** Largest IOCTL argument that fits in {@link #MAX_PAYLOAD}. */
    public static final int MAX_ARG_LEN = MAX_PAYLOAD - IOCTL_FIXED;

    /** {@code len} rounded up to {@link #ALIGN}. */
    public static long padded(long len) {
        return (len + ALIGN - 1) & -ALIGN;
    }

    /** "IOCTL" for 5, "type 99" for an unknown type. */
    public static String typeName(int type) {
        switch (type) {
            case TYPE_OPEN_CONTAINER: return "OPEN_CONTAINER";
            case TYPE_OPEN_GROUP: return "OPEN_GROUP";
            case TYPE_OPEN_PGTABLE_FILE: return "OPEN_PGTABLE_FILE";
            case TYPE_MAP_GUEST_MEMORY: return "MAP_GUEST_MEMORY";
            case TYPE_IOCTL: return "IOCTL";
            case TYPE_CLOSE: return "CLOSE";
            case TYPE_KEXEC: return "KEXEC";
            default: return "type " + Integer.toUnsignedString(type);
        }
    }
}
