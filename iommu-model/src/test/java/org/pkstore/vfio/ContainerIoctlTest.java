package org.pkstore.vfio;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DmaTranslation;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.*;

/** Container and group ioctls: each success path and each errno path, arguments built byte by byte. */
class ContainerIoctlTest extends KernelTestBase {
    @BeforeEach
    void start() {
        boot();
    }

    @Test
    void apiVersionAndExtensions() {
        int c = k.openContainer();
        assertEquals(0L, k.ioctl(c, GET_API_VERSION, 0L));
        assertEquals(0L, k.ioctl(c, CHECK_EXTENSION, TYPE1), "v1 is not offered, as SET_IOMMU(TYPE1) says");
        assertEquals(1L, k.ioctl(c, CHECK_EXTENSION, TYPE1v2));
        assertEquals(1L, k.ioctl(c, CHECK_EXTENSION, NESTING));
        assertEquals(1L, k.ioctl(c, CHECK_EXTENSION, 9), "UNMAP_ALL");
        assertEquals(1L, k.ioctl(c, CHECK_EXTENSION, 11), "NESTING_IOMMU_UAPI returns the UAPI version");
        assertEquals(0L, k.ioctl(c, CHECK_EXTENSION, 10), "UPDATE_VADDR not supported");
        assertEquals(0L, k.ioctl(c, CHECK_EXTENSION, 2), "SPAPR");
        assertEquals((long) EINVAL, k.ioctl(c, 0x3B99, 0L), "unknown number before SET_IOMMU: container core");
        assertEquals(EINVAL, k.ioctl(c, 0x1234, new byte[8]));
        assertEquals((long) EBADF, k.ioctl(999, GET_API_VERSION, 0L));
        assertEquals(0, k.close(c));
        assertEquals((long) EBADF, k.ioctl(c, GET_API_VERSION, 0L), "closed fd");
        assertEquals(EBADF, k.close(c));
    }

    @Test
    void groupSetUnsetAndStatus() {
        int c = k.openContainer();
        int g = k.openGroup(1);
        assertTrue(g > 0);
        assertEquals(EBUSY, k.openGroup(1), "a group opens once");
        assertEquals(ENOENT, k.openGroup(42));
        byte[] st = new byte[8];
        le(st).putInt(0, 8);
        assertEquals(0, k.ioctl(g, GROUP_GET_STATUS, st));
        assertEquals(1, le(st).getInt(4), "VIABLE, no container");
        byte[] shortSt = new byte[8];
        le(shortSt).putInt(0, 4);
        assertEquals(EINVAL, k.ioctl(g, GROUP_GET_STATUS, shortSt));
        assertEquals(EBADF, k.ioctl(g, GROUP_SET_CONTAINER, s32(777)), "not an open fd");
        assertEquals(EINVAL, k.ioctl(g, GROUP_SET_CONTAINER, s32(-1)));
        int g2 = k.openGroup(2);
        assertEquals(EINVAL, k.ioctl(g, GROUP_SET_CONTAINER, s32(g2)), "an fd that is not a container");
        assertEquals(EINVAL, (int) k.ioctl(g, GROUP_UNSET_CONTAINER, 0L), "not set");
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(EINVAL, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)), "already in a container");
        assertEquals(0, k.ioctl(g, GROUP_GET_STATUS, st));
        assertEquals(3, le(st).getInt(4), "VIABLE | CONTAINER_SET");
        assertEquals(0L, k.ioctl(g, GROUP_UNSET_CONTAINER, 0L));
        assertEquals(EFAULT, k.ioctl(g, GROUP_SET_CONTAINER, new byte[2]));
        assertEquals(ENOTTY, k.ioctl(g, MAP_DMA, new byte[32]), "container ioctl on a group fd");
    }

    @Test
    void setIommu() {
        int c = k.openContainer();
        assertEquals((long) EINVAL, k.ioctl(c, SET_IOMMU, TYPE1v2), "no group yet");
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals((long) ENODEV, k.ioctl(c, SET_IOMMU, 2), "SPAPR: no driver claims it");
        assertEquals((long) ENODEV, k.ioctl(c, SET_IOMMU, TYPE1), "type1 v1 is not offered");
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        assertEquals((long) EINVAL, k.ioctl(c, SET_IOMMU, TYPE1v2), "driver already set");
        assertEquals((long) ENOTTY, k.ioctl(c, 0x3B99, 0L), "unknown number after SET_IOMMU: type1");
        assertNotNull(k.container(c).domain());
        assertTrue(k.unit(0).deviceTable().lookup(Bdf.parse("00:01.0")).present());
        // the last group leaving releases the domain and clears the device entry
        assertEquals(0L, k.ioctl(g, GROUP_UNSET_CONTAINER, 0L));
        assertNull(k.container(c).domain());
        assertFalse(k.unit(0).deviceTable().lookup(Bdf.parse("00:01.0")).present());
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 4096)), "no driver any more");
    }

    @Test
    void driverIoctlsBeforeSetIommuAreEinval() {
        int c = k.openContainer();
        assertEquals(EINVAL, k.ioctl(c, GET_INFO, new byte[24]));
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, new byte[32]));
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, new byte[24]));
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, new byte[20]));
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, new byte[56]));
        assertEquals(EINVAL, k.ioctl(c, READ_FAULTS, new byte[16]));
    }

    @Test
    void getInfo() {
        int c = containerWith(NESTING, 1);
        byte[] a = new byte[128];
        le(a).putInt(0, 128);
        assertEquals(0, k.ioctl(c, GET_INFO, a));
        ByteBuffer b = le(a);
        assertEquals(3, b.getInt(4), "PGSIZES | CAPS");
        assertEquals(0x4000_1000L | 0x20_0000L, b.getLong(8), "4K | 2M | 1G");
        assertEquals(24, b.getInt(16), "cap_offset after the 24-byte struct");
        // DMA_AVAIL at 24: id 3, version 1, next 40, avail 65535
        assertEquals(3, b.getShort(24));
        assertEquals(1, b.getShort(26));
        assertEquals(40, b.getInt(28));
        assertEquals(65535, b.getInt(32));
        // IOVA_RANGE at 40: id 1, nr_iovas 1, range [0, 2^48 - 1]
        assertEquals(1, b.getShort(40));
        assertEquals(72, b.getInt(44));
        assertEquals(1, b.getInt(48));
        assertEquals(0L, b.getLong(56));
        assertEquals((1L << 48) - 1, b.getLong(64));
        // NESTING at 72: id 4, PASID_REQS, stage1_format 1, end of chain
        assertEquals(4, b.getShort(72));
        assertEquals(0, b.getInt(76));
        assertEquals(1, b.getInt(80));
        assertEquals(1, b.getInt(84));
        // too small for the caps: argsz = needed, cap_offset = 0, return 0
        byte[] small = new byte[24];
        le(small).putInt(0, 24);
        assertEquals(0, k.ioctl(c, GET_INFO, small));
        assertEquals(88, le(small).getInt(0));
        assertEquals(0, le(small).getInt(16));
        byte[] tiny = new byte[24];
        le(tiny).putInt(0, 15);
        assertEquals(EINVAL, k.ioctl(c, GET_INFO, tiny));
        assertEquals(EFAULT, k.ioctl(c, GET_INFO, new byte[8]));
        // DMA_AVAIL counts mappings
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x1000)));
        assertEquals(65534, new VfioClient(k).getInfo(c).dmaAvail());
        // a type1v2 container has no nesting cap
        int c2 = containerWith(TYPE1v2, 2);
        byte[] s2 = new byte[24];
        le(s2).putInt(0, 24);
        assertEquals(0, k.ioctl(c2, GET_INFO, s2));
        assertEquals(72, le(s2).getInt(0));
    }

    @Test
    void mapDmaErrnos() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, new byte[31]));
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(31, 3, GUEST_VA, 0, 4096)), "argsz");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3 | 0x100, GUEST_VA, 0, 4096)), "unknown flag");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 4 | 3, GUEST_VA, 0, 4096)), "VADDR unsupported");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 0, GUEST_VA, 0, 4096)), "no READ/WRITE");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA, 0, 0)), "size 0");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA, 0x800, 4096)), "iova unaligned");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA + 8, 0, 4096)), "vaddr unaligned");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA, 0, 4097)), "size unaligned");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA, -4096L, 8192)), "iova + size overflows");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA, 1L << 48, 4096)), "beyond 2^48");
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, dmaMap(32, 3, 0x1000, 0, 4096)), "vaddr not mapped");
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, dmaMap(32, 3, GUEST_VA + GUEST_SIZE - 4096, 0, 8192)),
                "vaddr range leaves the guest memory mapping");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA, 0x10000, 0x4000)),
                "LIVE_UPDATE without persistent page tables");
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(32, 1, GUEST_VA, 0x10000, 0x4000)));
        assertEquals(EEXIST, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x12000, 0x1000)), "inside");
        assertEquals(EEXIST, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0xF000, 0x2000)), "overlaps the start");
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x14000, 0x1000)), "adjacent is fine");
        // the mapping translates for the device, read-only as asked
        DmaTranslation t = k.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x10010, Prot.READ);
        assertTrue(t.ok());
        long guestPa = k.vmm().resolve(GUEST_VA, 4096);
        assertEquals(guestPa + 0x10, t.pa());
        assertFalse(k.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x10010, Prot.WRITE).ok());
    }

    @Test
    void mapDmaEnospcAtEntryLimit() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        VfioContainer vc = k.container(c);
        // fill the bookkeeping to the limit without 65535 real ioctls
        for (long i = 0; i < 65535; i++) {
            vc.dma.byIova.put(0x1_0000_0000L + i * 4096,
                    new org.pkstore.persist.registry.DmaMappingRecord(vc.id(), 0x1_0000_0000L + i * 4096, 4096, 0, 0, 3));
        }
        assertEquals(ENOSPC, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 4096)));
        vc.dma.byIova.clear();
    }

    @Test
    void unmapDma() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x10000, 0x4000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x4000, 0x20000, 0x2000)));
        assertEquals(EFAULT, k.ioctl(c, UNMAP_DMA, new byte[20]));
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(23, 0, 0x10000, 0x4000)), "argsz");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 8, 0x10000, 0x4000)), "unknown flag");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 1, 0x10000, 0x4000)), "dirty bitmap unsupported");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 2, 0x10000, 0)), "ALL with iova");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 2, 0, 0x1000)), "ALL with size");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x10000, 0)), "size 0");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x10000, 0x800)), "size unaligned");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x10800, 0x1000)), "iova unaligned");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x11000, 0x3000)), "starts inside a mapping");
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x10000, 0x2000)), "ends inside a mapping");
        byte[] none = dmaUnmap(24, 0, 0x40000, 0x1000);
        le(none).putLong(16, 0x1000);
        assertEquals(0, k.ioctl(c, UNMAP_DMA, none));
        assertEquals(0, le(none).getLong(16), "nothing there: size 0 written back");
        // warm the IOTLB, then unmap: the translation must be gone (flushed)
        Bdf dev = Bdf.parse("00:01.0");
        assertTrue(k.unit(0).dmaTranslate(dev, Iotlb.NO_PASID, 0x10000, Prot.READ).ok());
        byte[] u = dmaUnmap(24, 0, 0x8000, 0x10000);
        assertEquals(0, k.ioctl(c, UNMAP_DMA, u));
        assertEquals(0x4000, le(u).getLong(16), "bytes unmapped");
        assertEquals(0x8000, le(u).getLong(8), "iova untouched");
        assertFalse(k.unit(0).dmaTranslate(dev, Iotlb.NO_PASID, 0x10000, Prot.READ).ok());
        byte[] all = dmaUnmap(24, 2, 0, 0);
        assertEquals(0, k.ioctl(c, UNMAP_DMA, all));
        assertEquals(0x2000, le(all).getLong(16));
        assertTrue(k.container(c).mappings().isEmpty());
        assertEquals(0, mount.registries().dmaMappings.size());
    }
}
