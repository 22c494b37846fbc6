package org.pkstore.persist.registry;

/** An IOMMU group attached to a container (key: group id). */
public record GroupRecord(int groupId, int containerId) {
    public static final int VERSION = 1;
    public static final RecordCodec<GroupRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(GroupRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.groupId).i32(r.containerId).toBytes();
        }

        @Override
        public GroupRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "group", VERSION);
            return new GroupRecord(in.i32(), in.i32());
        }
    };
}
