package org.pkstore.persist.registry;

/**
 * A guest-stage binding (key: host PASID): the iommu_gpasid_bind_data of VFIO_IOMMU_BIND as the
 * kernel keeps it, plus the container that made it.
 */
public record BindingRecord(int hpasid, int containerId, int format, long flags, long gpgd, long gpasid,
                            int addrWidth, long vtdFlags, int pat, int emt) {
    public static final int VERSION = 1;
    public static final RecordCodec<BindingRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(BindingRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.hpasid).i32(r.containerId).i32(r.format).i64(r.flags)
                    .i64(r.gpgd).i64(r.gpasid).i32(r.addrWidth).i64(r.vtdFlags).i32(r.pat).i32(r.emt).toBytes();
        }

        @Override
        public BindingRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "binding", VERSION);
            return new BindingRecord(in.i32(), in.i32(), in.i32(), in.i64(), in.i64(), in.i64(), in.i32(), in.i64(),
                    in.i32(), in.i32());
        }
    };
}
