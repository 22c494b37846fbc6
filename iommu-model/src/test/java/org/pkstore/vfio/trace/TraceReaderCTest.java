package org.pkstore.vfio.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.vfio.uapi.CTestTool;
import org.pkstore.vfio.uapi.VfioIoctl;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;
import org.pkstore.vfio.uapi.VfioUapi;

/**
 * A C program using the UAPI struct declarations (src/test/c/write_trace.c with pkstore_uapi.h and
 * pkstore_trace.h) writes a trace; TraceReader must parse it record by record, the flyweights must
 * read the C structs, and the Java TraceWriter must produce the identical bytes for the same
 * session. Skipped if gcc is missing.
 */
class TraceReaderCTest {

    private static final long GUEST_VADDR = 0x7f00_0000_0000L;
    private static final long GUEST_SIZE = 0x4000_0000L;

    @Test
    void traceWrittenByCIsReadRecordByRecord(@TempDir Path tmp) throws Exception {
        Path exe = CTestTool.compile(tmp, "write_trace.c", "write_trace");
        Path trace = tmp.resolve("c.trace");
        CTestTool.Result run = CTestTool.run(List.of(exe.toString(), trace.toString()));
        assertEquals(0, run.exit, run.output);

        List<TraceRecord> recs = TraceReader.readAll(trace);
        assertEquals(14, recs.size(), recs.toString());
        int i = 0;
        assertEquals(new TraceRecord.OpenContainer(3), recs.get(i++));
        assertEquals(new TraceRecord.OpenGroup(4, 26), recs.get(i++));

        TraceRecord.Ioctl setContainer = ioctl(recs.get(i++), 4, VfioIoctl.VFIO_GROUP_SET_CONTAINER);
        assertFalse(setContainer.isScalar());
        assertArrayEquals(new byte[] {3, 0, 0, 0}, setContainer.arg());

        TraceRecord.Ioctl check = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_CHECK_EXTENSION);
        assertTrue(check.isScalar());
        assertEquals(VfioUapi.VFIO_TYPE1v2_IOMMU, check.scalar());

        assertEquals(new TraceRecord.OpenPgtableFile(5, "vm0-iommu"), recs.get(i++));
        TraceRecord.Ioctl ppt = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES);
        assertEquals(VfioSetPersistentPgtables.SIZE, ppt.argLength());
        assertEquals(5, new VfioSetPersistentPgtables().wrap(ppt.arg(), 0).persistentPgtablesFd());

        TraceRecord.Ioctl setIommu = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_SET_IOMMU);
        assertEquals(VfioUapi.VFIO_TYPE1v2_IOMMU, setIommu.scalar());

        assertEquals(new TraceRecord.MapGuestMemory(GUEST_VADDR, GUEST_SIZE, "vm0-ram"), recs.get(i++));

        TraceRecord.Ioctl map = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_IOMMU_MAP_DMA);
        assertEquals(VfioIommuType1DmaMap.SIZE, map.argLength());
        VfioIommuType1DmaMap m = new VfioIommuType1DmaMap().wrap(map.arg(), 0);
        assertEquals(32, m.argsz());
        assertEquals(VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE,
                m.flags());
        assertEquals(GUEST_VADDR, m.vaddr());
        assertEquals(0, m.iova());
        assertEquals(GUEST_SIZE, m.mapSize());

        TraceRecord.Ioctl info = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_IOMMU_GET_INFO);
        assertEquals(VfioIommuType1Info.SIZE, info.argLength());
        VfioIommuType1Info in = new VfioIommuType1Info().wrap(info.arg(), 0);
        assertEquals(VfioIommuType1Info.SIZE, in.argsz(), "argsz = sizeof(info): too small for caps");
        assertEquals(0, in.flags());
        assertEquals(0, in.capOffset());

        TraceRecord.Ioctl unmap = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_IOMMU_UNMAP_DMA);
        VfioIommuType1DmaUnmap u = new VfioIommuType1DmaUnmap().wrap(unmap.arg(), 0);
        assertEquals(24, u.argsz());
        assertEquals(0, u.flags());
        assertEquals(0, u.iova());
        assertEquals(GUEST_SIZE, u.unmapSize());

        TraceRecord.Ioctl pasid = ioctl(recs.get(i++), 3, VfioIoctl.VFIO_IOMMU_PASID_REQUEST);
        VfioIommuType1PasidRequest p = new VfioIommuType1PasidRequest().wrap(pasid.arg(), 0);
        assertEquals(20, p.argsz());
        assertEquals(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC, p.flags());
        assertEquals(1, p.allocMin());
        assertEquals(0xFFFFF, p.allocMax());
        assertEquals(0, p.allocResult());

        assertEquals(new TraceRecord.Close(4), recs.get(i++));
        assertEquals(new TraceRecord.Kexec(KexecKind.PLANNED), recs.get(i++));
        assertEquals(recs.size(), i);

        // The Java writer produces the same bytes for the same records.
        Path javaTrace = tmp.resolve("java.trace");
        try (TraceWriter w = TraceWriter.create(javaTrace)) {
            for (TraceRecord r : recs) {
                w.write(r);
            }
        }
        assertArrayEquals(Files.readAllBytes(trace), Files.readAllBytes(javaTrace));
    }

    @Test
    void cWriterRejectsMissingArgument(@TempDir Path tmp) throws Exception {
        Path exe = CTestTool.compile(tmp, "write_trace.c", "write_trace");
        assertEquals(2, CTestTool.run(List.of(exe.toString())).exit);
    }

    private static TraceRecord.Ioctl ioctl(TraceRecord r, int fd, VfioIoctl expected) {
        TraceRecord.Ioctl io = assertInstanceOf(TraceRecord.Ioctl.class, r);
        assertEquals(fd, io.fd(), r.toString());
        assertEquals(expected.number(), io.request(), r.toString());
        assertEquals(expected, io.vfioIoctl().orElseThrow());
        return io;
    }
}
