package org.pkstore.vfio.uapi;

import java.io.ByteArrayOutputStream;

/**
 * Test helper: builds a little-endian byte array field by field with explicit shifts, independent
 * of ByteBuffer and of the flyweights, so the struct tests compare against hand-built bytes.
 */
final class Le {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Le u8(int v) {
        out.write(v & 0xFF);
        return this;
    }

    Le u16(int v) {
        return u8(v).u8(v >>> 8);
    }

    Le u32(long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    Le u64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    /** {@code n} zero bytes (padding). */
    Le pad(int n) {
        for (int i = 0; i < n; i++) {
            out.write(0);
        }
        return this;
    }

    Le bytes(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    int length() {
        return out.size();
    }

    byte[] toArray() {
        return out.toByteArray();
    }
}
