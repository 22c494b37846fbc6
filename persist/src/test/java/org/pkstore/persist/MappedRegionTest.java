package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JDK mapping of a file: one window up to 1 GiB, overlapping windows beyond, every access bounded. */
class MappedRegionTest {
    private static final long GIB = 1L << 30;

    @Test
    void aFileOfMoreThanOneWindowIsReadAndWrittenAcrossTheWindowBoundaryAsTheFileHoldsIt(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("big");
        long size = 2 * GIB + 8192; // sparse: three windows
        try (MappedRegion r = MappedRegion.mapReadWrite(p, size)) {
            // an 8-byte word straddling the first window's end lies in that window's overlap
            r.writeLong(GIB - 4, 0x1122334455667788L);
            r.writeOrderedInt(GIB + 12, 0x0a0b0c0d);
            assertTrue(r.compareAndSwapLong(2 * GIB - 8, 0, 42));
            byte[] out = new byte[10_000];
            for (int i = 0; i < out.length; i++) {
                out[i] = (byte) (i * 7);
            }
            r.write(GIB - 5_000, out, 0, out.length); // a bulk copy split between two windows
            byte[] back = new byte[out.length];
            r.read(GIB - 5_000, back, 0, back.length);
            assertArrayEquals(out, back);
            r.writeLong(size - 8, -1L);
            assertEquals(-1L, r.readVolatileLong(size - 8));
            r.zero(GIB - 100, 200);
            assertEquals(0, r.readLong(GIB - 8));
            assertEquals(0, r.readInt(GIB + 60));
        }
        // what another mapping of the file (and the file itself) holds, little-endian
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            assertEquals(size, ch.size());
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 2 * GIB - 8);
            assertEquals(42L, b.flip().getLong());
            b.clear();
            ch.read(b, GIB + 4_000);
            assertEquals((byte) (9_000 * 7), b.get(0));
        }
        try (MappedRegion r = MappedRegion.mapReadOnly(p)) {
            assertEquals(size, r.size());
            assertEquals(0, r.readVolatileInt(GIB + 12), "zeroed above with the 200 bytes before and after GIB - 100");
            assertEquals(42L, r.readLong(2 * GIB - 8));
            assertEquals(0xff, r.readUnsignedByte(size - 1));
            assertThrows(PersistException.class, () -> r.writeLong(0, 1), "read-only");
        }
    }

    @Test
    void anAccessBeyondTheFileIsRefusedNotAFault(@TempDir Path dir) {
        try (MappedRegion r = MappedRegion.mapReadWrite(dir.resolve("small"), 4096)) {
            assertThrows(PersistException.class, () -> r.readLong(4090));
            assertThrows(PersistException.class, () -> r.readLong(-8));
            assertThrows(PersistException.class, () -> r.writeInt(4096, 1));
            assertThrows(PersistException.class, () -> r.read(4000, new byte[200], 0, 200));
            assertThrows(IndexOutOfBoundsException.class, () -> r.read(0, new byte[10], 5, 10));
            r.writeLong(4088, 7);
            assertEquals(7, r.readLong(4088));
        }
    }

    @Test
    void aCreationIsInvisibleUnderItsNameUntilPublished(@TempDir Path dir) {
        Path p = dir.resolve("new.pt");
        MappedRegion r = MappedRegion.create(p, 8192);
        r.writeLong(0, 5);
        assertTrue(Files.exists(MappedRegion.creatingPath(p)));
        assertTrue(!Files.exists(p));
        assertEquals(p, r.path());
        r.publish();
        r.close();
        try (MappedRegion again = MappedRegion.mapReadOnly(p)) {
            assertEquals(5, again.readLong(0));
            assertEquals(8192, again.size());
        }
    }
}
