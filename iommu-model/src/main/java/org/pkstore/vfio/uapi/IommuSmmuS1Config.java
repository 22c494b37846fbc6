package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_smmu_s1_config} (bind_guest_stage RFC, docs/UAPI.md): SMMUv3 stream table entry stage-1 info. The
 * layout has natural padding: 5 bytes after {@code aborted} (to align {@code cdptr_dma}) and 6
 * bytes of tail padding after {@code asid}. (Seed 002's reviewer notes {@code asid} is a leftover;
 * it is kept because the layout is what the seed declares.)
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    1 | __u8  | disabled                  |
 * |      1 |    1 | __u8  | bypassed                  |
 * |      2 |    1 | __u8  | aborted                   |
 * |      3 |    5 |       | (padding)                 |
 * |      8 |    8 | __u64 | cdptr_dma                 |
 * |     16 |    2 | __u16 | asid                      |
 * |     18 |    6 |       | (tail padding)            |
 * +--------+------+-------+---------------------------+  sizeof = 24
 * </pre>
 */
public final class IommuSmmuS1Config extends CStruct<IommuSmmuS1Config> {
    public static final String C_NAME = "iommu_smmu_s1_config";
    public static final int OFFSET_DISABLED = 0;
    public static final int OFFSET_BYPASSED = OFFSET_DISABLED + U8;
    public static final int OFFSET_ABORTED = OFFSET_BYPASSED + U8;
    public static final int OFFSET_CDPTR_DMA = align(OFFSET_ABORTED + U8, U64);
    public static final int OFFSET_ASID = OFFSET_CDPTR_DMA + U64;
    public static final int SIZE = align(OFFSET_ASID + U16, U64);

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int disabled() { return u8(OFFSET_DISABLED); }
    public IommuSmmuS1Config disabled(int v) { return u8(OFFSET_DISABLED, v); }
    public int bypassed() { return u8(OFFSET_BYPASSED); }
    public IommuSmmuS1Config bypassed(int v) { return u8(OFFSET_BYPASSED, v); }
    public int aborted() { return u8(OFFSET_ABORTED); }
    public IommuSmmuS1Config aborted(int v) { return u8(OFFSET_ABORTED, v); }
    public long cdptrDma() { return u64(OFFSET_CDPTR_DMA); }
    public IommuSmmuS1Config cdptrDma(long v) { return u64(OFFSET_CDPTR_DMA, v); }
    public int asid() { return u16(OFFSET_ASID); }
    public IommuSmmuS1Config asid(int v) { return u16(OFFSET_ASID, v); }

    @Override
    protected String fields() {
        return "disabled=" + disabled() + ", bypassed=" + bypassed() + ", aborted=" + aborted()
                + ", cdptr_dma=" + x(cdptrDma()) + ", asid=" + asid();
    }
}
