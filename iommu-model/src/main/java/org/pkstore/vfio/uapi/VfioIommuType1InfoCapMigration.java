package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_info_cap_migration} (mainline linux/vfio.h), capability id
 * {@link VfioUapi#VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION}: dirty page logging support. Declared so
 * the id is accounted for; pkstore does not model dirty tracking. Note the natural padding at 12.
 * <pre>
 * +--------+------+------------------------+---------------------------+
 * | offset | size | type                   | field                     |
 * +--------+------+------------------------+---------------------------+
 * |      0 |    8 | vfio_info_cap_header   | header                    |
 * |      8 |    4 | __u32                  | flags                     |
 * |     12 |    4 |                        | (padding)                 |
 * |     16 |    8 | __u64                  | pgsize_bitmap             |
 * |     24 |    8 | __u64                  | max_dirty_bitmap_size     |
 * +--------+------+------------------------+---------------------------+  sizeof = 32
 * </pre>
 */
public final class VfioIommuType1InfoCapMigration extends CStruct<VfioIommuType1InfoCapMigration> {
    public static final String C_NAME = "vfio_iommu_type1_info_cap_migration";
    public static final int OFFSET_HEADER = 0;
    public static final int OFFSET_FLAGS = OFFSET_HEADER + VfioInfoCapHeader.SIZE;
    public static final int OFFSET_PGSIZE_BITMAP = align(OFFSET_FLAGS + U32, U64);
    public static final int OFFSET_MAX_DIRTY_BITMAP_SIZE = OFFSET_PGSIZE_BITMAP + U64;
    public static final int SIZE = OFFSET_MAX_DIRTY_BITMAP_SIZE + U64;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public VfioInfoCapHeader header() { return nested(new VfioInfoCapHeader(), OFFSET_HEADER); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1InfoCapMigration flags(int v) { return u32(OFFSET_FLAGS, v); }
    public long pgsizeBitmap() { return u64(OFFSET_PGSIZE_BITMAP); }
    public VfioIommuType1InfoCapMigration pgsizeBitmap(long v) { return u64(OFFSET_PGSIZE_BITMAP, v); }
    public long maxDirtyBitmapSize() { return u64(OFFSET_MAX_DIRTY_BITMAP_SIZE); }
    public VfioIommuType1InfoCapMigration maxDirtyBitmapSize(long v) { return u64(OFFSET_MAX_DIRTY_BITMAP_SIZE, v); }

    @Override
    protected String fields() {
        return "header={" + header().fields() + "}, flags=" + x(flags()) + ", pgsize_bitmap=" + x(pgsizeBitmap())
                + ", max_dirty_bitmap_size=" + maxDirtyBitmapSize();
    }
}
