package org.pkstore.vfio.uapi;

/**
 * The {@code __u32} (or {@code __s32}) that a pointer argument such as {@code VFIO_IOMMU_GET_VMID}'s
 * {@code __u32 *vmid} or {@code VFIO_GROUP_SET_CONTAINER}'s {@code __s32 *container_fd} points to.
 * Not a struct: it exists so that both sides read and write these arguments through a flyweight too.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | value                     |
 * +--------+------+-------+---------------------------+  sizeof = 4
 * </pre>
 */
public final class UserU32 extends CStruct<UserU32> {
    public static final String C_NAME = "__u32";
    public static final int OFFSET_VALUE = 0;
    public static final int SIZE = OFFSET_VALUE + U32;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int value() { return u32(OFFSET_VALUE); }
    public UserU32 value(int v) { return u32(OFFSET_VALUE, v); }

    @Override
    protected String fields() {
        return "value=" + u(value());
    }
}
