package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_pasid_table_config} (2018 bind_guest_stage RFC, docs/UAPI.md): a guest PASID
 * table to bind. Note the tail padding after {@code pasid_bits}.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | version (PASID_TABLE_CFG_VERSION_1) |
 * |      4 |    4 | __u32 | bytes                     |
 * |      8 |    8 | __u64 | base_ptr                  |
 * |     16 |    1 | __u8  | pasid_bits                |
 * |     17 |    7 |       | (tail padding)            |
 * +--------+------+-------+---------------------------+  sizeof = 24
 * </pre>
 */
public final class IommuPasidTableConfig extends CStruct<IommuPasidTableConfig> {
    public static final String C_NAME = "iommu_pasid_table_config";
    public static final int OFFSET_VERSION = 0;
    public static final int OFFSET_BYTES = OFFSET_VERSION + U32;
    public static final int OFFSET_BASE_PTR = OFFSET_BYTES + U32;
    public static final int OFFSET_PASID_BITS = OFFSET_BASE_PTR + U64;
    public static final int SIZE = align(OFFSET_PASID_BITS + U8, U64);

    public static final int PASID_TABLE_CFG_VERSION_1 = 1;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int version() { return u32(OFFSET_VERSION); }
    public IommuPasidTableConfig version(int v) { return u32(OFFSET_VERSION, v); }
    public int bytes() { return u32(OFFSET_BYTES); }
    public IommuPasidTableConfig bytes(int v) { return u32(OFFSET_BYTES, v); }
    public long basePtr() { return u64(OFFSET_BASE_PTR); }
    public IommuPasidTableConfig basePtr(long v) { return u64(OFFSET_BASE_PTR, v); }
    public int pasidBits() { return u8(OFFSET_PASID_BITS); }
    public IommuPasidTableConfig pasidBits(int v) { return u8(OFFSET_PASID_BITS, v); }

    @Override
    protected String fields() {
        return "version=" + u(version()) + ", bytes=" + u(bytes()) + ", base_ptr=" + x(basePtr())
                + ", pasid_bits=" + pasidBits();
    }
}
