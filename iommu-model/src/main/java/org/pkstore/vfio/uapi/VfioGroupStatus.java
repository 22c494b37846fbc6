package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_group_status} (mainline linux/vfio.h), argument of
 * {@code VFIO_GROUP_GET_STATUS} on a group fd. Caller sets {@code argsz}; the kernel fills
 * {@code flags}.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | argsz                     |
 * |      4 |    4 | __u32 | flags (VIABLE, CONTAINER_SET) |
 * +--------+------+-------+---------------------------+  sizeof = 8
 * </pre>
 */
public final class VfioGroupStatus extends CStruct<VfioGroupStatus> implements ArgszStruct {
    public static final String C_NAME = "vfio_group_status";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int SIZE = OFFSET_FLAGS + U32;

    /** All devices in the group are bound to vfio drivers (or none at all). */
    public static final int VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
    /** The group is attached to a container. */
    public static final int VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioGroupStatus argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioGroupStatus flags(int v) { return u32(OFFSET_FLAGS, v); }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags());
    }
}
