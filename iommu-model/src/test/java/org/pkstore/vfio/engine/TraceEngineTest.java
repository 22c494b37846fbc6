package org.pkstore.vfio.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;

import org.pkstore.vfio.trace.KexecKind;
import org.pkstore.vfio.trace.TraceBytes;
import org.pkstore.vfio.trace.TraceReader;
import org.pkstore.vfio.trace.TraceRecord;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.pkstore.vfio.trace.TraceBytes.dmaMap;
import static org.pkstore.vfio.trace.TraceBytes.s32;

/** Traces built byte by byte ({@link TraceBytes}, docs/TRACE.md v1), parsed by TraceReader and executed. */
class TraceEngineTest {
    @TempDir
    Path dir;

    static final int SET_CONTAINER = 0x3B68;
    static final int SET_IOMMU = 0x3B66;
    static final int MAP_DMA = 0x3B71;
    static final int GET_VMID = 0x3B7D;
    static final int SET_PERSISTENT = 0x3B7F;
    static final int GET_API_VERSION = 0x3B64;

    /** Open, attach, persistent file, SET_IOMMU: the VMM's start-up, with trace fds 10 (container), 11 (group), 12 (file). */
    static TraceBytes startup(TraceBytes t, long vaddr) {
        return t.openContainer(10).openGroup(11, 1).openPgtable(12, "vm").mapGuestMemory(vaddr, 16 << 20, "ram")
                .ioctl(11, SET_CONTAINER, s32(10)).ioctl(10, SET_PERSISTENT, s32(12)).ioctlScalar(10, SET_IOMMU, 3);
    }

    @Test
    void runsATraceAcrossPlannedAndCrashKexec() throws Exception {
        TraceBytes t = startup(new TraceBytes(), 0x7f00_0000_0000L)
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
        TraceBytes before = startup(new TraceBytes(), 0x7f00_0000_0000L)
                .ioctl(10, MAP_DMA, dmaMap(3, 0x7f00_0000_0000L, 0x40000000L, 0x400000));
        TraceBytes after = startup(new TraceBytes(), 0x6000_0000_0000L)
                .ioctl(10, MAP_DMA, dmaMap(3 | 8, 0x6000_0000_0000L, 0x40000000L, 0x400000))
                .ioctl(10, MAP_DMA, dmaMap(3 | 8, 0x6000_0000_0000L, 0x50000000L, 0x1000));
        try (TraceEngine e = new TraceEngine(dir, HostTopology.defaultTopology())) {
            assertTrue(e.run(before.bytes(), "before").stream().allMatch(s -> s.ret() >= 0));
            e.step(new TraceRecord.Kexec(KexecKind.PLANNED));
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

    /** An OPEN_* returning a trace fd still open is refused, not mapped over the first: nothing of it runs. */
    @Test
    void anOpenReusingAnOpenFdIsRefused() throws Exception {
        TraceBytes t = new TraceBytes().openContainer(10).openGroup(11, 1).close(11).openGroup(11, 2).openContainer(11);
        try (TraceEngine e = new TraceEngine(dir, HostTopology.defaultTopology())) {
            List<TraceEngine.StepResult> ran = new ArrayList<>();
            InconsistentTraceException x = assertThrows(InconsistentTraceException.class, () -> {
                for (TraceRecord r : TraceReader.readAll(t.bytes(), "t")) {
                    ran.add(e.step(r));
                }
            });
            assertEquals(4, ran.size(), "a closed fd may be opened again");
            assertEquals("OPEN_GROUP 11", ran.get(3).name() + " " + ran.get(3).result());
            assertEquals(4, x.index());
            assertEquals(11, x.fd());
            assertTrue(x.getMessage().contains("record #4 OPEN_CONTAINER returns fd 11, which record #3 opened"), x::getMessage);
            TraceEngine.StepResult attach = e.step(TraceRecord.Ioctl.pointer(11, SET_CONTAINER, s32(10)));
            assertEquals("VFIO_GROUP_SET_CONTAINER 0", attach.name() + " " + attach.result(),
                    "fd 11 is still the group: the refused open shadowed nothing");
            assertEquals(4, attach.index(), "the refused record took no index");
        }
    }
}
