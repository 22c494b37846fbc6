package org.pkstore.persist.registry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * xxHash64 (the reference algorithm, release r39; seed 0): the checksum Chronicle Map stores in a
 * persisted map's header ({@code LongHashFunction.xx_r39()}, {@link ChronicleMapFileHeader}).
 * Computed here, not through Chronicle Algorithms, whose first use initialises Chronicle Core's
 * memory access (annotation proxies, 30-40 ms of a cold host mount that reads nine registry headers
 * before any Chronicle Map is opened). Input words are little-endian, as the algorithm defines.
 */
final class XxHash64 {
    private static final long PRIME1 = 0x9E3779B185EBCA87L;
    private static final long PRIME2 = 0xC2B2AE3D27D4EB4FL;
    private static final long PRIME3 = 0x165667B19E3779F9L;
    private static final long PRIME4 = 0x85EBCA77C2B2AE63L;
    private static final long PRIME5 = 0x27D4EB2F165667C5L;

    private XxHash64() {}

    /** The hash of {@code length} bytes of {@code buffer} from {@code offset} (absolute; the buffer's position is unused). */
    static long hash(ByteBuffer buffer, int offset, int length) {
        ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = offset;
        int end = offset + length;
        long h;
        if (length >= 32) {
            long v1 = PRIME1 + PRIME2;
            long v2 = PRIME2;
            long v3 = 0;
            long v4 = -PRIME1;
            for (int limit = end - 32; p <= limit; p += 32) {
                v1 = round(v1, b.getLong(p));
                v2 = round(v2, b.getLong(p + 8));
                v3 = round(v3, b.getLong(p + 16));
                v4 = round(v4, b.getLong(p + 24));
            }
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = PRIME5;
        }
        h += length;
        for (; p + 8 <= end; p += 8) {
            h ^= round(0, b.getLong(p));
            h = Long.rotateLeft(h, 27) * PRIME1 + PRIME4;
        }
        if (p + 4 <= end) {
            h ^= (b.getInt(p) & 0xFFFF_FFFFL) * PRIME1;
            h = Long.rotateLeft(h, 23) * PRIME2 + PRIME3;
            p += 4;
        }
        for (; p < end; p++) {
            h ^= (b.get(p) & 0xFFL) * PRIME5;
            h = Long.rotateLeft(h, 11) * PRIME1;
        }
        h ^= h >>> 33;
        h *= PRIME2;
        h ^= h >>> 29;
        h *= PRIME3;
        h ^= h >>> 32;
        return h;
    }

    private static long round(long acc, long input) {
        return Long.rotateLeft(acc + input * PRIME2, 31) * PRIME1;
    }

    private static long merge(long acc, long value) {
        return (acc ^ round(0, value)) * PRIME1 + PRIME4;
    }
}
