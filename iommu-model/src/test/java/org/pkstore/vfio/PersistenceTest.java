package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import static org.junit.jupiter.api.Assertions.*;

/** kexec (planned and crash) in the same JVM: what survives, reattach with zero writes, recovery. */
class PersistenceTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");

    int pgtableFd(String name) {
        int fd = k.openPageTableFile(name, true);
        assertTrue(fd > 0);
        return fd;
    }

    /** Container on group 1 with the persistent file "vm1" (created), SET_IOMMU(type). */
    int persistentContainer(int type) {
        int c = k.openContainer();
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(pgtableFd("vm1"))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, type));
        return c;
    }

    @Test
    void setPersistentPgtablesErrnos() {
        boot();
        int c = k.openContainer();
        assertEquals(EBADF, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(555)), "not open");
        int g = k.openGroup(1);
        assertEquals(EBADF, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(g)), "a group fd");
        assertEquals(EBADF, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(c)), "a container fd");
        assertEquals(EFAULT, k.ioctl(c, SET_PERSISTENT_PGTABLES, new byte[2]));
        int arm = k.openPageTableFile("arm", true, 2);
        assertEquals(EINVAL, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(arm)), "ARM LPAE file for a VT-d unit");
        assertEquals(ENOENT, k.openPageTableFile("absent", false));
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        int f = pgtableFd("vm1");
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(f)));
        assertEquals(EBUSY, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(f)), "already set");
        int other = k.openContainer();
        assertEquals(EBUSY, k.ioctl(other, SET_PERSISTENT_PGTABLES, s32(f)), "used by another container");
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        assertEquals(EBUSY, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(f)), "after SET_IOMMU");
        assertEquals("vm1", k.container(c).domain().fileName(), "the domain lives in the user's file");
        assertEquals(k.container(c).domain().pageTable().rootPa(), mount.openTableFile(mount.pageTablePath("vm1")).rootPa());
    }

    @Test
    void plannedKexecPreservesStateAndReattachWritesNothing() {
        boot();
        int c = persistentContainer(NESTING);
        mapGuest();
        long pa = k.vmm().resolve(GUEST_VA, 4096);
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(32, 1, GUEST_VA + 0x400000, 0x400000, 0x1000)));
        assertEquals(0L, k.ioctl(c, SET_VMID, 77L));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x200000, 5, 48)));
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x900000, Prot.READ).ok());
        k.unit(0).pageRequest(DEV1, p, 0x5000, Prot.READ, 3, true);
        int oldId = k.container(c).id();
        long rootBefore = k.container(c).domain().pageTable().rootPa();

        kexec();

        assertFalse(k.recoveryReport().unclean());
        assertTrue(k.preservedContainers().containsKey(oldId));
        // the device still translates through the preserved tables before user space comes back
        assertEquals(pa + 0x1234, k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101234, Prot.WRITE).pa());
        assertEquals(77, k.unit(0).deviceTable().lookup(DEV1).did());
        PageTableFile hw = k.unit(0).deviceTable().file();
        PageTableFile pt = mount.openTableFile(mount.pageTablePath("vm1"));
        long hw0 = hw.descriptorWrites();
        long pt0 = pt.descriptorWrites();

        int c2 = k.openContainer();
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c2)));
        assertEquals(0, k.ioctl(c2, SET_PERSISTENT_PGTABLES, s32(pgtableFd("vm1"))));
        VfioContainer vc = k.container(c2);
        assertTrue(vc.reclaimed());
        assertEquals(oldId, vc.id());
        assertEquals(77, vmidOf(c2), "VMID carried over");
        assertEquals(0L, k.ioctl(c2, SET_IOMMU, NESTING));
        assertTrue(vc.domain().adopted());
        assertEquals(rootBefore, vc.domain().pageTable().rootPa());
        assertEquals(hw0, hw.descriptorWrites(), "re-attach wrote no device-table descriptor");
        assertEquals(pt0, pt.descriptorWrites(), "adopting the tables wrote no descriptor");
        assertEquals(1, vc.bindings().size(), "binding carried over");
        assertEquals(p, k.pasids().ownerOf(p) == oldId ? p : -1, "PASID still owned");
        assertEquals(1, k.unit(0).deviceTable().reader().view(DEV1).boundPasids().size());
        // undelivered faults come back, in order
        byte[] r = new byte[16 + 64 * 4];
        le(r).putInt(0, r.length).putInt(8, 4);
        assertEquals(0, k.ioctl(c2, READ_FAULTS, r));
        assertEquals(2, le(r).getInt(8));
        assertEquals(1, le(r).getInt(16), "the DMA fault first");
        assertEquals(2, le(r).getInt(80), "then the page request");
        // the restarted VMM maps its memory elsewhere and re-establishes with LIVE_UPDATE
        assertEquals(0, k.mapGuestMemory(0x5500_0000_0000L, GUEST_SIZE, "ram"));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, 0x5500_0000_0000L, 0x100000, 0x200000)));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(32, 1 | 8, 0x5500_0040_0000L, 0x400000, 0x1000)));
        assertEquals(pt0, pt.descriptorWrites(), "LIVE_UPDATE wrote no descriptor");
        assertEquals(hw0, hw.descriptorWrites());
        assertEquals(0x5500_0000_0000L, mount.registries().dmaMappings.get(
                org.pkstore.persist.registry.DmaMappingRecord.key(oldId, 0x100000)).vaddr());
        // PASID can be freed after unbind, and a normal MAP still works
        assertEquals(0, k.ioctl(c2, BIND, bindArg(2, p, 0, 0, 48)));
        byte[] free = pasidReq(2, 0, 0);
        le(free).putInt(8, p);
        assertEquals(0, k.ioctl(c2, PASID_REQUEST, free));
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(0x5500_0080_0000L, 0x800000, 0x1000)));
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x800000, Prot.READ).ok());
    }

    @Test
    void headerOwnerIsTheDomainIdForKernelFilesAndZeroForTheVmmsAndKexecLeavesItAlone() {
        boot();
        int vmm = persistentContainer(TYPE1v2);
        int kernelOwned = containerWith(TYPE1v2, 2);
        long domainId = k.container(kernelOwned).domain().id();
        assertTrue(domainId > 0);
        PageTableFile own = mount.openTableFile(mount.pageTablePath(k.container(kernelOwned).domain().fileName()));
        assertEquals(domainId, own.ownerId(), "written with the header the kernel creates for the domain");
        assertEquals(PageTableFileDescriptor.OWNER_VMM, mount.openTableFile(mount.pageTablePath("vm1")).ownerId(),
                "the VMM's file predates its domain");
        assertNotEquals(domainId, k.container(vmm).domain().id());
        kexec();
        PageTableFile after = mount.openTableFile(mount.pageTablePath("domain-" + domainId));
        assertEquals(domainId, after.ownerId(), "a kexec does not touch the header");
        assertEquals(0, after.descriptorWrites());
    }

    @Test
    void liveUpdateMismatchReportsTheFirstDifferingIova() {
        boot();
        int c = persistentContainer(TYPE1v2);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x4000)));
        kexec();
        int c2 = k.openContainer();
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c2)));
        assertEquals(0, k.ioctl(c2, SET_PERSISTENT_PGTABLES, s32(pgtableFd("vm1"))));
        assertEquals(0L, k.ioctl(c2, SET_IOMMU, TYPE1v2));
        mapGuest();
        PageTableFile pt = mount.openTableFile(mount.pageTablePath("vm1"));
        long pt0 = pt.descriptorWrites();
        VfioContainer vc = k.container(c2);
        // another PA: differs at the first page
        assertEquals(EINVAL, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA + 0x1000, 0x100000, 0x4000)));
        assertEquals(0x100000, vc.lastLiveUpdateMismatch());
        // longer than what the tables hold: refused where the tables stop matching
        assertEquals(EINVAL, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA, 0x100000, 0x6000)));
        assertEquals(0x104000, vc.lastLiveUpdateMismatch());
        // the tables do hold a part of it, but a LIVE_UPDATE must match a preserved mapping exactly
        assertEquals(EEXIST, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA, 0x100000, 0x2000)));
        assertEquals(-1, vc.lastLiveUpdateMismatch());
        // nothing mapped there: differs at once; a hole after a matching part: differs where it starts
        assertEquals(EINVAL, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA + 0x4000, 0x104000, 0x2000)));
        assertEquals(0x104000, vc.lastLiveUpdateMismatch());
        assertEquals(-1, vc.domain().firstMismatch(0x100000, 0x4000, k.vmm().resolve(GUEST_VA, 0x4000), 7));
        assertEquals(0x104000, vc.domain().firstMismatch(0x100000, 0x6000, k.vmm().resolve(GUEST_VA, 0x6000), 7));
        // other permissions
        assertEquals(EINVAL, k.ioctl(c2, MAP_DMA, dmaMap(32, 1 | 8, GUEST_VA, 0x100000, 0x4000)));
        assertEquals(0x100000, vc.lastLiveUpdateMismatch());
        assertEquals(pt0, pt.descriptorWrites(), "a refused LIVE_UPDATE writes nothing either");
        assertEquals(0, k.ioctl(c2, MAP_DMA, dmaMap(32, 3 | 8, GUEST_VA, 0x100000, 0x4000)));
        assertEquals(-1, vc.lastLiveUpdateMismatch());
    }

    @Test
    void crashDuringMapIsUndone() {
        boot();
        int c = persistentContainer(TYPE1v2);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x1000)), "returned: must survive");
        int id = k.container(c).id();
        long pagesBefore = mount.openTableFile(mount.pageTablePath("vm1")).allocatedTablePages();
        k.setCrashPoints(CrashPoints.at("map:record", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x40000000L, 0x200000)));
        crashAndBoot();
        RecoveryReport r = k.recoveryReport();
        assertTrue(r.unclean());
        assertEquals("MAP_DMA", r.intent());
        assertEquals("undone", r.intentAction());
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x100000, Prot.READ).ok(), "the returned map survived");
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x40000000L, Prot.READ).ok(), "the cut-short map is gone");
        assertNull(mount.registries().dmaMappings.get(org.pkstore.persist.registry.DmaMappingRecord.key(id, 0x40000000L)));
        assertNotNull(mount.registries().dmaMappings.get(org.pkstore.persist.registry.DmaMappingRecord.key(id, 0x100000)));
        assertEquals(pagesBefore, mount.openTableFile(mount.pageTablePath("vm1")).allocatedTablePages(),
                "the undo gave back the table pages the cut-short map took: " + r);
    }

    @Test
    void unexpectedExceptionIsEioAndLeavesNoHalfDoneMap() {
        boot();
        int c = persistentContainer(TYPE1v2);
        mapGuest();
        k.setCrashPoints(p -> {
            if (p.equals("map:tables")) {
                throw new IllegalStateException("injected");
            }
        });
        assertEquals(-5, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x1000)));
        k.setCrashPoints(null);
        assertNull(mount.journal().pending(), "the interrupted intent was undone at once");
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x100000, Prot.READ).ok());
        assertEquals(0, mount.registries().dmaMappings.size());
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x1000)), "and the kernel goes on");
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x100000, Prot.READ).ok());
    }

    @Test
    void crashDuringUnmapIsFinished() {
        boot();
        int c = persistentContainer(TYPE1v2);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x2000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x200000, 0x2000)));
        k.setCrashPoints(CrashPoints.at("unmap:tables", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x100000, 0x2000)));
        crashAndBoot();
        assertEquals("UNMAP_DMA", k.recoveryReport().intent());
        assertEquals("finished", k.recoveryReport().intentAction());
        assertEquals(1, mount.registries().dmaMappings.size());
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x100000, Prot.READ).ok());
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x200000, Prot.READ).ok());
    }

    @Test
    void crashDuringSetVmidIsFinished() {
        boot();
        int c = persistentContainer(TYPE1v2);
        int id = k.container(c).id();
        assertEquals(1, vmidOf(c));
        k.setCrashPoints(CrashPoints.at("vmid:refcount", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, SET_VMID, 9L));
        crashAndBoot();
        assertEquals("SET_VMID", k.recoveryReport().intent());
        assertEquals(9, mount.registries().containers.get(id).vmid());
        assertEquals(9, k.unit(0).deviceTable().lookup(DEV1).did());
        assertEquals(1, k.vmids().users(9));
        assertFalse(k.vmids().inUse(1), "the old VMID's count follows the records");
    }

    @Test
    void crashDuringBindIsUndone() {
        topo = org.pkstore.iommu.HostTopology.parse("unit 0 vtd\ngroup 1 unit 0 device 00:01.0 00:01.1\n");
        boot();
        int c = persistentContainer(NESTING);
        int p = allocPasid(c);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 0x2000)));
        k.setCrashPoints(CrashPoints.at("bind:tables", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, BIND, bindArg(1, p, 0x1000, 1, 48)));
        assertEquals(1, k.unit(0).deviceTable().reader().view(DEV1).boundPasids().size(), "written before the crash");
        crashAndBoot();
        assertEquals("BIND", k.recoveryReport().intent());
        assertEquals("undone", k.recoveryReport().intentAction());
        assertTrue(k.unit(0).deviceTable().reader().view(DEV1).boundPasids().isEmpty());
        assertTrue(k.unit(0).deviceTable().reader().view(Bdf.parse("00:01.1")).boundPasids().isEmpty());
        assertNull(mount.registries().bindings.get(p));
    }

    @Test
    void sweepReclaimsLeakedPagesAfterACrash() {
        boot();
        persistentContainer(TYPE1v2);
        PageTableFile pt = mount.openTableFile(mount.pageTablePath("vm1"));
        long leaked = pt.allocatePage(); // as if killed between allocation and publication
        long hwLeak = k.unit(0).deviceTable().file().allocatePage();
        assertTrue(leaked > 0 && hwLeak > 0);
        crashAndBoot();
        RecoveryReport r = k.recoveryReport();
        assertNull(r.intent());
        assertEquals(1L, r.reclaimedPages().get("vm1"), r.toString());
        assertEquals(1L, r.reclaimedPages().get("unit0.hw"), r.toString());
        assertTrue(k.unit(0).deviceTable().lookup(DEV1).present(), "the live entry is untouched");
        PageTableFile again = mount.openTableFile(mount.pageTablePath("vm1"));
        assertFalse(again.isAllocated(again.pageIndexOf(leaked)));
        assertEquals(PageTableFileDescriptor.KIND_DOMAIN_TABLES, again.kind());
    }

    @Test
    void closingTheContainerReleasesEverything() {
        boot();
        int c = persistentContainer(NESTING);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x1000)));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x1000, 1, 48)));
        k.unit(0).pageRequest(DEV1, p, 0, Prot.READ, 1, true);
        assertEquals(0, k.close(c));
        var reg = mount.registries();
        assertEquals(0, reg.containers.size());
        assertEquals(0, reg.domains.size());
        assertEquals(0, reg.dmaMappings.size());
        assertEquals(0, reg.pasids.size());
        assertEquals(0, reg.bindings.size());
        assertEquals(0, reg.vmids.size());
        assertEquals(0, reg.faults.size());
        assertEquals(0, reg.groups.size());
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present());
        kexec();
        assertTrue(k.preservedContainers().isEmpty());
    }
}
