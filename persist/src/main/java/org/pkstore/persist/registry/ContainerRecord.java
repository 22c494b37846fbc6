package org.pkstore.persist.registry;

/**
 * A VFIO container (key: container id). {@code iommuType} is the VFIO_SET_IOMMU type (0 before it),
 * {@code vmid} the VMID shared through VFIO_IOMMU_SET_VMID (0xFFFFFFFF = invalid), {@code pgtableFile}
 * the pkernfs page-table file set by SET_PERSISTENT_PGTABLES ("" if none), {@code domainId} the
 * domain allocated for it (0 if none), {@code pasidQuota} the PASIDs it may hold.
 */
public record ContainerRecord(int containerId, int iommuType, int vmid, String pgtableFile, long domainId,
                              int pasidQuota, int flags) {
    public static final int VERSION = 1;
    public static final RecordCodec<ContainerRecord> CODEC = new RecordCodec<>() {
        @Override
        public byte[] encode(ContainerRecord r) {
            return RecordBuffer.writer(VERSION).i32(r.containerId).i32(r.iommuType).i32(r.vmid).str(r.pgtableFile)
                    .i64(r.domainId).i32(r.pasidQuota).i32(r.flags).toBytes();
        }

        @Override
        public ContainerRecord decode(byte[] b) {
            RecordBuffer in = RecordBuffer.reader(b, "container", VERSION);
            return new ContainerRecord(in.i32(), in.i32(), in.i32(), in.str(), in.i64(), in.i32(), in.i32());
        }
    };
}
