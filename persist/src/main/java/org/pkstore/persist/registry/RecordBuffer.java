package org.pkstore.persist.registry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Little-endian encoder/decoder for registry records. Every record starts with a one-byte record
 * version; strings are a u16 length and UTF-8 bytes. Decoding checks every length, so a damaged
 * value is refused with a reason instead of read out of bounds.
 */
public final class RecordBuffer {
    private ByteBuffer buf;

    private RecordBuffer(ByteBuffer buf) {
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
    }

    public static RecordBuffer writer(int version) {
        RecordBuffer r = new RecordBuffer(ByteBuffer.allocate(256));
        r.u8(version);
        return r;
    }

    public static RecordBuffer reader(byte[] bytes, String recordName, int expectedVersion) {
        RecordBuffer r = new RecordBuffer(ByteBuffer.wrap(bytes));
        if (bytes.length < 1) {
            throw new IllegalArgumentException(recordName + ": empty record");
        }
        int v = r.u8();
        if (v != expectedVersion) {
            throw new IllegalArgumentException(recordName + ": record version " + v + ", expected " + expectedVersion);
        }
        return r;
    }

    private void ensure(int n) {
        if (buf.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    private ByteBuffer b() {
        return buf;
    }

    private void need(int n) {
        if (b().remaining() < n) {
            throw new IllegalArgumentException("record truncated at byte " + b().position() + ": need " + n + " more");
        }
    }

    public RecordBuffer u8(int v) { ensure(1); b().put((byte) v); return this; }
    public RecordBuffer i32(int v) { ensure(4); b().putInt(v); return this; }
    public RecordBuffer i64(long v) { ensure(8); b().putLong(v); return this; }
    public RecordBuffer bytes(byte[] v) {
        ensure(4 + v.length);
        b().putInt(v.length);
        b().put(v);
        return this;
    }
    public RecordBuffer str(String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        if (u.length > 0xFFFF) {
            throw new IllegalArgumentException("string too long");
        }
        ensure(2 + u.length);
        b().putShort((short) u.length);
        b().put(u);
        return this;
    }

    public int u8() { need(1); return b().get() & 0xFF; }
    public int i32() { need(4); return b().getInt(); }
    public long i64() { need(8); return b().getLong(); }
    public byte[] bytes() {
        int n = i32();
        if (n < 0) {
            throw new IllegalArgumentException("negative length " + n);
        }
        need(n);
        byte[] v = new byte[n];
        b().get(v);
        return v;
    }
    public String str() {
        need(2);
        int n = b().getShort() & 0xFFFF;
        need(n);
        byte[] u = new byte[n];
        b().get(u);
        return new String(u, StandardCharsets.UTF_8);
    }

    public byte[] toBytes() {
        ByteBuffer x = b();
        byte[] out = new byte[x.position()];
        System.arraycopy(x.array(), 0, out, 0, out.length);
        return out;
    }
}
