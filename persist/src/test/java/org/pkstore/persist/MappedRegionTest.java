package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JDK mapping under every pkernfs file: bounds, read-only, close, and files mapped in 1 GiB pieces. */
class MappedRegionTest {
    static final long GIB = 1L << 30;

    @TempDir
    Path tmp;

    @Test
    void accessesOutsideTheFileOrAfterCloseAreRefusedNotFaulted() {
        Path f = tmp.resolve("small");
        MappedRegion r = MappedRegion.mapReadWrite(f, 4096);
        r.writeLong(4088, 42);
        assertEquals(42, r.readVolatileLong(4088));
        assertThrows(IndexOutOfBoundsException.class, () -> r.readLong(4089));
        assertThrows(IndexOutOfBoundsException.class, () -> r.writeInt(-1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> r.read(4000, new byte[200], 0, 200));
        assertTrue(r.compareAndSwapLong(0, 0, 7));
        r.close();
        assertThrows(IndexOutOfBoundsException.class, () -> r.readLong(0));
        try (MappedRegion ro = MappedRegion.mapReadOnly(f)) {
            assertEquals(7, ro.readLong(0));
            assertEquals(42, ro.readLong(4088));
            assertThrows(PersistException.class, () -> ro.writeLong(0, 1));
        }
    }

    @Test
    void aFileOverOneGibIsMappedInPiecesAndBulkAccessesCrossTheSeams() throws Exception {
        Path f = tmp.resolve("large");
        long size = 2 * GIB + 8192; // sparse: three pieces
        try (MappedRegion r = MappedRegion.mapReadWrite(f, size)) {
            byte[] across = new byte[64];
            for (int i = 0; i < across.length; i++) {
                across[i] = (byte) (i + 1);
            }
            r.write(GIB - 32, across, 0, across.length);
            r.writeOrderedLong(2 * GIB + 8, 0x1122_3344_5566_7788L);
            r.writeLong(GIB - 8, r.readLong(GIB - 8));
            assertThrows(IndexOutOfBoundsException.class, () -> r.readLong(GIB - 4), "a scalar across a seam");
            byte[] back = new byte[64];
            r.read(GIB - 32, back, 0, back.length);
            assertArrayEquals(across, back);
            assertEquals(0x1122_3344_5566_7788L, r.readVolatileLong(2 * GIB + 8));
            r.zero(GIB - 16, 32);
            assertEquals(0, r.readLong(GIB - 8));
            assertEquals(0, r.readLong(GIB));
            assertEquals(49, r.readUnsignedByte(GIB + 16)); // across[48]: past the zeroed bytes
        }
        assertEquals(2 * GIB + 8192, Files.size(f));
        try (MappedRegion ro = MappedRegion.mapReadOnly(f)) {
            assertEquals(0x1122_3344_5566_7788L, ro.readLong(2 * GIB + 8));
            assertEquals(1, ro.readUnsignedByte(GIB - 32));
        }
    }
}
