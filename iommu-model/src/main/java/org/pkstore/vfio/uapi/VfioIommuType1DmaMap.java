package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_dma_map} (mainline linux/vfio.h), argument of
 * {@code VFIO_IOMMU_MAP_DMA}: map {@code size} bytes of process memory at {@code vaddr} at
 * {@code iova}. Caller sets {@code argsz}.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | argsz                     |
 * |      4 |    4 | __u32 | flags                     |
 * |      8 |    8 | __u64 | vaddr                     |
 * |     16 |    8 | __u64 | iova                      |
 * |     24 |    8 | __u64 | size                      |
 * +--------+------+-------+---------------------------+  sizeof = 32 (= minsz)
 * </pre>
 */
public final class VfioIommuType1DmaMap extends CStruct<VfioIommuType1DmaMap> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_dma_map";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_VADDR = OFFSET_FLAGS + U32;
    public static final int OFFSET_IOVA = OFFSET_VADDR + U64;
    public static final int OFFSET_SIZE = OFFSET_IOVA + U64;
    public static final int SIZE = OFFSET_SIZE + U64;

    /** Readable from the device. */
    public static final int VFIO_DMA_MAP_FLAG_READ = 1 << 0;
    /** Writable from the device. */
    public static final int VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
    /** Mainline: update the vaddr of an existing mapping invalidated by VFIO_DMA_UNMAP_FLAG_VADDR. */
    public static final int VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;
    /**
     * pkstore (pkernfs live update): after kexec, re-establish the container's record of a mapping
     * whose PTEs already exist in the persistent page tables set with
     * VFIO_CONTAINER_SET_PERSISTENT_PGTABLES. Nothing is written to the tables; the tables must
     * already map the whole range to the pages behind {@code vaddr} with the requested permissions.
     */
    public static final int VFIO_DMA_MAP_FLAG_LIVE_UPDATE = 1 << 3;
    /** Every flag bit this model knows; any other bit is -EINVAL. */
    public static final int KNOWN_FLAGS = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE
            | VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_LIVE_UPDATE;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1DmaMap argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1DmaMap flags(int v) { return u32(OFFSET_FLAGS, v); }
    public long vaddr() { return u64(OFFSET_VADDR); }
    public VfioIommuType1DmaMap vaddr(long v) { return u64(OFFSET_VADDR, v); }
    public long iova() { return u64(OFFSET_IOVA); }
    public VfioIommuType1DmaMap iova(long v) { return u64(OFFSET_IOVA, v); }
    /** The {@code size} field (length of the mapping), not {@link #size()}. */
    public long mapSize() { return u64(OFFSET_SIZE); }
    public VfioIommuType1DmaMap mapSize(long v) { return u64(OFFSET_SIZE, v); }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", vaddr=" + x(vaddr()) + ", iova=" + x(iova())
                + ", size=" + x(mapSize());
    }
}
