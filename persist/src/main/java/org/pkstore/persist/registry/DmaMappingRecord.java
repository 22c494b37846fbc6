package org.pkstore.persist.registry;

/**
 * One VFIO_IOMMU_MAP_DMA as type1 keeps it (struct vfio_dma): key {@link #key(int, long)}.
 * {@code pa} is where {@code vaddr} resolved in guest memory at map time.
 */
public record DmaMappingRecord(int containerId, long iova, long size, long vaddr, long pa, int prot) {
    public static final int VERSION = 1;

    /** Container id in the top 28 bits, IOVA page number (36 bits for a 48-bit IOVA) below. */
    public static long key(int containerId, long iova) {
        return ((long) containerId << 36) | (iova >>> 12);
    }

    public static int containerOf(long key) {
        return (int) (key >>> 36);
    }

    public long key() {
        return key(containerId, iova);
    }

    public static final RecordCodec<DmaMappingRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(DmaMappingRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.containerId).i64(r.iova).i64(r.size).i64(r.vaddr).i64(r.pa)
                    .i32(r.prot).toBytes();
        }

        @Override
        public DmaMappingRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "dma", VERSION);
            return new DmaMappingRecord(in.i32(), in.i64(), in.i64(), in.i64(), in.i64(), in.i32());
        }
    };
}
