package org.pkstore.persist.registry;

/** An undelivered fault (key: sequence number): the 64-byte struct iommu_fault as the VMM will read it. */
public record FaultRecord(long seq, int containerId, byte[] fault) {
    public static final int VERSION = 1;
    public static final int FAULT_SIZE = 64;
    public static final RecordCodec<FaultRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(FaultRecord r) {
            return RecordBuffer.writer(VERSION).i64(r.seq).i32(r.containerId).bytes(r.fault).toBytes();
        }

        @Override
        public FaultRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "fault", VERSION);
            FaultRecord r = new FaultRecord(in.i64(), in.i32(), in.bytes());
            if (r.fault.length != FAULT_SIZE) {
                throw new IllegalArgumentException("fault: " + r.fault.length + " bytes, expected " + FAULT_SIZE);
            }
            return r;
        }
    };
}
