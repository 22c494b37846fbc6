package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_set_persistent_pgtables} (pkernfs RFC 13/18, docs/UAPI.md), argument of
 * {@code VFIO_CONTAINER_SET_PERSISTENT_PGTABLES}: the fd of an open pkernfs IOMMU page-table file.
 * No {@code argsz}: the kernel copies exactly {@link #SIZE} bytes.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | persistent_pgtables_fd    |
 * +--------+------+-------+---------------------------+  sizeof = 4
 * </pre>
 */
public final class VfioSetPersistentPgtables extends CStruct<VfioSetPersistentPgtables> {
    public static final String C_NAME = "vfio_set_persistent_pgtables";
    public static final int OFFSET_PERSISTENT_PGTABLES_FD = 0;
    public static final int SIZE = OFFSET_PERSISTENT_PGTABLES_FD + U32;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    /** Declared {@code __u32}; the kernel passes it to {@code fget()} which takes an unsigned int. */
    public int persistentPgtablesFd() { return u32(OFFSET_PERSISTENT_PGTABLES_FD); }
    public VfioSetPersistentPgtables persistentPgtablesFd(int v) { return u32(OFFSET_PERSISTENT_PGTABLES_FD, v); }

    @Override
    protected String fields() {
        return "persistent_pgtables_fd=" + u(persistentPgtablesFd());
    }
}
