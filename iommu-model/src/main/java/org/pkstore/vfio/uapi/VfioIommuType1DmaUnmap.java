package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_dma_unmap} (mainline linux/vfio.h), argument of
 * {@code VFIO_IOMMU_UNMAP_DMA}. Caller sets {@code argsz}; the kernel writes the number of bytes
 * actually unmapped back into {@code size}. {@code data[]} carries a {@code struct vfio_bitmap}
 * only with {@link #VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP} (not modelled).
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | argsz                     |
 * |      4 |    4 | __u32 | flags                     |
 * |      8 |    8 | __u64 | iova                      |
 * |     16 |    8 | __u64 | size (in; out: unmapped)  |
 * |     24 |    0 | __u8[]| data                      |
 * +--------+------+-------+---------------------------+  sizeof = 24 (= minsz)
 * </pre>
 */
public final class VfioIommuType1DmaUnmap extends CStruct<VfioIommuType1DmaUnmap> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_dma_unmap";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_IOVA = OFFSET_FLAGS + U32;
    public static final int OFFSET_SIZE = OFFSET_IOVA + U64;
    public static final int OFFSET_DATA = OFFSET_SIZE + U64;
    public static final int SIZE = OFFSET_DATA;

    public static final int VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
    /** Unmap everything; iova and size must be 0. Needs extension VFIO_UNMAP_ALL. */
    public static final int VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
    /** Invalidate the host vaddr of the range, keep the mapping. Needs extension VFIO_UPDATE_VADDR. */
    public static final int VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;
    public static final int KNOWN_FLAGS = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL
            | VFIO_DMA_UNMAP_FLAG_VADDR;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1DmaUnmap argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1DmaUnmap flags(int v) { return u32(OFFSET_FLAGS, v); }
    public long iova() { return u64(OFFSET_IOVA); }
    public VfioIommuType1DmaUnmap iova(long v) { return u64(OFFSET_IOVA, v); }
    /** The {@code size} field, not {@link #size()}. */
    public long unmapSize() { return u64(OFFSET_SIZE); }
    public VfioIommuType1DmaUnmap unmapSize(long v) { return u64(OFFSET_SIZE, v); }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", iova=" + x(iova()) + ", size=" + x(unmapSize());
    }
}
