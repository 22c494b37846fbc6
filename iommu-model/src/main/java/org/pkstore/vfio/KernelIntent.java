package org.pkstore.vfio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The operations the VFIO layer records in the mount's one-slot intent journal, and their
 * payloads (little-endian); each kind's steps, payload, undo and finish live in its own class
 * beside the operation. After an unclean end an active intent is undone (MAP_DMA, BIND,
 * GUEST_STAGE_SET: the ioctl never returned, so it must leave no trace) or finished (UNMAP_DMA,
 * UNBIND, GUEST_STAGE_CLEAR, SET_VMID, RELEASE: their first step already destroyed state the
 * caller asked to destroy, so completing them is the only consistent outcome).
 *
 * <pre>
 *  op  name               payload
 *  1   MAP_DMA            i32 container | i64 iova | i64 size | i64 pa | i32 prot     (undo; {@link DmaIntent})
 *  2   UNMAP_DMA          i32 container | i64 iova | i64 size                        (finish; {@link DmaIntent})
 *  3   SET_VMID           i32 container | i32 old vmid | i32 new vmid                (finish; {@link VmidIntent})
 *  4   BIND               i32 container | i32 hpasid                                 (undo; {@link PasidIntent})
 *  5   UNBIND             i32 container | i32 hpasid                                 (finish; {@link PasidIntent})
 *  6   GUEST_STAGE_SET    i32 container                                              (undo; {@link PasidIntent})
 *  7   GUEST_STAGE_CLEAR  i32 container                                              (finish; {@link PasidIntent})
 *  8   RELEASE            i32 container                                              (finish; {@link ReleaseIntent})
 * 10   SET_IOMMU          i32 container | i64 domain id | i32 vmid  (finish once the domain record is in, else undo; {@link SetIommuIntent})
 * 11   GROUP_ATTACH       i32 container | i32 group     (finish once the group record is in, else undo; {@link GroupIntent})
 * 12   GROUP_DETACH       i32 container | i32 group     (finish; {@link GroupIntent})
 * 13   RECLAIM            i32 fresh container | i32 preserved container  (finish; {@link ReclaimIntent})
 *  9   HOTSWAP            i32 container | i64 old root | i64 new root   (finish once published, else undo; {@link HotswapIntent})
 * 14   CATCH_UP           i32 container | i32 type | i32 vmid | i64 domain | groups | mappings  (finish; {@link CatchUpIntent})
 * </pre>
 */
public final class KernelIntent {
    private KernelIntent() {}

    public static final int MAP_DMA = 1;
    public static final int UNMAP_DMA = 2;
    public static final int SET_VMID = 3;
    public static final int BIND = 4;
    public static final int UNBIND = 5;
    public static final int GUEST_STAGE_SET = 6;
    public static final int GUEST_STAGE_CLEAR = 7;
    public static final int RELEASE = 8;
    public static final int HOTSWAP = 9;
    public static final int SET_IOMMU = 10;
    public static final int GROUP_ATTACH = 11;
    public static final int GROUP_DETACH = 12;
    public static final int RECLAIM = 13;
    public static final int CATCH_UP = 14;

    public static String name(int op) {
        switch (op) {
            case MAP_DMA: return "MAP_DMA";
            case UNMAP_DMA: return "UNMAP_DMA";
            case SET_VMID: return "SET_VMID";
            case BIND: return "BIND";
            case UNBIND: return "UNBIND";
            case GUEST_STAGE_SET: return "GUEST_STAGE_SET";
            case GUEST_STAGE_CLEAR: return "GUEST_STAGE_CLEAR";
            case RELEASE: return "RELEASE";
            case HOTSWAP: return "HOTSWAP";
            case SET_IOMMU: return "SET_IOMMU";
            case GROUP_ATTACH: return "GROUP_ATTACH";
            case GROUP_DETACH: return "GROUP_DETACH";
            case RECLAIM: return "RECLAIM";
            case CATCH_UP: return "CATCH_UP";
            default: return "op" + op;
        }
    }

    static ByteBuffer buf(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static byte[] ints(int... v) {
        ByteBuffer b = buf(4 * v.length);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    static ByteBuffer read(byte[] payload) {
        return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    }
}
