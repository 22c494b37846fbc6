package org.pkstore.persist.registry;

/**
 * An IOMMU domain (key: domain id). {@code format} is the page-table format id stored in the
 * page-table file header, {@code stage} 1 = paging (stage 2 only), 2 = nested (a guest stage 1 is
 * bound on top), {@code partialUnmapPolicy} 0 = split blocks, 1 = refuse.
 */
public record DomainRecord(long domainId, int unitId, int format, int vmid, String pgtableFile, int stage,
                           int partialUnmapPolicy, long pgsizeBitmap, int containerId) {
    public static final int VERSION = 1;
    public static final RecordCodec<DomainRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(DomainRecord r) {
            return RecordBuffer.writer(VERSION).i64(r.domainId).i32(r.unitId).i32(r.format).i32(r.vmid)
                    .str(r.pgtableFile).i32(r.stage).i32(r.partialUnmapPolicy).i64(r.pgsizeBitmap)
                    .i32(r.containerId).toBytes();
        }

        @Override
        public DomainRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "domain", VERSION);
            return new DomainRecord(in.i64(), in.i32(), in.i32(), in.i32(), in.str(), in.i32(), in.i32(), in.i64(),
                    in.i32());
        }
    };
}
