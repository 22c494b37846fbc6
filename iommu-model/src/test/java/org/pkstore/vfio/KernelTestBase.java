package org.pkstore.vfio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A mount and a booted kernel per test, and argument bytes written at literal offsets (never
 * through the UAPI flyweights, so that a layout mistake in either cannot cancel out).
 */
abstract class KernelTestBase {
    static final int GET_API_VERSION = 0x3B64;
    static final int CHECK_EXTENSION = 0x3B65;
    static final int SET_IOMMU = 0x3B66;
    static final int GROUP_GET_STATUS = 0x3B67;
    static final int GROUP_SET_CONTAINER = 0x3B68;
    static final int GROUP_UNSET_CONTAINER = 0x3B69;
    static final int GET_INFO = 0x3B70;
    static final int MAP_DMA = 0x3B71;
    static final int UNMAP_DMA = 0x3B72;
    static final int PASID_REQUEST = 0x3B7A;
    static final int BIND = 0x3B7B;
    static final int CACHE_INVALIDATE = 0x3B7C;
    static final int GET_VMID = 0x3B7D;
    static final int SET_VMID = 0x3B7E;
    static final int SET_PERSISTENT_PGTABLES = 0x3B7F;
    static final int READ_FAULTS = 0x3B80;
    static final int PAGE_RESPONSE = 0x3B81;

    static final int TYPE1 = 1;
    static final int TYPE1v2 = 3;
    static final int NESTING = 6;

    static final int EPERM = -1, ENOENT = -2, EBADF = -9, ENOMEM = -12, EFAULT = -14, EBUSY = -16, EEXIST = -17,
            ENODEV = -19, EINVAL = -22, ENOTTY = -25, ENOSPC = -28, EOPNOTSUPP = -95;

    static final long GUEST_VA = 0x7f00_0000_0000L;
    static final long GUEST_SIZE = 64L << 20;

    @TempDir
    Path dir;
    PkernfsMount mount;
    VfioKernel k;
    HostTopology topo = HostTopology.defaultTopology();

    void boot() {
        mount = PkernfsMount.mountReadWrite(dir);
        k = VfioKernel.boot(mount, topo);
    }

    /** Planned kexec: clean kernel stop and unmount, then a new boot. */
    void kexec() {
        k.close();
        mount.close();
        boot();
    }

    /** SIGKILL: nothing cleaned up, then a new boot (which recovers). */
    void crashAndBoot() {
        k.crash();
        boot();
    }

    @AfterEach
    void tearDown() {
        if (k != null && !k.isClosed()) {
            k.close();
        }
        if (mount != null) {
            try {
                mount.close();
            } catch (RuntimeException ignored) {
                // a crashed mount may refuse; the temp dir goes anyway
            }
        }
    }

    static ByteBuffer le(byte[] a) {
        return ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    }

    static byte[] s32(int v) {
        byte[] a = new byte[4];
        le(a).putInt(0, v);
        return a;
    }

    /** A container with groups 1 (and 2) attached and SET_IOMMU(type) done; guest memory mapped. */
    int containerWith(int type, int... groupIds) {
        int c = k.openContainer();
        for (int g : groupIds) {
            int gfd = k.openGroup(g);
            assertEquals(0, k.ioctl(gfd, GROUP_SET_CONTAINER, s32(c)));
        }
        assertEquals(0L, k.ioctl(c, SET_IOMMU, type));
        return c;
    }

    void mapGuest() {
        assertEquals(0, k.mapGuestMemory(GUEST_VA, GUEST_SIZE, "ram"));
    }

    /** struct vfio_iommu_type1_dma_map: argsz 0, flags 4, vaddr 8, iova 16, size 24 (32 bytes). */
    static byte[] dmaMap(int argsz, int flags, long vaddr, long iova, long size) {
        byte[] a = new byte[32];
        le(a).putInt(0, argsz).putInt(4, flags).putLong(8, vaddr).putLong(16, iova).putLong(24, size);
        return a;
    }

    static byte[] dmaMap(long vaddr, long iova, long size) {
        return dmaMap(32, 3, vaddr, iova, size);
    }

    /** struct vfio_iommu_type1_dma_unmap: argsz 0, flags 4, iova 8, size 16 (24 bytes). */
    static byte[] dmaUnmap(int argsz, int flags, long iova, long size) {
        byte[] a = new byte[24];
        le(a).putInt(0, argsz).putInt(4, flags).putLong(8, iova).putLong(16, size);
        return a;
    }

    /** struct vfio_iommu_type1_pasid_request: argsz 0, flags 4, min 8, max 12, result 16 (free: pasid at 8). */
    static byte[] pasidReq(int flags, int min, int max) {
        byte[] a = new byte[20];
        le(a).putInt(0, 20).putInt(4, flags).putInt(8, min).putInt(12, max);
        return a;
    }

    int allocPasid(int c) {
        byte[] a = pasidReq(1, 1, (1 << 20) - 1);
        assertEquals(0, k.ioctl(c, PASID_REQUEST, a));
        return le(a).getInt(16);
    }

    /**
     * vfio_iommu_type1_bind (argsz 0, flags 4) + iommu_gpasid_bind_data at 8: version 8, format 12,
     * flags 16, gpgd 24, hpasid 32, gpasid 40, addr_width 48, padding 52..63, vtd.flags 64, pat 72, emt 76.
     */
    static byte[] bindArg(int flags, long hpasid, long gpgd, long gpasid, int addrWidth) {
        byte[] a = new byte[80];
        le(a).putInt(0, 80).putInt(4, flags).putInt(8, 1).putInt(12, 1).putLong(16, 1).putLong(24, gpgd)
                .putLong(32, hpasid).putLong(40, gpasid).putInt(48, addrWidth).putLong(64, 0x3).putInt(72, 7).putInt(76, 8);
        return a;
    }

    /**
     * vfio_iommu_type1_cache_invalidate: argsz 0, flags 4, then iommu_cache_invalidate_info at 8:
     * version 8, cache 12, granularity 13, padding 14..15, union at 16 (pasid_info: flags 16,
     * archid 20, pasid 24; addr_info: flags 16, archid 20, pasid 24, addr 32, granule_size 40,
     * nb_granules 48). 56 bytes.
     */
    static byte[] invalidate(int cache, int granu) {
        byte[] a = new byte[56];
        le(a).putInt(0, 56).putInt(4, 0).putInt(8, 1);
        a[12] = (byte) cache;
        a[13] = (byte) granu;
        return a;
    }

    long vmidOf(int c) {
        byte[] a = new byte[4];
        assertEquals(0, k.ioctl(c, GET_VMID, a));
        return Integer.toUnsignedLong(le(a).getInt(0));
    }
}
