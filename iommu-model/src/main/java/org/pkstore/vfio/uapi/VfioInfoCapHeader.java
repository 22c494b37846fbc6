package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_info_cap_header} (mainline linux/vfio.h): the header of every capability in
 * a capability chain; {@code next} is the offset of the next capability from the start of the
 * enclosing info struct (0 = end of chain).
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    2 | __u16 | id                        |
 * |      2 |    2 | __u16 | version                   |
 * |      4 |    4 | __u32 | next                      |
 * +--------+------+-------+---------------------------+  sizeof = 8
 * </pre>
 */
public final class VfioInfoCapHeader extends CStruct<VfioInfoCapHeader> {
    public static final String C_NAME = "vfio_info_cap_header";
    public static final int OFFSET_ID = 0;
    public static final int OFFSET_VERSION = OFFSET_ID + U16;
    public static final int OFFSET_NEXT = OFFSET_VERSION + U16;
    public static final int SIZE = OFFSET_NEXT + U32;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int id() { return u16(OFFSET_ID); }
    public VfioInfoCapHeader id(int v) { return u16(OFFSET_ID, v); }
    public int version() { return u16(OFFSET_VERSION); }
    public VfioInfoCapHeader version(int v) { return u16(OFFSET_VERSION, v); }
    public int next() { return u32(OFFSET_NEXT); }
    public VfioInfoCapHeader next(int v) { return u32(OFFSET_NEXT, v); }

    @Override
    protected String fields() {
        return "id=" + id() + ", version=" + version() + ", next=" + u(next());
    }
}
