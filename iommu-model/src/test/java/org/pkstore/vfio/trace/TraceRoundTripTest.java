package org.pkstore.vfio.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.vfio.uapi.VfioIoctl;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioUapi;

class TraceRoundTripTest {

    @Test
    void everyRecordTypeRoundTripsThroughAFile(@TempDir Path tmp) throws Exception {
        List<TraceRecord> records = TraceTestData.allTypes();
        Path f = tmp.resolve("t.trace");
        long expectedEnd;
        try (TraceWriter w = TraceWriter.create(f)) {
            for (TraceRecord r : records) {
                w.write(r);
            }
            expectedEnd = w.position();
        }
        assertEquals(expectedEnd, Files.size(f));
        assertEquals(0, Files.size(f) % 8, "records keep 8-byte alignment");
        assertEquals(records, TraceReader.readAll(f));

        try (TraceReader r = TraceReader.open(f)) {
            assertEquals(1, r.version());
            List<Long> offsets = new ArrayList<>();
            for (TraceRecord rec; (rec = r.next()) != null; ) {
                offsets.add(r.lastRecordOffset());
                assertEquals(0, r.lastRecordOffset() % 8);
            }
            assertEquals(TraceFormat.HEADER_SIZE, offsets.get(0));
            assertEquals(records.size(), offsets.size());
            assertNull(r.next(), "stays at EOF");
        }
    }

    /** The exact bytes of a small trace, built by hand from docs/TRACE.md. */
    @Test
    void bytesMatchTheSpecification() throws Exception {
        byte[] expected = cat(
                ascii("PKSTTRC1"), u32(1), u32(0), u64(0),
                // OPEN_CONTAINER fd 3: payload 4, padded to 8
                u32(1), u32(4), u32(3), u32(0),
                // OPEN_GROUP fd 4 group 26: payload 8
                u32(2), u32(8), u32(4), u32(26),
                // OPEN_PGTABLE_FILE fd 5 "ab": payload 10, padded to 16
                u32(3), u32(10), u32(5), u32(2), ascii("ab"), new byte[6],
                // MAP_GUEST_MEMORY vaddr 0x1000 size 0x2000 "m": payload 21, padded to 24
                u32(4), u32(21), u64(0x1000), u64(0x2000), u32(1), ascii("m"), new byte[3],
                // IOCTL fd 3 SET_IOMMU scalar 3: payload 24
                u32(5), u32(24), u32(3), u32(0x3B66), u32(8), u32(1), u64(3),
                // IOCTL fd 4 GROUP_SET_CONTAINER ptr -> s32 3: payload 20, padded to 24
                u32(5), u32(20), u32(4), u32(0x3B68), u32(4), u32(0), u32(3), new byte[4],
                // CLOSE fd 4
                u32(6), u32(4), u32(4), u32(0),
                // KEXEC crash
                u32(7), u32(4), u32(2), u32(0));
        List<TraceRecord> records = List.of(
                new TraceRecord.OpenContainer(3),
                new TraceRecord.OpenGroup(4, 26),
                new TraceRecord.OpenPgtableFile(5, "ab"),
                new TraceRecord.MapGuestMemory(0x1000, 0x2000, "m"),
                TraceRecord.Ioctl.scalar(3, VfioIoctl.VFIO_SET_IOMMU.number(), VfioUapi.VFIO_TYPE1v2_IOMMU),
                TraceRecord.Ioctl.pointer(4, VfioIoctl.VFIO_GROUP_SET_CONTAINER.number(), new byte[] {3, 0, 0, 0}),
                new TraceRecord.Close(4),
                new TraceRecord.Kexec(KexecKind.CRASH));
        assertArrayEquals(expected, TraceTestData.write(records));
        assertEquals(records, TraceReader.readAll(expected, "spec"));
    }

    @Test
    void emptyTraceIsJustTheHeader() throws Exception {
        byte[] b = TraceTestData.write(List.of());
        assertEquals(TraceFormat.HEADER_SIZE, b.length);
        assertTrue(TraceReader.readAll(b, "empty").isEmpty());
    }

    @Test
    void ioctlRecordAccessors() throws Exception {
        byte[] map = new byte[VfioIommuType1DmaMap.SIZE];
        new VfioIommuType1DmaMap().wrap(map, 0).argsz(32).iova(0x1000);
        TraceRecord.Ioctl io = TraceRecord.Ioctl.pointer(3, VfioIoctl.VFIO_IOMMU_MAP_DMA.number(), map);
        assertEquals(VfioIoctl.VFIO_IOMMU_MAP_DMA, io.vfioIoctl().orElseThrow());
        assertEquals(0x1000, new VfioIommuType1DmaMap().wrap(io.arg(), 0).iova());
        assertEquals(32, io.argBuffer().getInt(0));
        map[0] = 99; // defensive copy on construction
        assertEquals(32, io.arg()[0]);
        io.arg()[0] = 77; // and on access
        assertEquals(32, io.arg()[0]);
        assertThrows(IllegalStateException.class, io::scalar);
        TraceRecord.Ioctl s = TraceRecord.Ioctl.scalar(3, VfioIoctl.VFIO_IOMMU_SET_VMID.number(), 0xFFFF_FFFFL);
        assertTrue(s.isScalar());
        assertEquals(0xFFFF_FFFFL, s.scalar());
        assertTrue(s.toString().contains("VFIO_IOMMU_SET_VMID"), s.toString());
        assertEquals(TraceRecord.Ioctl.pointer(1, 2, new byte[] {1}), TraceRecord.Ioctl.pointer(1, 2, new byte[] {1}));
        assertEquals(TraceRecord.Ioctl.pointer(1, 2, new byte[] {1}).hashCode(),
                TraceRecord.Ioctl.pointer(1, 2, new byte[] {1}).hashCode());
    }

    @Test
    void writerRefusesWhatTheReaderWouldReject() {
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenContainer(-1));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, ""));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, "a/b"));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, ".."));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, "a\0b"));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, "x".repeat(256)));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.OpenPgtableFile(3, "\uD800"));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.MapGuestMemory(0x1000, 0, "m"));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.MapGuestMemory(-4096, 8192, "m"));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.Ioctl(3, 1, 2, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new TraceRecord.Ioctl(3, 1, 1, new byte[4]));
        assertThrows(IllegalArgumentException.class,
                () -> new TraceRecord.Ioctl(3, 1, 0, new byte[TraceFormat.MAX_ARG_LEN + 1]));
        assertThrows(NullPointerException.class, () -> new TraceRecord.Kexec(null));
        // the largest legal record is accepted both ways
        new TraceRecord.MapGuestMemory(-4096, 4096, "top-page");
        new TraceRecord.OpenPgtableFile(3, "\u00e9".repeat(127));
    }

    @Test
    void largestPayloadRoundTrips() throws Exception {
        TraceRecord big = TraceRecord.Ioctl.pointer(3, 1, new byte[TraceFormat.MAX_ARG_LEN]);
        assertEquals(TraceFormat.MAX_PAYLOAD, big.payloadLength());
        assertEquals(List.of(big), TraceReader.readAll(TraceTestData.write(List.of(big)), "big"));
    }

    @Test
    void writerIsClosedAfterClose() throws Exception {
        TraceWriter w = new TraceWriter(new ByteArrayOutputStream());
        w.close();
        assertThrows(java.io.IOException.class, () -> w.openContainer(3));
    }

    static byte[] u32(long v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    static byte[] u64(long v) {
        return cat(u32(v), u32(v >>> 32));
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.write(p, 0, p.length);
        }
        return o.toByteArray();
    }
}
