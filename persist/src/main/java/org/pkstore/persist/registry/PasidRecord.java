package org.pkstore.persist.registry;

/** A system-wide PASID allocation (key: pasid) and the container that owns it. */
public record PasidRecord(int pasid, int containerId) {
    public static final int VERSION = 1;
    public static final RecordCodec<PasidRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(PasidRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.pasid).i32(r.containerId).toBytes();
        }

        @Override
        public PasidRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "pasid", VERSION);
            return new PasidRecord(in.i32(), in.i32());
        }
    };
}
