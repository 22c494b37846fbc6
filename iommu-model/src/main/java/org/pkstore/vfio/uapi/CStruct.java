package org.pkstore.vfio.uapi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Base of the UAPI flyweights: a view of one C struct (x86-64 ABI, little-endian) at an offset
 * in a byte buffer. The flyweight owns no data; it reads and writes the wrapped bytes in place,
 * so the same bytes can be handed to the container model, written to a trace, or compared with
 * what a C program produced.
 *
 * <pre>{@code
 * byte[] arg = new byte[VfioIommuType1DmaMap.SIZE];
 * VfioIommuType1DmaMap map = new VfioIommuType1DmaMap().wrap(arg, 0);
 * map.argsz(VfioIommuType1DmaMap.SIZE).flags(VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ)
 *    .vaddr(0x7f00_0000_0000L).iova(0x10_0000L).size(0x20_0000L);
 * long iova = map.iova();
 * }</pre>
 *
 * <p>Conventions for every subclass:
 * <ul>
 *   <li>{@code C_NAME} is the C struct tag; {@code SIZE} is {@code sizeof} (for a struct ending in a
 *       flexible array member, the size of the fixed part, as in C); {@code OFFSET_X} is
 *       {@code offsetof(struct, x)} with nested member paths joined by '_'. Each is derived from
 *       the one before it, and UapiLayoutTest checks all of them against gcc.</li>
 *   <li>Getter {@code x()} / fluent setter {@code x(value)}. {@code __u32} fields are Java {@code int}
 *       carrying the raw 32 bits (use {@link Integer#toUnsignedLong}); {@code __u64} are {@code long};
 *       {@code __u8}/{@code __u16} are {@code int} in 0..255 / 0..65535 and the setters reject other
 *       values rather than truncate.</li>
 *   <li>{@code wrap} checks that the fixed part fits in the buffer; element accessors of flexible
 *       arrays check the element fits. Offsets are absolute indexes into the array/buffer.</li>
 * </ul>
 * Not thread-safe (a flyweight is re-pointed by {@code wrap}).
 *
 * @param <T> the concrete flyweight type, returned by {@code wrap} and the setters
 */
public abstract class CStruct<T extends CStruct<T>> {
    /** {@code sizeof(__u8)}. */
    public static final int U8 = 1;
    /** {@code sizeof(__u16)}. */
    public static final int U16 = 2;
    /** {@code sizeof(__u32)}. */
    public static final int U32 = 4;
    /** {@code sizeof(__u64)}; also its alignment on x86-64. */
    public static final int U64 = 8;

    private ByteBuffer buf;
    private int base = -1;

    /** {@code sizeof} of the fixed part of this struct. */
    public abstract int size();

    /** The C struct tag, e.g. {@code "vfio_iommu_type1_dma_map"}. */
    public abstract String cName();

    /** Round {@code offset} up to a multiple of {@code alignment} (a power of two). */
    public static int align(int offset, int alignment) {
        return (offset + alignment - 1) & -alignment;
    }

    /** Point this flyweight at {@code array[offset ..]}. */
    public final T wrap(byte[] array, int offset) {
        Objects.requireNonNull(array, "array");
        return wrapLe(ByteBuffer.wrap(array).order(ByteOrder.LITTLE_ENDIAN), offset);
    }

    /**
     * Point this flyweight at absolute index {@code offset} of {@code buffer} (its position is
     * ignored and left alone; its byte order is not changed: a little-endian duplicate is used).
     */
    public final T wrap(ByteBuffer buffer, int offset) {
        Objects.requireNonNull(buffer, "buffer");
        return wrapLe(buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN), offset);
    }

    /**
     * Wrap an already little-endian buffer without duplicating it (nested structs, and the
     * kernel's copy of an ioctl argument: re-pointing a flyweight allocates nothing).
     */
    public final T wrapLe(ByteBuffer le, int offset) {
        if (le.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("struct " + cName() + ": buffer is not little-endian");
        }
        if (offset < 0 || offset > le.limit() || le.limit() - offset < size()) {
            throw new IndexOutOfBoundsException("struct " + cName() + " (" + size() + " bytes) at offset "
                    + offset + " does not fit in a buffer of " + le.limit() + " bytes");
        }
        this.buf = le;
        this.base = offset;
        return self();
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    /** The little-endian buffer this flyweight reads (shares content with what was wrapped). */
    public final ByteBuffer buffer() {
        checkWrapped();
        return buf;
    }

    /** Absolute index of the struct's first byte in {@link #buffer()}. */
    public final int offset() {
        checkWrapped();
        return base;
    }

    /** Bytes available from the start of this struct to the end of the wrapped buffer. */
    public final int available() {
        checkWrapped();
        return buf.limit() - base;
    }

    /** Zero the fixed part ({@link #size()} bytes). */
    public final T clear() {
        checkWrapped();
        for (int i = 0; i < size(); i++) {
            buf.put(base + i, (byte) 0);
        }
        return self();
    }

    /** A copy of the fixed part's bytes. */
    public final byte[] toBytes() {
        checkWrapped();
        byte[] out = new byte[size()];
        buf.get(base, out, 0, out.length);
        return out;
    }

    private void checkWrapped() {
        if (buf == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is not wrapped");
        }
    }

    /** Check that bytes {@code [rel, rel + len)} relative to this struct lie in the buffer. */
    final void checkRange(int rel, int len, String what) {
        checkWrapped();
        if (rel < 0 || len < 0 || (long) base + rel + len > buf.limit()) {
            throw new IndexOutOfBoundsException(cName() + "." + what + " (bytes " + rel + ".." + (rel + len)
                    + ") lies beyond the " + (buf.limit() - base) + " bytes available");
        }
    }

    final <S extends CStruct<S>> S nested(S view, int rel) {
        checkWrapped();
        return view.wrapLe(buf, base + rel);
    }

    protected final int u8(int rel) {
        checkWrapped();
        return buf.get(base + rel) & 0xFF;
    }

    protected final T u8(int rel, int value) {
        checkWrapped();
        if (value < 0 || value > 0xFF) {
            throw new IllegalArgumentException(cName() + ": " + value + " does not fit a __u8");
        }
        buf.put(base + rel, (byte) value);
        return self();
    }

    protected final int u16(int rel) {
        checkWrapped();
        return buf.getShort(base + rel) & 0xFFFF;
    }

    protected final T u16(int rel, int value) {
        checkWrapped();
        if (value < 0 || value > 0xFFFF) {
            throw new IllegalArgumentException(cName() + ": " + value + " does not fit a __u16");
        }
        buf.putShort(base + rel, (short) value);
        return self();
    }

    protected final int u32(int rel) {
        checkWrapped();
        return buf.getInt(base + rel);
    }

    protected final T u32(int rel, int value) {
        checkWrapped();
        buf.putInt(base + rel, value);
        return self();
    }

    protected final long u64(int rel) {
        checkWrapped();
        return buf.getLong(base + rel);
    }

    protected final T u64(int rel, long value) {
        checkWrapped();
        buf.putLong(base + rel, value);
        return self();
    }

    /** For toString: unsigned decimal of a __u32. */
    static String u(int v) {
        return Integer.toUnsignedString(v);
    }

    /** For toString: hex of a __u32. */
    static String x(int v) {
        return "0x" + Integer.toHexString(v);
    }

    /** For toString: hex of a __u64. */
    static String x(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** {@code struct name {field=value, ...}} of the fixed part, or "unwrapped". */
    @Override
    public String toString() {
        if (buf == null) {
            return "struct " + cName() + " (unwrapped)";
        }
        return "struct " + cName() + " {" + fields() + "}";
    }

    /** Comma-separated field=value list for {@link #toString()}. */
    protected abstract String fields();
}
