package org.pkstore.vfio;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.DmaTranslation;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.FaultRecords;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.vfio.uapi.IommuCacheInvalidateInfo;
import org.pkstore.vfio.uapi.IommuGuestStageConfig;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.VfioIommuType1Bind;
import org.pkstore.vfio.uapi.VfioIommuType1CacheInvalidate;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** VMID, PASID, bind, guest stage, cache invalidation and fault ioctls. */
class NestingIoctlTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:02.0");

    @BeforeEach
    void start() {
        topo = org.pkstore.iommu.HostTopology.parse("unit 0 vtd\ngroup 1 unit 0 device 00:01.0\n"
                + "group 2 unit 0 device 00:02.0\ngroup 3 unit 0 device 00:03.0\n");
        boot();
    }

    @Test
    void vmidGetSetAndSharing() {
        int c1 = k.openContainer();
        assertEquals(0xFFFF_FFFFL, vmidOf(c1), "invalid until a domain or SET_VMID");
        assertEquals(EFAULT, k.ioctl(c1, GET_VMID, new byte[3]));
        assertEquals((long) EINVAL, k.ioctl(c1, SET_VMID, 0xFFFF_FFFFL));
        assertEquals((long) EINVAL, k.ioctl(c1, SET_VMID, 0x1_0000L), "above the 16-bit width");
        assertEquals((long) EINVAL, k.ioctl(c1, SET_VMID, 0L), "VMID 0 is reserved");
        int g1 = k.openGroup(1);
        assertEquals(0, k.ioctl(g1, GROUP_SET_CONTAINER, s32(c1)));
        assertEquals(0L, k.ioctl(c1, SET_IOMMU, TYPE1v2));
        long v1 = vmidOf(c1);
        assertEquals(1, v1, "allocated with the domain");
        int c2 = containerWith(TYPE1v2, 2);
        long v2 = vmidOf(c2);
        assertEquals(2, v2);
        assertEquals(2, k.unit(0).deviceTable().lookup(DEV2).did());
        // warm the IOTLB under VMID 2, then share VMID 1
        mapGuest();
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(GUEST_VA, 0, 0x1000)));
        assertTrue(k.unit(0).dmaTranslate(DEV2, Iotlb.NO_PASID, 0, Prot.READ).ok());
        assertEquals(1, k.unit(0).iotlb().size());
        assertEquals((long) EINVAL, k.ioctl(c2, SET_VMID, 1L), "domain 1 does not map IOVA 0: one tag, one configuration");
        assertEquals(2, vmidOf(c2), "refused: nothing changed");
        assertEquals(1, k.unit(0).iotlb().size());
        assertEquals(0, k.ioctl(c1, MAP_DMA, dmaMap(GUEST_VA, 0, 0x1000)));
        assertEquals(0L, k.ioctl(c2, SET_VMID, 1L));
        assertEquals(1, vmidOf(c2));
        assertEquals(1, k.unit(0).deviceTable().lookup(DEV2).did(), "DID rewritten");
        assertEquals(0, k.unit(0).iotlb().size(), "entries of the old VMID flushed");
        assertEquals(2, k.vmids().users(1));
        assertFalse(k.vmids().inUse(2), "old VMID freed with its last user");
        assertEquals(2, mount.registries().vmids.get(1).users());
        assertNull(mount.registries().vmids.get(2));
        assertEquals(0, k.close(c1));
        assertEquals(1, k.vmids().users(1));
        assertEquals(0, k.close(c2));
        assertFalse(k.vmids().inUse(1), "freed when the last user goes");
        assertEquals(0, mount.registries().vmids.size());
    }

    @Test
    void setVmidComparesTranslationsNotHowTheyWereMapped() {
        mapGuest();
        int c1 = containerWith(TYPE1v2, 1);
        int c2 = containerWith(TYPE1v2, 2);
        assertEquals(0, k.ioctl(c1, MAP_DMA, dmaMap(GUEST_VA, 0, 0x4000)));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(GUEST_VA, 0, 0x2000)));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(GUEST_VA + 0x2000, 0x2000, 0x1000)));
        assertEquals((long) EINVAL, k.ioctl(c2, SET_VMID, vmidOf(c1)), "IOVA 0x3000 mapped in one only");
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(GUEST_VA + 0x4000, 0x3000, 0x1000)));
        assertEquals((long) EINVAL, k.ioctl(c2, SET_VMID, vmidOf(c1)), "IOVA 0x3000 to another PA");
        assertEquals(0, k.ioctl(c2, UNMAP_DMA, dmaUnmap(24, 0, 0x3000, 0x1000)));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(32, 1, GUEST_VA + 0x3000, 0x3000, 0x1000)));
        assertEquals((long) EINVAL, k.ioctl(c2, SET_VMID, vmidOf(c1)), "IOVA 0x3000 read-only in one");
        assertEquals(0, k.ioctl(c2, UNMAP_DMA, dmaUnmap(24, 0, 0x3000, 0x1000)));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(GUEST_VA + 0x3000, 0x3000, 0x1000)));
        assertEquals(0L, k.ioctl(c2, SET_VMID, vmidOf(c1)), "three MAP_DMAs translating as one");
        assertEquals(vmidOf(c1), vmidOf(c2));
    }

    /**
     * What one tag, one configuration prevents: the IOTLB is keyed by (VMID, PASID, page), so when two
     * domains on one VMID translate differently, a device of B uses a translation A's device cached.
     */
    @Test
    void sharedVmidWithDifferentMappingsLetsBHitAsCachedTranslation() {
        mapGuest();
        int a = containerWith(TYPE1v2, 1);
        int b = containerWith(TYPE1v2, 2);
        assertEquals(0L, k.ioctl(b, SET_VMID, vmidOf(a)), "both empty: alike");
        // after the join, A maps a page B never maps (the divergence verify reports)
        assertEquals(0, k.ioctl(a, MAP_DMA, dmaMap(GUEST_VA, 0x1000, 0x1000)));
        assertFalse(k.unit(0).dmaTranslate(DEV2, Iotlb.NO_PASID, 0x1000, Prot.READ).ok(), "B: not mapped, walk faults");
        DmaTranslation viaA = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x1000, Prot.READ);
        assertTrue(viaA.ok());
        assertFalse(viaA.iotlbHit());
        DmaTranslation viaB = k.unit(0).dmaTranslate(DEV2, Iotlb.NO_PASID, 0x1000, Prot.WRITE);
        assertTrue(viaB.ok(), "B's device reaches A's memory");
        assertTrue(viaB.iotlbHit(), "through A's cached translation");
        assertEquals(viaA.pa(), viaB.pa());
    }

    @Test
    void pasidRequest() {
        int plain = containerWith(TYPE1v2, 2);
        assertEquals(EOPNOTSUPP, k.ioctl(plain, PASID_REQUEST, pasidReq(1, 1, 100)), "needs a NESTING container");
        int c = containerWith(NESTING, 1);
        assertEquals(EFAULT, k.ioctl(c, PASID_REQUEST, new byte[12]));
        byte[] shortArg = pasidReq(1, 1, 10);
        le(shortArg).putInt(0, 16);
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, shortArg), "argsz");
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, pasidReq(3, 1, 10)), "both ALLOC and FREE");
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, pasidReq(0, 1, 10)), "neither");
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, pasidReq(1, 10, 5)), "min > max");
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, pasidReq(1, 0, 5)), "min 0");
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, pasidReq(1, 1, 1 << 20)), "max beyond 20 bits");
        byte[] a = pasidReq(1, 100, 101);
        assertEquals(0, k.ioctl(c, PASID_REQUEST, a));
        assertEquals(100, le(a).getInt(16));
        assertEquals(0, k.ioctl(c, PASID_REQUEST, a));
        assertEquals(101, le(a).getInt(16));
        assertEquals(ENOSPC, k.ioctl(c, PASID_REQUEST, pasidReq(1, 100, 101)), "range exhausted");
        assertEquals(100, mount.registries().pasids.get(100).pasid());
        // quota
        k.setDefaultPasidQuota(2);
        int q = containerWith(NESTING, 3);
        assertEquals(0, k.ioctl(q, PASID_REQUEST, pasidReq(1, 1, 1000)));
        assertEquals(0, k.ioctl(q, PASID_REQUEST, pasidReq(1, 1, 1000)));
        assertEquals(ENOSPC, k.ioctl(q, PASID_REQUEST, pasidReq(1, 1, 1000)), "quota");
        // free
        byte[] free = pasidReq(2, 0, 0);
        le(free).putInt(8, 100);
        assertEquals(EPERM, k.ioctl(q, PASID_REQUEST, free), "another container's");
        assertEquals(0, k.ioctl(c, PASID_REQUEST, free));
        assertEquals(EINVAL, k.ioctl(c, PASID_REQUEST, free), "no longer allocated");
        assertNull(mount.registries().pasids.get(100));
    }

    @Test
    void bindGuestPgtbl() {
        int c = containerWith(NESTING, 1);
        int other = containerWith(NESTING, 2);
        int p = allocPasid(c);
        int foreign = allocPasid(other);
        assertEquals(EFAULT, k.ioctl(c, BIND, new byte[4]));
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(3, p, 0x1000, 5, 48)), "BIND | UNBIND");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(0, p, 0x1000, 5, 48)), "no flag");
        byte[] shortArg = bindArg(1, p, 0x1000, 5, 48);
        le(shortArg).putInt(0, 79);
        assertEquals(EINVAL, k.ioctl(c, BIND, shortArg), "argsz below the data");
        byte[] v2 = bindArg(1, p, 0x1000, 5, 48);
        le(v2).putInt(8, 2);
        assertEquals(EINVAL, k.ioctl(c, BIND, v2), "a newer UAPI version");
        byte[] fmt = bindArg(1, p, 0x1000, 5, 48);
        le(fmt).putInt(12, 2);
        assertEquals(EINVAL, k.ioctl(c, BIND, fmt), "format not VT-d");
        byte[] pad = bindArg(1, p, 0x1000, 5, 48);
        pad[60] = 1;
        assertEquals(EINVAL, k.ioctl(c, BIND, pad), "padding");
        byte[] fl = bindArg(1, p, 0x1000, 5, 48);
        le(fl).putLong(16, 2);
        assertEquals(EINVAL, k.ioctl(c, BIND, fl), "unknown bind flag");
        byte[] vf = bindArg(1, p, 0x1000, 5, 48);
        le(vf).putLong(64, 0x40);
        assertEquals(EINVAL, k.ioctl(c, BIND, vf), "unknown VT-d flag");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0x1000, 5, 57)), "5-level, the unit has no FL5LP");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0x1000, 5, 0)), "addr_width 0");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0x1000, 5, 39)), "39 bits is no first-level mode");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0xABC000, 5, 48)), "no stage-2 mapping reaches the PGD");
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 0x100_0000)));
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0x100_1000, 5, 48)), "PGD above the stage-2 aperture");
        assertNull(mount.registries().bindings.get(p), "nothing recorded by a refusal");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, 4242, 0x1000, 5, 48)), "hpasid not allocated");
        assertEquals(EPERM, k.ioctl(c, BIND, bindArg(1, foreign, 0x1000, 5, 48)), "another container's PASID");
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(2, p, 0x1000, 5, 48)), "unbind of something not bound");
        long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0xABC000, 5, 48)));
        assertTrue(k.unit(0).deviceTable().file().descriptorWrites() > hw0);
        assertEquals(EBUSY, k.ioctl(c, BIND, bindArg(1, p, 0xABC000, 5, 48)), "already bound");
        // hardware-visible, read by another "process" through the read-only file
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit0"))) {
            List<BoundPasidEntry> bound = r.view(DEV1).boundPasids();
            assertEquals(1, bound.size());
            BoundPasidEntry e = bound.get(0);
            assertEquals(p, e.pasid());
            assertEquals(0xABC000L, e.gpgd(), "FLPTR");
            assertEquals(48, e.addrWidth(), "FLPM 00");
            assertEquals(3, e.vtdFlags(), "SRE and EAFE are PASID-entry fields");
            // gpasid, pat and emt are bookkeeping, not PASID-entry fields: only the registry has them
            assertEquals(0, e.gpasid());
            assertFalse(e.gpasidValid());
            assertEquals(0, e.pat());
            assertEquals(0, e.emt());
            assertTrue(r.view(DEV1).nested(), "a nested (PGTT 011b) PASID entry");
            assertTrue(r.view(DEV2).boundPasids().isEmpty(), "other container's device untouched");
        }
        assertEquals(p, mount.registries().bindings.get(p).hpasid());
        assertEquals(5, mount.registries().bindings.get(p).gpasid());
        assertEquals(7, mount.registries().bindings.get(p).pat());
        // a PASID-tagged DMA now passes the PASID check
        assertTrue(k.unit(0).dmaTranslate(DEV1, p, 0x10, Prot.READ).ok());
        assertEquals(0, k.ioctl(c, BIND, bindArg(2, p, 0, 0, 48)));
        assertTrue(k.unit(0).deviceTable().reader().view(DEV1).boundPasids().isEmpty());
        assertNull(mount.registries().bindings.get(p));
        // freeing a bound PASID unbinds it first
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0xABC000, 5, 48)));
        byte[] boundFree = pasidReq(2, 0, 0);
        le(boundFree).putInt(8, p);
        assertEquals(0, k.ioctl(c, PASID_REQUEST, boundFree));
        assertTrue(k.unit(0).deviceTable().reader().view(DEV1).boundPasids().isEmpty());
        assertNull(mount.registries().bindings.get(p));
        assertNull(mount.registries().pasids.get(p));
        assertFalse(k.unit(0).dmaTranslate(DEV1, p, 0x10, Prot.READ).ok(), "PASID-tagged DMA faults again");
        int plain = k.openContainer();
        assertEquals(EINVAL, k.ioctl(plain, BIND, bindArg(1, p, 0x1000, 5, 48)), "no driver");
    }

    @Test
    void bindAcceptsThePgdAtTheTopOfStage2AndUnbindIgnoresTheWidth() {
        int c = containerWith(NESTING, 1);
        int p = allocPasid(c);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x10_0000, 0x1000)));
        // Linux compares gpgd > max_addr, max_addr being the end of the highest mapping
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x10_1000, 5, 48)), "exactly max_addr is accepted");
        assertEquals(0, k.ioctl(c, BIND, bindArg(2, p, 0, 0, 0)), "unbind takes only the PASID");
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x10_0000, 5, 48)));
        assertEquals(48, mount.registries().bindings.get(p).addrWidth());
        assertFalse(k.unit(0).firstLevel5LevelPaging());
    }

    @Test
    void vsvaIoctlsAgreeOnNonNestingContainers() {
        // docs/UAPI.md, section 4: BIND, PASID_REQUEST and CACHE_INVALIDATE all answer EOPNOTSUPP
        int c = containerWith(TYPE1v2, 1);
        assertEquals(EOPNOTSUPP, k.ioctl(c, BIND, bindArg(1, 1, 0x1000, 5, 48)));
        assertEquals(EOPNOTSUPP, k.ioctl(c, BIND, guestStage(VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_STAGE,
                IommuGuestStageConfig.PASID_TABLE, 0x1000, 5)));
        byte[] alloc = new byte[VfioIommuType1PasidRequest.SIZE];
        new VfioIommuType1PasidRequest().wrap(alloc, 0).argsz(alloc.length)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC).allocMin(1).allocMax(10);
        assertEquals(EOPNOTSUPP, k.ioctl(c, PASID_REQUEST, alloc));
        byte[] inv = new byte[VfioIommuType1CacheInvalidate.SIZE];
        new VfioIommuType1CacheInvalidate().wrap(inv, 0).argsz(inv.length).cacheInfo().version(1)
                .cache(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB).granularity(IommuUapi.IOMMU_INV_GRANU_DOMAIN);
        assertEquals(EOPNOTSUPP, k.ioctl(c, CACHE_INVALIDATE, inv));
        // malformed arguments are still EINVAL first, as the three share the table's checks
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(3, 1, 0x1000, 5, 48)), "two operations at once");
    }

    /** vfio_iommu_type1_bind (8) + iommu_guest_stage_config at 8: flags 8, union at 16 (pasidt: version 16, bytes 20, base_ptr 24, pasid_bits 32). */
    static byte[] guestStage(int flags, int cfgFlags, long base, int bits) {
        byte[] a = new byte[40];
        le(a).putInt(0, 40).putInt(4, flags).putInt(8, cfgFlags).putInt(16, 1).putInt(20, 24).putLong(24, base);
        a[32] = (byte) bits;
        return a;
    }

    @Test
    void guestStageConfig() {
        int c = containerWith(NESTING, 1);
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(8, 1, 0, 0)), "unbind with none set");
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(4, 2, 0x40000, 10)), "SMMUv3 config on a VT-d unit");
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(4, 3, 0x40000, 10)), "both kinds");
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(4, 1, 0x40000, 21)), "pasid_bits above the host's 20");
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(4, 1, 0x40010, 10)), "unaligned table");
        byte[] badVersion = guestStage(4, 1, 0x40000, 10);
        le(badVersion).putInt(16, 2);
        assertEquals(EINVAL, k.ioctl(c, BIND, badVersion));
        byte[] shortArg = guestStage(4, 1, 0x40000, 10);
        le(shortArg).putInt(0, 39);
        assertEquals(EINVAL, k.ioctl(c, BIND, shortArg));
        // a well-formed PASID-table config still fails on VT-d: no structure of a scalable-mode unit
        // holds a guest-owned PASID table (nesting is per PASID, by BIND_GUEST_PGTBL), and Linux's
        // intel-iommu has no attach_pasid_table, for which the IOMMU core answers -ENODEV
        long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
        assertEquals(-19, k.ioctl(c, BIND, guestStage(4, 1, 0x40000, 10)));
        assertEquals(hw0, k.unit(0).deviceTable().file().descriptorWrites(), "nothing written");
        DeviceTableReader.DeviceView v = k.unit(0).deviceTable().reader().view(DEV1);
        assertFalse(v.nested());
        assertEquals(0, v.guestStageBase());
        assertNull(mount.registries().guestStages.get(k.container(c).id()));
        assertEquals(EINVAL, k.ioctl(c, BIND, guestStage(8, 0, 0, 0)), "nothing to unbind");
    }

    @Test
    void cacheInvalidateAgainstTheIotlb() {
        int c = containerWith(NESTING, 1);
        mapGuest();
        long pa = k.vmm().resolve(GUEST_VA, 4096);
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x10000, 0x2000)));
        IommuDomain d = k.container(c).domain();
        assertEquals(pa + 0x10, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10010, Prot.READ).pa());
        // change the page table behind the IOTLB's back
        assertEquals(0x1000, d.pageTable().unmap(0x10000, 0x1000));
        assertEquals(0, d.pageTable().map(0x10000, pa + 0x5000, 0x1000, Prot.READ | Prot.WRITE));
        DmaTranslation stale = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10010, Prot.READ);
        assertTrue(stale.iotlbHit());
        assertEquals(pa + 0x10, stale.pa(), "stale until invalidated");
        // errno paths
        assertEquals(EFAULT, k.ioctl(c, CACHE_INVALIDATE, new byte[40]));
        byte[] v2 = invalidate(1, 0);
        le(v2).putInt(8, 2);
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, v2), "newer UAPI version");
        byte[] v0 = invalidate(1, 0);
        le(v0).putInt(8, 0);
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, v0));
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, invalidate(8, 0)), "unknown cache bit");
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, invalidate(0, 0)), "no cache");
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, invalidate(1, 3)), "granularity 3");
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, invalidate(2, 0)), "DOMAIN x DEV_IOTLB");
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, invalidate(4, 2)), "ADDR x PASID cache");
        byte[] pad = invalidate(1, 0);
        pad[15] = 1;
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, pad), "padding");
        byte[] fl = invalidate(1, 0);
        le(fl).putInt(4, 1);
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, fl), "vfio flags");
        byte[] foreign = invalidate(1, 1);
        le(foreign).putInt(16, 1).putLong(24, 999);
        assertEquals(EPERM, k.ioctl(c, CACHE_INVALIDATE, foreign), "a PASID this container does not own");
        int plain = containerWith(TYPE1v2, 2);
        assertEquals(EOPNOTSUPP, k.ioctl(plain, CACHE_INVALIDATE, invalidate(1, 0)), "not a nesting container");
        byte[] noPasidFlag = invalidate(1, 1);
        assertEquals(EINVAL, k.ioctl(c, CACHE_INVALIDATE, noPasidFlag), "PASID granularity needs the PASID flag");
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10010, Prot.READ).iotlbHit(), "still stale");
        // ADDR, for another page: the stale entry stays
        byte[] other = invalidate(1, 2);
        le(other).putInt(16, 0).putLong(32, 0x11000).putLong(40, 4096).putLong(48, 1);
        assertEquals(0, k.ioctl(c, CACHE_INVALIDATE, other));
        assertEquals(pa + 0x10, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10010, Prot.READ).pa());
        // ADDR covering it (leaf hint): the new translation shows
        byte[] addr = invalidate(1, 2);
        le(addr).putInt(16, 4).putLong(32, 0x10000).putLong(40, 4096).putLong(48, 1);
        assertEquals(0, k.ioctl(c, CACHE_INVALIDATE, addr));
        DmaTranslation fresh = k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10010, Prot.READ);
        assertFalse(fresh.iotlbHit());
        assertEquals(pa + 0x5010, fresh.pa());
        // DOMAIN drops everything of the VMID
        assertTrue(k.unit(0).iotlb().size() > 0);
        assertEquals(0, k.ioctl(c, CACHE_INVALIDATE, invalidate(1, 0)));
        assertEquals(0, k.unit(0).iotlb().size());
        // PASID granularity only drops that PASID's entries
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x1000, 1, 48)));
        assertTrue(k.unit(0).dmaTranslate(DEV1, p, 0x10000, Prot.READ).ok());
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10000, Prot.READ).ok());
        assertEquals(2, k.unit(0).iotlb().size());
        byte[] byPasid = invalidate(1, 1);
        le(byPasid).putInt(16, 1).putLong(24, p);
        assertEquals(0, k.ioctl(c, CACHE_INVALIDATE, byPasid));
        assertEquals(1, k.unit(0).iotlb().size());
        assertFalse(k.unit(0).dmaTranslate(DEV1, p, 0x10000, Prot.READ).iotlbHit());
    }

    /** vfio_iommu_type1_fault_read: argsz 0, flags 4, count 8, pending 12, records of 64 bytes from 16. */
    static byte[] faultRead(int capacity) {
        byte[] a = new byte[16 + 64 * capacity];
        le(a).putInt(0, a.length).putInt(8, capacity);
        return a;
    }

    @Test
    void faultsAndPageResponse() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(32, 1, GUEST_VA, 0x10000, 0x1000)));
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x55000, Prot.READ).ok(), "unmapped");
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x10008, Prot.WRITE).ok(), "read-only");
        assertTrue(k.unit(0).pageRequest(DEV1, 7, 0x30123, Prot.READ | Prot.WRITE, 9, true));
        assertFalse(k.unit(0).dmaTranslate(DEV2, Iotlb.NO_PASID, 0, Prot.READ).faultQueued(), "no container owns 00:02.0");
        assertEquals(EFAULT, k.ioctl(c, READ_FAULTS, new byte[8]));
        byte[] bad = faultRead(1);
        le(bad).putInt(4, 1);
        assertEquals(EINVAL, k.ioctl(c, READ_FAULTS, bad), "flags");
        byte[] r = faultRead(2);
        assertEquals(0, k.ioctl(c, READ_FAULTS, r));
        assertEquals(2, le(r).getInt(8), "returned");
        assertEquals(1, le(r).getInt(12), "pending");
        // record 0: unrecoverable, PTE_FETCH, ADDR_VALID, READ, addr = faulting page
        assertEquals(1, le(r).getInt(16));
        assertEquals(5, le(r).getInt(24));
        assertEquals(2, le(r).getInt(28));
        assertEquals(0, le(r).getInt(32));
        assertEquals(1, le(r).getInt(36));
        assertEquals(0x55000L, le(r).getLong(40));
        // record 1: PERMISSION, WRITE
        assertEquals(1, le(r).getInt(80));
        assertEquals(6, le(r).getInt(88));
        assertEquals(2, le(r).getInt(92));
        assertEquals(2, le(r).getInt(100));
        assertEquals(0x10000L, le(r).getLong(104));
        byte[] r2 = faultRead(4);
        assertEquals(0, k.ioctl(c, READ_FAULTS, r2));
        assertEquals(1, le(r2).getInt(8));
        assertEquals(0, le(r2).getInt(12));
        // page request: type 2, flags PASID_VALID | LAST_PAGE, pasid 7, grpid 9, perm RW, page address
        assertEquals(2, le(r2).getInt(16));
        assertEquals(3, le(r2).getInt(24));
        assertEquals(7, le(r2).getInt(28));
        assertEquals(9, le(r2).getInt(32));
        assertEquals(3, le(r2).getInt(36));
        assertEquals(0x30000L, le(r2).getLong(40));
        // argsz must hold count records
        k.unit(0).pageRequest(DEV1, Iotlb.NO_PASID, 0x1000, Prot.READ, 11, false);
        byte[] r3 = faultRead(4);
        le(r3).putInt(0, 16 + 64 * 3);
        assertEquals(EINVAL, k.ioctl(c, READ_FAULTS, r3));
        assertEquals(1, k.container(c).faults().pending(), "nothing dequeued");
        byte[] r4 = faultRead(0);
        assertEquals(0, k.ioctl(c, READ_FAULTS, r4));
        assertEquals(0, le(r4).getInt(8));
        assertEquals(1, le(r4).getInt(12), "count 0 just reports what is pending");
        // PAGE_RESPONSE: argsz 0, flags 4, resp at 8: version 8, flags 12, pasid 16, grpid 20, code 24
        byte[] resp = new byte[28];
        le(resp).putInt(0, 28).putInt(8, 1).putInt(12, 1).putInt(16, 7).putInt(20, 9).putInt(24, 0);
        byte[] v2 = resp.clone();
        le(v2).putInt(8, 2);
        assertEquals(EINVAL, k.ioctl(c, PAGE_RESPONSE, v2), "version");
        byte[] wrongPasid = resp.clone();
        le(wrongPasid).putInt(16, 8);
        assertEquals(EINVAL, k.ioctl(c, PAGE_RESPONSE, wrongPasid), "no request with that pasid");
        byte[] wrongGrp = resp.clone();
        le(wrongGrp).putInt(20, 10);
        assertEquals(EINVAL, k.ioctl(c, PAGE_RESPONSE, wrongGrp));
        byte[] badCode = resp.clone();
        le(badCode).putInt(24, 3);
        assertEquals(EINVAL, k.ioctl(c, PAGE_RESPONSE, badCode));
        assertEquals(EFAULT, k.ioctl(c, PAGE_RESPONSE, new byte[20]));
        assertEquals(0, k.ioctl(c, PAGE_RESPONSE, resp));
        assertEquals(EINVAL, k.ioctl(c, PAGE_RESPONSE, resp), "already answered");
        byte[] noPasid = new byte[28];
        le(noPasid).putInt(0, 28).putInt(8, 1).putInt(20, 11);
        assertEquals(0, k.ioctl(c, PAGE_RESPONSE, noPasid), "the still-queued request of group 11");
        assertEquals(0, k.container(c).faults().pending());
        assertEquals(0, mount.registries().faults.size());
        assertEquals(IommuUapi.IOMMU_FAULT_DMA_UNRECOV, 1);
    }
}
