package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reads files back byte by byte as docs/FORMAT.md describes them, independently of the reading code. */
class FormatDocTest {
    @TempDir
    Path tmp;

    static ByteBuffer bytes(Path p) throws Exception {
        return ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static String ascii(ByteBuffer b, int off, int len) {
        byte[] a = Arrays.copyOfRange(b.array(), off, off + len);
        int n = 0;
        while (n < len && a[n] != 0) {
            n++;
        }
        return new String(a, 0, n, StandardCharsets.US_ASCII);
    }

    static long crc(ByteBuffer b, int len) {
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, len);
        return c.getValue();
    }

    @Test
    void crc32cIsCastagnoli() {
        CRC32C c = new CRC32C();
        c.update("123456789".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0xE3069283L, c.getValue());
    }

    @Test
    void mountFilesAreAsDocumented() throws Exception {
        Path dir = tmp.resolve("mnt");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            m.journal().begin(2, new byte[] {9, 8, 7});
            m.journal().end();
            m.createTableFile(m.pageTablePath("d"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 2, 100, 77);
            m.createGuestMemory("g", 8192);
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(dir.resolve("pkernfs.lock")));
        }

        ByteBuffer sb = bytes(dir.resolve("pkernfs.super"));
        assertEquals(4096, sb.capacity());
        assertEquals("PKSTSUPR", ascii(sb, 0, 8));
        assertEquals(1, sb.getInt(8));
        assertEquals("pkstore-pkernfs-v1", ascii(sb, 16, 32));
        assertEquals(crc(sb, 56), sb.getLong(56));
        assertEquals(1, sb.getLong(64), "generation");
        assertEquals(1, sb.getInt(72), "clean");
        assertEquals(ProcessHandle.current().pid(), sb.getLong(80));
        assertEquals(0x4000_0000_0000L + (1L << 30), sb.getLong(88), "one 1 GiB table window used");
        assertEquals(0x1_0000_0000L + (1L << 30), sb.getLong(96), "one 1 GiB memory window used");
        assertEquals(0, sb.getLong(112), "recoveries");

        ByteBuffer j = bytes(dir.resolve("intent.log"));
        assertEquals("PKSTINTN", ascii(j, 0, 8));
        assertEquals(1, j.getInt(8));
        assertEquals("pkstore-intent-v1", ascii(j, 16, 32));
        assertEquals(crc(j, 48), j.getLong(48));
        assertEquals(1, j.getLong(64), "sequence");
        assertEquals(0, j.getInt(72), "idle");
        assertEquals(2, j.getInt(76));
        assertEquals(3, j.getInt(80));
        CRC32C pc = new CRC32C();
        pc.update(new byte[] {9, 8, 7});
        assertEquals((int) pc.getValue(), j.getInt(84));
        assertEquals(9, j.get(88));

        ByteBuffer pt = bytes(dir.resolve("pgtables/d.pt"));
        assertEquals(100 * 4096, pt.capacity());
        assertEquals("PKSTPGT", ascii(pt, 0, 8));
        assertEquals(0, pt.get(7));
        assertEquals(1, pt.getInt(8));
        assertEquals(4096, pt.getInt(12));
        assertEquals("pkstore-iommu-pgtable-v1", ascii(pt, 16, 32));
        assertEquals(100, pt.getLong(48));
        assertEquals(0x4000_0000_0000L, pt.getLong(56), "paBase = the window's start");
        assertEquals(1, pt.getInt(64), "bitmap pages");
        assertEquals(1, pt.getInt(68), "kind");
        assertEquals(2, pt.getInt(72), "format");
        assertEquals(77, pt.getLong(80), "owner");
        assertEquals(1, pt.getLong(88), "created generation");
        assertEquals(crc(pt, 96), pt.getLong(96));
        assertEquals(0, pt.getLong(128), "no root");
        assertEquals(1, pt.getInt(144), "clean after unmount");
        assertEquals(0b11L, pt.getLong(4096), "header and bitmap pages allocated");
        assertEquals(0xFFFF_FFF0_0000_0000L, pt.getLong(4096 + 8), "pages 100..127 do not exist");
        assertEquals(0, pt.getLong(4096 + 16));

        ByteBuffer g = bytes(dir.resolve("mem/g.gmem"));
        assertEquals(4096 + 8192, g.capacity());
        assertEquals("PKSTGMEM", ascii(g, 0, 8));
        assertEquals(1, g.getInt(8));
        assertEquals("pkstore-guest-memory-v1", ascii(g, 16, 32));
        assertEquals(8192, g.getLong(48));
        assertEquals(0x1_0000_0000L, g.getLong(56));
        assertEquals(1, g.getLong(64));
        assertEquals(crc(g, 72), g.getLong(72));

        byte[] cmap = Files.readAllBytes(dir.resolve("registry/containers.cmap"));
        String header = new String(cmap, 12, 200, StandardCharsets.ISO_8859_1);
        assertEquals(true, header.contains("dataFileVersion: \"2026.1\""), header);
    }
}
