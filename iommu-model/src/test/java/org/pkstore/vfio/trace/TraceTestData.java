package org.pkstore.vfio.trace;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;

import org.pkstore.vfio.uapi.VfioIoctl;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioUapi;

/** A trace with every record type, shared by the trace tests. */
final class TraceTestData {
    private TraceTestData() {}

    static List<TraceRecord> allTypes() {
        byte[] map = new byte[VfioIommuType1DmaMap.SIZE];
        new VfioIommuType1DmaMap().wrap(map, 0).argsz(VfioIommuType1DmaMap.SIZE)
                .flags(VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE)
                .vaddr(0x7f00_0000_0000L).iova(0).mapSize(0x4000_0000L);
        byte[] info = new byte[VfioIommuType1Info.SIZE];
        new VfioIommuType1Info().wrap(info, 0).argsz(VfioIommuType1Info.SIZE);
        byte[] pasid = new byte[VfioIommuType1PasidRequest.SIZE];
        new VfioIommuType1PasidRequest().wrap(pasid, 0).argsz(VfioIommuType1PasidRequest.SIZE)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC).allocMin(1).allocMax(0xFFFFF);
        return List.of(
                new TraceRecord.OpenContainer(3),
                new TraceRecord.OpenGroup(4, 26),
                TraceRecord.Ioctl.pointer(4, VfioIoctl.VFIO_GROUP_SET_CONTAINER.number(), new byte[] {3, 0, 0, 0}),
                TraceRecord.Ioctl.scalar(3, VfioIoctl.VFIO_CHECK_EXTENSION.number(), VfioUapi.VFIO_TYPE1v2_IOMMU),
                new TraceRecord.OpenPgtableFile(5, "vm0-iommu"),
                TraceRecord.Ioctl.pointer(3, VfioIoctl.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES.number(),
                        new byte[] {5, 0, 0, 0}),
                TraceRecord.Ioctl.scalar(3, VfioIoctl.VFIO_SET_IOMMU.number(), VfioUapi.VFIO_TYPE1v2_IOMMU),
                new TraceRecord.MapGuestMemory(0x7f00_0000_0000L, 0x4000_0000L, "vm0-ram"),
                TraceRecord.Ioctl.pointer(3, VfioIoctl.VFIO_IOMMU_MAP_DMA.number(), map),
                TraceRecord.Ioctl.pointer(3, VfioIoctl.VFIO_IOMMU_GET_INFO.number(), info),
                TraceRecord.Ioctl.pointer(3, VfioIoctl.VFIO_IOMMU_PASID_REQUEST.number(), pasid),
                TraceRecord.Ioctl.noArg(3, VfioIoctl.VFIO_GET_API_VERSION.number()),
                TraceRecord.Ioctl.pointer(-1, 0x12345678, new byte[] {1, 2, 3}),
                new TraceRecord.Close(4),
                new TraceRecord.Kexec(KexecKind.PLANNED),
                new TraceRecord.OpenContainer(3),
                new TraceRecord.Kexec(KexecKind.CRASH));
    }

    static byte[] write(List<TraceRecord> records) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (TraceWriter w = new TraceWriter(bos)) {
            for (TraceRecord r : records) {
                w.write(r);
            }
        }
        return bos.toByteArray();
    }
}
