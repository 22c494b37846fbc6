package org.pkstore.vfio.uapi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

/**
 * For every struct: bytes written by hand in C field order (little-endian, explicit padding, see
 * {@link Le}) are read through the flyweight, and the flyweight's setters produce exactly those
 * bytes. Each check also runs at an odd offset inside a larger, 0xA5-filled buffer (no spill
 * outside the struct) and through a big-endian ByteBuffer (the flyweight must not depend on, or
 * change, the caller's byte order). Field values use distinct bytes so a swapped or misplaced
 * field cannot pass.
 */
class StructBytesTest {

    private static final int AT = 7;

    /** Run the read / write / offset / ByteBuffer checks for one struct. */
    private static <T extends CStruct<T>> void check(byte[] expected, Supplier<T> fresh, Consumer<T> write,
                                                     Consumer<T> read) {
        int len = expected.length;
        // 1. read hand-built bytes
        read.accept(fresh.get().wrap(expected.clone(), 0));

        // 2. read at an odd offset inside a larger buffer
        byte[] big = new byte[len + 2 * AT];
        Arrays.fill(big, (byte) 0xA5);
        System.arraycopy(expected, 0, big, AT, len);
        T r2 = fresh.get().wrap(big, AT);
        read.accept(r2);
        assertArrayEquals(Arrays.copyOf(expected, r2.size()), r2.toBytes(), "toBytes at offset");

        // 3. through a big-endian ByteBuffer with a non-zero position: absolute offsets, LE view
        ByteBuffer bb = ByteBuffer.wrap(big).order(ByteOrder.BIG_ENDIAN);
        bb.position(3);
        read.accept(fresh.get().wrap(bb, AT));
        assertEquals(ByteOrder.BIG_ENDIAN, bb.order(), "caller's byte order changed");
        assertEquals(3, bb.position(), "caller's position changed");

        // 4. setters produce exactly the hand-built bytes
        byte[] out = new byte[len];
        write.accept(fresh.get().wrap(out, 0));
        assertArrayEquals(expected, out, "bytes written by setters");

        // 5. setters at an offset touch nothing outside [AT, AT + len)
        byte[] big2 = new byte[len + 2 * AT];
        Arrays.fill(big2, (byte) 0xA5);
        Arrays.fill(big2, AT, AT + len, (byte) 0);
        write.accept(fresh.get().wrap(ByteBuffer.wrap(big2), AT));
        assertArrayEquals(expected, Arrays.copyOfRange(big2, AT, AT + len));
        for (int i = 0; i < big2.length; i++) {
            if (i < AT || i >= AT + len) {
                assertEquals((byte) 0xA5, big2[i], "spilled at " + i);
            }
        }
    }

    @Test
    void vfioInfoCapHeader() {
        byte[] c = new Le().u16(0x0201).u16(0x0403).u32(0x08070605).toArray();
        check(c, VfioInfoCapHeader::new,
                w -> w.id(0x0201).version(0x0403).next(0x08070605),
                r -> {
                    assertEquals(0x0201, r.id());
                    assertEquals(0x0403, r.version());
                    assertEquals(0x08070605, r.next());
                });
    }

    @Test
    void vfioGroupStatus() {
        byte[] c = new Le().u32(8).u32(VfioGroupStatus.VFIO_GROUP_FLAGS_VIABLE
                | VfioGroupStatus.VFIO_GROUP_FLAGS_CONTAINER_SET).toArray();
        assertArrayEquals(new byte[] {8, 0, 0, 0, 3, 0, 0, 0}, c);
        check(c, VfioGroupStatus::new, w -> w.argsz(8).flags(3), r -> {
            assertEquals(8, r.argsz());
            assertEquals(3, r.flags());
        });
    }

    @Test
    void vfioIommuType1Info() {
        byte[] c = new Le().u32(0x0403_0201).u32(0x3).u64(0x1020_3040_5060_7080L).u32(0x18).u32(0x0C0B_0A09)
                .toArray();
        assertEquals(24, c.length);
        check(c, VfioIommuType1Info::new,
                w -> w.argsz(0x0403_0201).flags(3).iovaPgsizes(0x1020_3040_5060_7080L).capOffset(0x18)
                        .pad(0x0C0B_0A09),
                r -> {
                    assertEquals(0x0403_0201, r.argsz());
                    assertEquals(3, r.flags());
                    assertEquals(0x1020_3040_5060_7080L, r.iovaPgsizes());
                    assertEquals(0x18, r.capOffset());
                    assertEquals(0x0C0B_0A09, r.pad());
                });
    }

    @Test
    void vfioIommuType1InfoWithCapabilityChain() {
        // info (24) + dma_avail cap at 24 (12, padded to 16) + iova range cap at 40 with 2 ranges
        byte[] c = new Le()
                .u32(72).u32(VfioIommuType1Info.VFIO_IOMMU_INFO_PGSIZES | VfioIommuType1Info.VFIO_IOMMU_INFO_CAPS)
                .u64(0x0000_0000_4020_1000L).u32(24).u32(0)
                .u16(VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL).u16(1).u32(40).u32(65530).pad(4)
                .u16(VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE).u16(1).u32(0).u32(2).u32(0)
                .u64(0).u64(0xFEDF_FFFFL).u64(0xFEF0_0000L).u64(0xFFFF_FFFF_FFFFL)
                .toArray();
        VfioIommuType1Info info = new VfioIommuType1Info().wrap(c, 0);
        VfioInfoCapHeader h1 = info.capAt(info.capOffset());
        assertEquals(VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, h1.id());
        assertEquals(65530, new VfioIommuType1InfoDmaAvail().wrap(c, info.capOffset()).avail());
        VfioInfoCapHeader h2 = info.capAt(h1.next());
        assertEquals(VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, h2.id());
        assertEquals(0, h2.next());
        VfioIommuType1InfoCapIovaRange range = new VfioIommuType1InfoCapIovaRange().wrap(c, h1.next());
        assertEquals(2, range.nrIovas());
        assertEquals(0xFEDF_FFFFL, range.iovaRange(0).end());
        assertEquals(0xFEF0_0000L, range.iovaRange(1).start());
        assertThrows(IndexOutOfBoundsException.class, () -> range.iovaRange(2));
        assertThrows(IndexOutOfBoundsException.class, () -> info.capAt(c.length - 4));
        assertEquals(c.length, VfioIommuType1Info.SIZE + 16 + VfioIommuType1InfoCapIovaRange.sizeFor(2));
    }

    @Test
    void vfioIovaRange() {
        byte[] c = new Le().u64(0x0807_0605_0403_0201L).u64(0x100F_0E0D_0C0B_0A09L).toArray();
        check(c, VfioIovaRange::new, w -> w.start(0x0807_0605_0403_0201L).end(0x100F_0E0D_0C0B_0A09L), r -> {
            assertEquals(0x0807_0605_0403_0201L, r.start());
            assertEquals(0x100F_0E0D_0C0B_0A09L, r.end());
        });
    }

    @Test
    void vfioIommuType1InfoCapIovaRange() {
        byte[] c = new Le().u16(1).u16(1).u32(0x30).u32(2).u32(0x11223344)
                .u64(0x1000).u64(0x1FFF).u64(0xA000_0000L).u64(0xAFFF_FFFFL).toArray();
        assertEquals(VfioIommuType1InfoCapIovaRange.sizeFor(2), c.length);
        check(c, VfioIommuType1InfoCapIovaRange::new,
                w -> {
                    w.header().id(1).version(1).next(0x30);
                    w.nrIovas(2).reserved(0x11223344);
                    w.iovaRange(0).start(0x1000).end(0x1FFF);
                    w.iovaRange(1).start(0xA000_0000L).end(0xAFFF_FFFFL);
                },
                r -> {
                    assertEquals(1, r.header().id());
                    assertEquals(1, r.header().version());
                    assertEquals(0x30, r.header().next());
                    assertEquals(2, r.nrIovas());
                    assertEquals(0x11223344, r.reserved());
                    assertEquals(0x1000, r.iovaRange(0).start());
                    assertEquals(0x1FFF, r.iovaRange(0).end());
                    assertEquals(0xA000_0000L, r.iovaRange(1).start());
                    assertEquals(0xAFFF_FFFFL, r.iovaRange(1).end());
                });
    }

    @Test
    void vfioIommuType1InfoCapMigration() {
        byte[] c = new Le().u16(2).u16(1).u32(0).u32(0x0D0C0B0A).pad(4).u64(0x1000).u64(0x0807_0605_0403_0201L)
                .toArray();
        check(c, VfioIommuType1InfoCapMigration::new,
                w -> {
                    w.header().id(2).version(1);
                    w.flags(0x0D0C0B0A).pgsizeBitmap(0x1000).maxDirtyBitmapSize(0x0807_0605_0403_0201L);
                },
                r -> {
                    assertEquals(2, r.header().id());
                    assertEquals(0x0D0C0B0A, r.flags());
                    assertEquals(0x1000, r.pgsizeBitmap());
                    assertEquals(0x0807_0605_0403_0201L, r.maxDirtyBitmapSize());
                });
    }

    @Test
    void vfioIommuType1InfoDmaAvail() {
        byte[] c = new Le().u16(3).u16(1).u32(0x28).u32(65535).toArray();
        assertEquals(12, c.length);
        check(c, VfioIommuType1InfoDmaAvail::new, w -> {
            w.header().id(3).version(1).next(0x28);
            w.avail(65535);
        }, r -> {
            assertEquals(3, r.header().id());
            assertEquals(1, r.header().version());
            assertEquals(0x28, r.header().next());
            assertEquals(65535, r.avail());
        });
    }

    @Test
    void vfioIommuType1InfoCapNesting() {
        byte[] c = new Le().u16(4).u16(1).u32(0).u32(VfioIommuType1InfoCapNesting.VFIO_IOMMU_PASID_REQS)
                .u32(IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD).toArray();
        check(c, VfioIommuType1InfoCapNesting::new, w -> {
            w.header().id(VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING).version(1);
            w.nestingCapabilities(1).stage1Format(1);
        }, r -> {
            assertEquals(4, r.header().id());
            assertEquals(1, r.nestingCapabilities());
            assertEquals(1, r.stage1Format());
        });
    }

    @Test
    void vfioIommuType1DmaMap() {
        byte[] c = new Le().u32(32).u32(0x0B).u64(0x7F12_3456_7000L).u64(0x0000_0001_0000_0000L)
                .u64(0x0000_0000_0020_0000L).toArray();
        check(c, VfioIommuType1DmaMap::new,
                w -> w.argsz(32).flags(VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ
                        | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE
                        | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE)
                        .vaddr(0x7F12_3456_7000L).iova(0x1_0000_0000L).mapSize(0x20_0000L),
                r -> {
                    assertEquals(32, r.argsz());
                    assertEquals(0x0B, r.flags());
                    assertEquals(0x7F12_3456_7000L, r.vaddr());
                    assertEquals(0x1_0000_0000L, r.iova());
                    assertEquals(0x20_0000L, r.mapSize());
                });
    }

    @Test
    void vfioIommuType1DmaUnmap() {
        byte[] c = new Le().u32(24).u32(VfioIommuType1DmaUnmap.VFIO_DMA_UNMAP_FLAG_ALL)
                .u64(0xFFFF_FFFF_FFFF_F000L).u64(0x8000_0000_0000_0000L).toArray();
        check(c, VfioIommuType1DmaUnmap::new,
                w -> w.argsz(24).flags(2).iova(0xFFFF_FFFF_FFFF_F000L).unmapSize(0x8000_0000_0000_0000L),
                r -> {
                    assertEquals(24, r.argsz());
                    assertEquals(2, r.flags());
                    assertEquals(0xFFFF_FFFF_FFFF_F000L, r.iova());
                    assertEquals(Long.MIN_VALUE, r.unmapSize());
                });
    }

    @Test
    void vfioSetPersistentPgtables() {
        byte[] c = new Le().u32(0x0403_0201).toArray();
        check(c, VfioSetPersistentPgtables::new, w -> w.persistentPgtablesFd(0x0403_0201),
                r -> assertEquals(0x0403_0201, r.persistentPgtablesFd()));
    }

    @Test
    void vfioIommuType1PasidRequestAlloc() {
        byte[] c = new Le().u32(20).u32(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC)
                .u32(1).u32(0x000F_FFFF).u32(0x0403_0201).toArray();
        check(c, VfioIommuType1PasidRequest::new,
                w -> w.argsz(20).flags(1).allocMin(1).allocMax(0xF_FFFF).allocResult(0x0403_0201),
                r -> {
                    assertEquals(20, r.argsz());
                    assertEquals(1, r.flags());
                    assertEquals(1, r.allocMin());
                    assertEquals(0xF_FFFF, r.allocMax());
                    assertEquals(0x0403_0201, r.allocResult());
                    assertEquals(1, r.freePasid(), "free_pasid aliases alloc_pasid.min");
                });
    }

    @Test
    void vfioIommuType1PasidRequestFree() {
        byte[] c = new Le().u32(20).u32(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_FREE).u32(0x0403_0201).pad(8)
                .toArray();
        check(c, VfioIommuType1PasidRequest::new, w -> w.argsz(20).flags(2).freePasid(0x0403_0201), r -> {
            assertEquals(2, r.flags());
            assertEquals(0x0403_0201, r.freePasid());
        });
    }

    private static Le gpasidBindData(Le le) {
        return le.u32(IommuUapi.IOMMU_UAPI_VERSION).u32(IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD)
                .u64(IommuGpasidBindData.IOMMU_SVA_GPASID_VAL)
                .u64(0x0000_0001_2345_6000L)   // gpgd
                .u64(0x0000_0000_0000_0101L)   // hpasid
                .u64(0x0000_0000_0000_0202L)   // gpasid
                .u32(48)                       // addr_width
                .pad(12)                       // padding[12]
                .u64(IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_SRE | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EMTE)
                .u32(0x0706_0406).u32(0x6);
    }

    private static void writeGpasid(IommuGpasidBindData d) {
        d.version(1).format(1).flags(1).gpgd(0x1_2345_6000L).hpasid(0x101).gpasid(0x202).addrWidth(48);
        d.vtd().flags(0x11).pat(0x0706_0406).emt(6);
    }

    private static void readGpasid(IommuGpasidBindData d) {
        assertEquals(1, d.version());
        assertEquals(1, d.format());
        assertEquals(1, d.flags());
        assertEquals(0x1_2345_6000L, d.gpgd());
        assertEquals(0x101, d.hpasid());
        assertEquals(0x202, d.gpasid());
        assertEquals(48, d.addrWidth());
        for (int i = 0; i < IommuGpasidBindData.PADDING_LEN; i++) {
            assertEquals(0, d.padding(i));
        }
        assertEquals(0x11, d.vtd().flags());
        assertEquals(0x0706_0406, d.vtd().pat());
        assertEquals(6, d.vtd().emt());
    }

    @Test
    void iommuGpasidBindDataVtd() {
        byte[] c = new Le().u64(0x3F).u32(0x0A0B0C0D).u32(0x01020304).toArray();
        check(c, IommuGpasidBindDataVtd::new, w -> w.flags(0x3F).pat(0x0A0B0C0D).emt(0x01020304), r -> {
            assertEquals(IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_SRE | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EAFE
                    | IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EMT_MASK, r.flags());
            assertEquals(0x0A0B0C0D, r.pat());
            assertEquals(0x01020304, r.emt());
        });
    }

    @Test
    void iommuGpasidBindData() {
        byte[] c = gpasidBindData(new Le()).toArray();
        assertEquals(72, c.length);
        check(c, IommuGpasidBindData::new, StructBytesTest::writeGpasid, StructBytesTest::readGpasid);
    }

    @Test
    void vfioIommuType1Bind() {
        byte[] c = gpasidBindData(new Le().u32(80).u32(VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL)).toArray();
        assertEquals(VfioIommuType1Bind.SIZE_GPASID, c.length);
        check(c, VfioIommuType1Bind::new, w -> {
            w.argsz(80).flags(1);
            writeGpasid(w.gpasidBindData());
        }, r -> {
            assertEquals(80, r.argsz());
            assertEquals(1, r.flags());
            readGpasid(r.gpasidBindData());
        });
        // header only: data is beyond the buffer
        VfioIommuType1Bind shortBind = new VfioIommuType1Bind().wrap(new byte[8], 0);
        assertThrows(IndexOutOfBoundsException.class, shortBind::gpasidBindData);
    }

    @Test
    void iommuInvPasidInfo() {
        byte[] c = new Le().u32(3).u32(0x0D0C0B0A).u64(0x0000_0000_000F_FFFFL).toArray();
        check(c, IommuInvPasidInfo::new, w -> w.flags(3).archid(0x0D0C0B0A).pasid(0xF_FFFFL), r -> {
            assertEquals(IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID | IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_ARCHID,
                    r.flags());
            assertEquals(0x0D0C0B0A, r.archid());
            assertEquals(0xF_FFFFL, r.pasid());
        });
    }

    @Test
    void iommuInvAddrInfo() {
        byte[] c = new Le().u32(5).u32(0x44).u64(0x55).u64(0x7F00_0000_1000L).u64(0x1000).u64(0x0807_0605_0403_0201L)
                .toArray();
        check(c, IommuInvAddrInfo::new,
                w -> w.flags(5).archid(0x44).pasid(0x55).addr(0x7F00_0000_1000L).granuleSize(0x1000)
                        .nbGranules(0x0807_0605_0403_0201L),
                r -> {
                    assertEquals(IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID | IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF,
                            r.flags());
                    assertEquals(0x44, r.archid());
                    assertEquals(0x55, r.pasid());
                    assertEquals(0x7F00_0000_1000L, r.addr());
                    assertEquals(0x1000, r.granuleSize());
                    assertEquals(0x0807_0605_0403_0201L, r.nbGranules());
                });
    }

    private static Le cacheInfoAddr(Le le) {
        return le.u32(1).u8(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                        | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB)
                .u8(IommuUapi.IOMMU_INV_GRANU_ADDR).pad(2)
                .u32(IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID).u32(0).u64(7).u64(0x4000_0000L).u64(0x1000).u64(16);
    }

    @Test
    void iommuCacheInvalidateInfoAddr() {
        byte[] c = cacheInfoAddr(new Le()).toArray();
        assertEquals(48, c.length);
        check(c, IommuCacheInvalidateInfo::new, w -> {
            w.version(1).cache(3).granularity(2);
            w.addrInfo().flags(1).pasid(7).addr(0x4000_0000L).granuleSize(0x1000).nbGranules(16);
        }, r -> {
            assertEquals(1, r.version());
            assertEquals(3, r.cache());
            assertEquals(2, r.granularity());
            assertEquals(0, r.padding(0));
            assertEquals(0, r.padding(1));
            assertEquals(7, r.addrInfo().pasid());
            assertEquals(0x4000_0000L, r.addrInfo().addr());
            assertEquals(16, r.addrInfo().nbGranules());
        });
    }

    @Test
    void iommuCacheInvalidateInfoPasidArmAndPadding() {
        byte[] c = new Le().u32(1).u8(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_PASID)
                .u8(IommuUapi.IOMMU_INV_GRANU_PASID).u8(0xAB).u8(0xCD)
                .u32(IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID).u32(0).u64(0x1234).pad(24).toArray();
        check(c, IommuCacheInvalidateInfo::new, w -> {
            w.version(1).cache(4).granularity(1).padding(0, 0xAB).padding(1, 0xCD);
            w.pasidInfo().flags(1).pasid(0x1234);
        }, r -> {
            assertEquals(4, r.cache());
            assertEquals(1, r.granularity());
            assertEquals(0xAB, r.padding(0));
            assertEquals(0xCD, r.padding(1));
            assertEquals(0x1234, r.pasidInfo().pasid());
            assertEquals(1, r.pasidInfo().flags());
        });
    }

    @Test
    void vfioIommuType1CacheInvalidate() {
        byte[] c = cacheInfoAddr(new Le().u32(56).u32(0)).toArray();
        assertEquals(56, c.length);
        check(c, VfioIommuType1CacheInvalidate::new, w -> {
            w.argsz(56).flags(0);
            w.cacheInfo().version(1).cache(3).granularity(2);
            w.cacheInfo().addrInfo().flags(1).pasid(7).addr(0x4000_0000L).granuleSize(0x1000).nbGranules(16);
        }, r -> {
            assertEquals(56, r.argsz());
            assertEquals(2, r.cacheInfo().granularity());
            assertEquals(0x1000, r.cacheInfo().addrInfo().granuleSize());
        });
    }

    @Test
    void iommuFaultUnrecoverable() {
        byte[] c = new Le().u32(IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH).u32(3).u32(0x11).u32(2)
                .u64(0xDEAD_B000L).u64(0x0807_0605_0403_0201L).toArray();
        check(c, IommuFaultUnrecoverable::new,
                w -> w.reason(5).flags(3).pasid(0x11).perm(IommuUapi.IOMMU_FAULT_PERM_WRITE).addr(0xDEAD_B000L)
                        .fetchAddr(0x0807_0605_0403_0201L),
                r -> {
                    assertEquals(5, r.reason());
                    assertEquals(IommuFaultUnrecoverable.IOMMU_FAULT_UNRECOV_PASID_VALID
                            | IommuFaultUnrecoverable.IOMMU_FAULT_UNRECOV_ADDR_VALID, r.flags());
                    assertEquals(0x11, r.pasid());
                    assertEquals(2, r.perm());
                    assertEquals(0xDEAD_B000L, r.addr());
                    assertEquals(0x0807_0605_0403_0201L, r.fetchAddr());
                });
    }

    @Test
    void iommuFaultPageRequest() {
        byte[] c = new Le().u32(7).u32(0x22).u32(0x1FF).u32(1).u64(0x7000_1000L).u64(0x0102_0304_0506_0708L)
                .u64(0x1112_1314_1516_1718L).toArray();
        check(c, IommuFaultPageRequest::new,
                w -> w.flags(7).pasid(0x22).grpid(0x1FF).perm(1).addr(0x7000_1000L)
                        .privateData(0, 0x0102_0304_0506_0708L).privateData(1, 0x1112_1314_1516_1718L),
                r -> {
                    assertEquals(7, r.flags());
                    assertEquals(0x22, r.pasid());
                    assertEquals(0x1FF, r.grpid());
                    assertEquals(1, r.perm());
                    assertEquals(0x7000_1000L, r.addr());
                    assertEquals(0x0102_0304_0506_0708L, r.privateData(0));
                    assertEquals(0x1112_1314_1516_1718L, r.privateData(1));
                });
    }

    private static Le faultPageReq(Le le) {
        return le.u32(IommuUapi.IOMMU_FAULT_PAGE_REQ).u32(0)
                .u32(IommuFaultPageRequest.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID
                        | IommuFaultPageRequest.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)
                .u32(0x33).u32(0x44).u32(3).u64(0x5555_6000L).u64(0).u64(0)
                .pad(16); // union padded to 56
    }

    @Test
    void iommuFaultPageReq() {
        byte[] c = faultPageReq(new Le()).toArray();
        assertEquals(64, c.length);
        check(c, IommuFault::new, w -> {
            w.type(IommuUapi.IOMMU_FAULT_PAGE_REQ);
            w.prm().flags(3).pasid(0x33).grpid(0x44).perm(3).addr(0x5555_6000L);
        }, r -> {
            assertEquals(2, r.type());
            assertEquals(0, r.padding());
            assertEquals(0x33, r.prm().pasid());
            assertEquals(0x44, r.prm().grpid());
            assertEquals(0x5555_6000L, r.prm().addr());
        });
    }

    @Test
    void iommuFaultUnrecov() {
        byte[] c = new Le().u32(IommuUapi.IOMMU_FAULT_DMA_UNRECOV).u32(0x0A0B0C0D)
                .u32(IommuUapi.IOMMU_FAULT_REASON_PERMISSION).u32(2).u32(0).u32(1).u64(0x9000).u64(0)
                .pad(24).toArray();
        assertEquals(64, c.length);
        check(c, IommuFault::new, w -> {
            w.type(1).padding(0x0A0B0C0D);
            w.event().reason(6).flags(2).perm(1).addr(0x9000);
        }, r -> {
            assertEquals(1, r.type());
            assertEquals(0x0A0B0C0D, r.padding());
            assertEquals(6, r.event().reason());
            assertEquals(2, r.event().flags());
            assertEquals(1, r.event().perm());
            assertEquals(0x9000, r.event().addr());
            assertTrue(r.toString().contains("IOMMU_FAULT_REASON_PERMISSION"), r.toString());
        });
    }

    @Test
    void iommuPageResponse() {
        byte[] c = new Le().u32(1).u32(1).u32(0x33).u32(0x44).u32(IommuUapi.IOMMU_PAGE_RESP_FAILURE).toArray();
        check(c, IommuPageResponse::new, w -> w.version(1).flags(1).pasid(0x33).grpid(0x44).code(2), r -> {
            assertEquals(1, r.version());
            assertEquals(IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID, r.flags());
            assertEquals(0x33, r.pasid());
            assertEquals(0x44, r.grpid());
            assertEquals(2, r.code());
        });
    }

    @Test
    void vfioIommuType1PageResponse() {
        byte[] c = new Le().u32(28).u32(0).u32(1).u32(1).u32(0x33).u32(0x44).u32(0).toArray();
        assertEquals(28, c.length);
        check(c, VfioIommuType1PageResponse::new, w -> {
            w.argsz(28);
            w.resp().version(1).flags(1).pasid(0x33).grpid(0x44).code(0);
        }, r -> {
            assertEquals(28, r.argsz());
            assertEquals(0x44, r.resp().grpid());
            assertEquals(0x33, r.resp().pasid());
        });
    }

    @Test
    void vfioIommuType1FaultRead() {
        byte[] c = faultPageReq(new Le().u32(16 + 64).u32(0).u32(1).u32(5)).toArray();
        assertEquals(VfioIommuType1FaultRead.sizeFor(1), c.length);
        check(c, VfioIommuType1FaultRead::new, w -> {
            w.argsz(80).count(1).pending(5);
            IommuFault f = w.record(0);
            f.type(2);
            f.prm().flags(3).pasid(0x33).grpid(0x44).perm(3).addr(0x5555_6000L);
        }, r -> {
            assertEquals(80, r.argsz());
            assertEquals(1, r.count());
            assertEquals(5, r.pending());
            assertEquals(0x44, r.record(0).prm().grpid());
            assertThrows(IndexOutOfBoundsException.class, () -> r.record(1));
        });
    }

    @Test
    void iommuPasidTableConfig() {
        byte[] c = new Le().u32(1).u32(24).u64(0x0000_00AB_CDEF_0000L).u8(20).pad(7).toArray();
        check(c, IommuPasidTableConfig::new,
                w -> w.version(IommuPasidTableConfig.PASID_TABLE_CFG_VERSION_1).bytes(24)
                        .basePtr(0xAB_CDEF_0000L).pasidBits(20),
                r -> {
                    assertEquals(1, r.version());
                    assertEquals(24, r.bytes());
                    assertEquals(0xAB_CDEF_0000L, r.basePtr());
                    assertEquals(20, r.pasidBits());
                });
    }

    @Test
    void iommuSmmuS1Config() {
        byte[] c = new Le().u8(1).u8(0).u8(0xFF).pad(5).u64(0x8000_1234_5000L).u16(0xBEEF).pad(6).toArray();
        check(c, IommuSmmuS1Config::new,
                w -> w.disabled(1).bypassed(0).aborted(0xFF).cdptrDma(0x8000_1234_5000L).asid(0xBEEF),
                r -> {
                    assertEquals(1, r.disabled());
                    assertEquals(0, r.bypassed());
                    assertEquals(0xFF, r.aborted());
                    assertEquals(0x8000_1234_5000L, r.cdptrDma());
                    assertEquals(0xBEEF, r.asid());
                });
    }

    @Test
    void iommuGuestStageConfig() {
        byte[] c = new Le().u32(IommuGuestStageConfig.SMMUV3_S1_CFG).pad(4)
                .u8(0).u8(1).u8(0).pad(5).u64(0x4000).u16(9).pad(6).toArray();
        check(c, IommuGuestStageConfig::new, w -> {
            w.flags(2);
            w.smmuS1().bypassed(1).cdptrDma(0x4000).asid(9);
        }, r -> {
            assertEquals(2, r.flags());
            assertEquals(1, r.smmuS1().bypassed());
            assertEquals(0x4000, r.smmuS1().cdptrDma());
            assertEquals(9, r.smmuS1().asid());
            assertEquals(0x4000, r.pasidt().basePtr(), "union arms overlay");
        });
    }

    @Test
    void setterRangeChecksAndBounds() {
        IommuCacheInvalidateInfo i = new IommuCacheInvalidateInfo().wrap(new byte[48], 0);
        assertThrows(IllegalArgumentException.class, () -> i.cache(256));
        assertThrows(IllegalArgumentException.class, () -> i.granularity(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> i.padding(2));
        VfioInfoCapHeader h = new VfioInfoCapHeader().wrap(new byte[8], 0);
        assertThrows(IllegalArgumentException.class, () -> h.id(0x10000));
        assertThrows(IndexOutOfBoundsException.class, () -> new VfioIommuType1DmaMap().wrap(new byte[31], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> new VfioIommuType1DmaMap().wrap(new byte[40], 9));
        assertThrows(IndexOutOfBoundsException.class, () -> new VfioIommuType1DmaMap().wrap(new byte[40], -1));
        assertThrows(IllegalStateException.class, () -> new VfioIommuType1DmaMap().argsz());
        // a flyweight is re-pointable
        byte[] a = new Le().u32(1).u32(0).u64(0).u64(0).u64(0).toArray();
        byte[] b = new Le().u32(2).u32(0).u64(0).u64(0).u64(0).toArray();
        VfioIommuType1DmaMap m = new VfioIommuType1DmaMap().wrap(a, 0);
        assertEquals(1, m.argsz());
        assertEquals(2, m.wrap(b, 0).argsz());
        // clear() zeroes exactly the fixed part
        byte[] z = new byte[40];
        Arrays.fill(z, (byte) 1);
        new VfioIommuType1DmaMap().wrap(z, 4).clear();
        for (int k = 0; k < z.length; k++) {
            assertEquals(k >= 4 && k < 36 ? 0 : 1, z[k], "byte " + k);
        }
    }
}
