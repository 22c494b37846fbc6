package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_info_dma_avail} (mainline linux/vfio.h), capability id
 * {@link VfioUapi#VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL}, version 1: how many more DMA mappings the
 * container accepts before MAP_DMA returns -ENOSPC.
 * <pre>
 * +--------+------+------------------------+---------------------------+
 * | offset | size | type                   | field                     |
 * +--------+------+------------------------+---------------------------+
 * |      0 |    8 | vfio_info_cap_header   | header                    |
 * |      8 |    4 | __u32                  | avail                     |
 * +--------+------+------------------------+---------------------------+  sizeof = 12
 * </pre>
 * (sizeof is 12, not 16: the struct's alignment is 4.) Linux places capabilities at 8-byte
 * aligned offsets in the chain, so a following capability starts at +16.
 */
public final class VfioIommuType1InfoDmaAvail extends CStruct<VfioIommuType1InfoDmaAvail> {
    public static final String C_NAME = "vfio_iommu_type1_info_dma_avail";
    public static final int OFFSET_HEADER = 0;
    public static final int OFFSET_AVAIL = OFFSET_HEADER + VfioInfoCapHeader.SIZE;
    public static final int SIZE = OFFSET_AVAIL + U32;
    public static final int VERSION = 1;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public VfioInfoCapHeader header() { return nested(new VfioInfoCapHeader(), OFFSET_HEADER); }
    public int avail() { return u32(OFFSET_AVAIL); }
    public VfioIommuType1InfoDmaAvail avail(int v) { return u32(OFFSET_AVAIL, v); }

    @Override
    protected String fields() {
        return "header={" + header().fields() + "}, avail=" + u(avail());
    }
}
