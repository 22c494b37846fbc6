package org.pkstore.persist.registry;

/**
 * A nested domain's guest stage-1 configuration (docs/UAPI.md source 002's iommu_guest_stage_config; key: container
 * id): {@code kind} 1 = PASID table (base, pasid bits), 2 = SMMUv3 stage 1 (context descriptor pointer,
 * flags for disabled/bypassed/aborted, asid bits).
 */
public record GuestStageRecord(int containerId, int kind, long basePtr, int pasidBits, int s1Flags) {
    public static final int VERSION = 1;
    public static final RecordCodec<GuestStageRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(GuestStageRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.containerId).i32(r.kind).i64(r.basePtr).i32(r.pasidBits)
                    .i32(r.s1Flags).toBytes();
        }

        @Override
        public GuestStageRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "guest-stage", VERSION);
            return new GuestStageRecord(in.i32(), in.i32(), in.i64(), in.i32(), in.i32());
        }
    };
}
