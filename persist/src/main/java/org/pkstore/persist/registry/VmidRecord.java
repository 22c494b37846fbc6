package org.pkstore.persist.registry;

/** A VMID in use (key: vmid): how many containers share it, and the VM they belong to. */
public record VmidRecord(int vmid, int users, long vmTag) {
    public static final int VERSION = 1;
    public static final RecordCodec<VmidRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(VmidRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.vmid).i32(r.users).i64(r.vmTag).toBytes();
        }

        @Override
        public VmidRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "vmid", VERSION);
            return new VmidRecord(in.i32(), in.i32(), in.i64());
        }
    };
}
