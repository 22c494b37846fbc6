package org.pkstore.persist;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.persist.GuestMemoryFile.*;
import static org.pkstore.persist.Refusals.assertRefused;

class GuestMemoryFileTest {
    static final long BASE = 0x1_0000_0000L;
    static final long SIZE = 16 * 4096;

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() {
        file = tmp.resolve("vm.gmem");
        try (GuestMemoryFile g = GuestMemoryFile.create(file, BASE, SIZE, 4)) {
            g.writeLong(BASE + 8, 0x0102_0304_0506_0708L);
            g.write(BASE + SIZE - 3, new byte[] {1, 2, 3}, 0, 3);
        }
    }

    private void refused(long offset, String reason) {
        assertRefused(tmp, file, offset, reason, () -> GuestMemoryFile.validate(file));
        assertRefused(tmp, file, offset, reason, () -> GuestMemoryFile.open(file).close());
        assertRefused(tmp, file, offset, reason, () -> GuestMemoryFile.openReadOnly(file).close());
    }

    @Test
    void roundTrip() {
        try (GuestMemoryFile g = GuestMemoryFile.openReadOnly(file)) {
            assertEquals(BASE, g.paBase());
            assertEquals(SIZE, g.size());
            assertEquals(BASE + SIZE, g.paLimit());
            assertEquals(0x0102_0304_0506_0708L, g.readLong(BASE + 8));
            byte[] b = new byte[3];
            g.read(BASE + SIZE - 3, b, 0, 3);
            assertArrayEquals(new byte[] {1, 2, 3}, b);
            assertTrue(g.contains(BASE, SIZE));
            assertFalse(g.contains(BASE, SIZE + 1));
            assertFalse(g.contains(BASE - 1, 1));
            assertFalse(g.contains(BASE + SIZE - 1, Long.MAX_VALUE));
        }
        assertEquals(DATA_OFFSET + SIZE, file.toFile().length());
    }

    @Test
    void creationArgumentsAreChecked() {
        assertThrows(PersistException.class, () -> GuestMemoryFile.create(file, BASE, SIZE, 1));
        assertThrows(IllegalArgumentException.class, () -> GuestMemoryFile.create(tmp.resolve("x"), BASE, 100, 1));
        assertThrows(IllegalArgumentException.class, () -> GuestMemoryFile.create(tmp.resolve("x"), BASE + 1, SIZE, 1));
        assertThrows(IllegalArgumentException.class, () -> GuestMemoryFile.create(tmp.resolve("x"), 0, SIZE, 1));
        assertFalse(tmp.resolve("x").toFile().exists());
    }

    @Test
    void wrongMagic() {
        TestFiles.writeLong(file, MAGIC_OFFSET, 0);
        refused(MAGIC_OFFSET, "wrong magic");
    }

    @Test
    void versionZero() {
        TestFiles.writeInt(file, VERSION_OFFSET, 0);
        refused(VERSION_OFFSET, "never completely created");
    }

    @Test
    void unknownVersion() {
        TestFiles.writeInt(file, VERSION_OFFSET, 3);
        refused(VERSION_OFFSET, "unknown layout version 3");
    }

    @Test
    void incompatibleCompatString() {
        TestFiles.writeString(file, COMPAT_OFFSET, "pkstore-guest-memory-v9", COMPAT_LENGTH);
        refused(COMPAT_OFFSET, "incompatible format \"pkstore-guest-memory-v9\"");
    }

    @Test
    void badChecksum() {
        TestFiles.flipBit(file, CREATED_GENERATION_OFFSET, 2);
        refused(CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void badChecksumFromAFlippedBaseBit() {
        TestFiles.flipBit(file, PA_BASE_OFFSET + 4, 0);
        refused(CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void truncatedShorterThanTheHeader() {
        TestFiles.truncate(file, 1000);
        refused(1000, "truncated");
    }

    @Test
    void truncatedShorterThanTheMemory() {
        TestFiles.truncate(file, DATA_OFFSET + SIZE - 4096);
        refused(DATA_OFFSET + SIZE - 4096, "truncated");
    }

    @Test
    void longerThanTheMemory() {
        TestFiles.extend(file, 4096);
        refused(SIZE_OFFSET, "size mismatch");
    }

    @Test
    void physicalBaseNotAlignedWithAValidChecksum() {
        TestFiles.writeLong(file, PA_BASE_OFFSET, BASE + 16);
        TestFiles.fixChecksum(file, CHECKSUMMED_LENGTH);
        refused(PA_BASE_OFFSET, "physical base");
    }
}
