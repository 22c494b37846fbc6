package org.pkstore.vfio.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Traces built byte by byte (docs/TRACE.md v1), parsed by TraceReader and executed. */
class TraceEngineTest {
    @TempDir
    Path dir;

    static final int SET_CONTAINER = 0x3B68;
    static final int SET_IOMMU = 0x3B66;
    static final int MAP_DMA = 0x3B71;
    static final int GET_VMID = 0x3B7D;
    static final int SET_PERSISTENT = 0x3B7F;
    static final int GET_API_VERSION = 0x3B64;

    /** header: "PKSTTRC1", u32 version 1, u32 flags 0, u64 reserved 0; records: u32 type, u32 len, payload, pad to 8. */
    static final class Trace {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Trace() {
            ByteBuffer h = le(24);
            h.put("PKSTTRC1".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(0).putLong(0);
            out.writeBytes(h.array());
        }

        static ByteBuffer le(int n) {
            return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        }

        Trace record(int type, byte[] payload) {
            ByteBuffer h = le(8).putInt(type).putInt(payload.length);
            out.writeBytes(h.array());
            out.writeBytes(payload);
            out.writeBytes(new byte[(8 - payload.length % 8) % 8]);
            return this;
        }

        Trace openContainer(int fd) { return record(1, le(4).putInt(fd).array()); }
        Trace openGroup(int fd, int group) { return record(2, le(8).putInt(fd).putInt(group).array()); }

        Trace openPgtable(int fd, String name) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            return record(3, le(8 + n.length).putInt(fd).putInt(n.length).put(n).array());
        }

        Trace mapGuestMemory(long vaddr, long size, String name) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            return record(4, le(20 + n.length).putLong(vaddr).putLong(size).putInt(n.length).put(n).array());
        }

        Trace ioctl(int fd, int request, byte[] arg) {
            return record(5, le(16 + arg.length).putInt(fd).putInt(request).putInt(arg.length).putInt(0).put(arg).array());
        }

        Trace ioctlScalar(int fd, int request, long value) {
            return record(5, le(24).putInt(fd).putInt(request).putInt(8).putInt(1).putLong(value).array());
        }

        Trace ioctlNoArg(int fd, int request) {
            return record(5, le(16).putInt(fd).putInt(request).putInt(0).putInt(0).array());
        }

        Trace close(int fd) { return record(6, le(4).putInt(fd).array()); }
        Trace kexec(int kind) { return record(7, le(4).putInt(kind).array()); }

        byte[] bytes() { return out.toByteArray(); }
    }

    static byte[] s32(int v) {
        return Trace.le(4).putInt(v).array();
    }

    /** struct vfio_iommu_type1_dma_map: argsz 0, flags 4, vaddr 8, iova 16, size 24. */
    static byte[] dmaMap(int flags, long vaddr, long iova, long size) {
        return Trace.le(32).putInt(32).putInt(flags).putLong(vaddr).putLong(iova).putLong(size).array();
    }

    /** Open, attach, persistent file, SET_IOMMU: the VMM's start-up, with trace fds 10 (container), 11 (group), 12 (file). */
    static Trace startup(Trace t, long vaddr) {
        return t.openContainer(10).openGroup(11, 1).openPgtable(12, "vm").mapGuestMemory(vaddr, 16 << 20, "ram")
                .ioctl(11, SET_CONTAINER, s32(10)).ioctl(10, SET_PERSISTENT, s32(12)).ioctlScalar(10, SET_IOMMU, 3);
    }

    @Test
    void runsATraceAcrossPlannedAndCrashKexec() throws Exception {
        Trace t = startup(new Trace(), 0x7f00_0000_0000L)
                .ioctlNoArg(10, GET_API_VERSION)
                .ioctl(10, MAP_DMA, dmaMap(3, 0x7f00_0000_0000L, 0x100000, 0x200000))
                .ioctl(10, MAP_DMA, dmaMap(3, 0x7f00_0000_0000L, 0x100000, 0x1000))
                .ioctl(10, GET_VMID, new byte[4])
                .ioctl(99, GET_VMID, new byte[4])
                .ioctl(11, SET_CONTAINER, s32(55))
                .kexec(1);
        startup(t, 0x5500_0000_0000L)
                .ioctl(10, MAP_DMA, dmaMap(3 | 8, 0x5500_0000_0000L, 0x100000, 0x200000))
                .close(10)
                .close(10)
                .kexec(2);
        try (TraceEngine e = new TraceEngine(dir, HostTopology.defaultTopology())) {
            List<TraceEngine.StepResult> r = e.run(t.bytes(), "test");
            String[] expect = {
                "OPEN_CONTAINER 10", "OPEN_GROUP 11", "OPEN_PGTABLE_FILE 12", "MAP_GUEST_MEMORY 0",
                "VFIO_GROUP_SET_CONTAINER 0", "VFIO_CONTAINER_SET_PERSISTENT_PGTABLES 0", "VFIO_SET_IOMMU 0",
                "VFIO_GET_API_VERSION 0", "VFIO_IOMMU_MAP_DMA 0", "VFIO_IOMMU_MAP_DMA EEXIST", "VFIO_IOMMU_GET_VMID 0",
                "VFIO_IOMMU_GET_VMID EBADF", "VFIO_GROUP_SET_CONTAINER EBADF", "KEXEC_PLANNED 0",
                "OPEN_CONTAINER 10", "OPEN_GROUP 11", "OPEN_PGTABLE_FILE 12", "MAP_GUEST_MEMORY 0",
                "VFIO_GROUP_SET_CONTAINER 0", "VFIO_CONTAINER_SET_PERSISTENT_PGTABLES 0", "VFIO_SET_IOMMU 0",
                "VFIO_IOMMU_MAP_DMA 0", "CLOSE 0", "CLOSE EBADF", "KEXEC_CRASH 0",
            };
            assertEquals(expect.length, r.size());
            for (int i = 0; i < expect.length; i++) {
                assertEquals(expect[i], r.get(i).name() + " " + r.get(i).result(), "record " + i);
            }
            assertEquals(1, ByteBuffer.wrap(r.get(10).outArg()).order(ByteOrder.LITTLE_ENDIAN).getInt(), "VMID written back");
            assertArrayEquals(s32(10), r.get(4).outArg(), "the trace's fd is restored in the output");
            assertEquals(3, e.boots().size());
            assertFalse(e.boots().get(1).unclean());
            assertTrue(e.boots().get(2).unclean(), "the crash kexec is recovered");
            assertNull(e.boots().get(2).intent(), "no ioctl was cut short");
            // the container was closed before the crash: nothing preserved
            assertTrue(e.kernel().preservedContainers().isEmpty());
        }
    }

    @Test
    void liveUpdateAfterKexecWritesNoDescriptor() throws Exception {
        Trace before = startup(new Trace(), 0x7f00_0000_0000L)
                .ioctl(10, MAP_DMA, dmaMap(3, 0x7f00_0000_0000L, 0x40000000L, 0x400000));
        Trace after = startup(new Trace(), 0x6000_0000_0000L)
                .ioctl(10, MAP_DMA, dmaMap(3 | 8, 0x6000_0000_0000L, 0x40000000L, 0x400000))
                .ioctl(10, MAP_DMA, dmaMap(3 | 8, 0x6000_0000_0000L, 0x50000000L, 0x1000));
        try (TraceEngine e = new TraceEngine(dir, HostTopology.defaultTopology())) {
            assertTrue(e.run(before.bytes(), "before").stream().allMatch(s -> s.ret() >= 0));
            e.step(new org.pkstore.vfio.trace.TraceRecord.Kexec(org.pkstore.vfio.trace.KexecKind.PLANNED));
            PageTableFile pt = e.mount().openTableFile(e.mount().pageTablePath("vm"));
            PageTableFile hw = e.kernel().unit(0).deviceTable().file();
            long pt0 = pt.descriptorWrites();
            long hw0 = hw.descriptorWrites();
            List<TraceEngine.StepResult> r = e.run(after.bytes(), "after");
            assertEquals("0", r.get(r.size() - 2).result());
            assertEquals("EINVAL", r.get(r.size() - 1).result(), "nothing mapped there");
            assertEquals(pt0, pt.descriptorWrites());
            assertEquals(hw0, hw.descriptorWrites());
            assertTrue(e.kernel().unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x40001000L, Prot.WRITE).ok());
        }
    }
}
