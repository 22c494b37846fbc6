package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;

import static org.junit.jupiter.api.Assertions.*;

/** GROUP_SET_CONTAINER / GROUP_UNSET_CONTAINER on a container with a domain, killed at each step (GroupIntent). */
class GroupCrashTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:02.0");

    int vm(int... groupIds) {
        mapGuest();
        int c = containerWith(TYPE1v2, groupIds);
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x4000)));
        return c;
    }

    void assertEveryPresentEntryHasItsGroupRecord() {
        for (Bdf b : k.unit(0).devices()) {
            if (k.unit(0).deviceTable().lookup(b).present()) {
                int group = b.equals(DEV1) ? 1 : 2;
                assertNotNull(k.registries.groups.get(group), b + " present but group " + group + " has no record");
            }
        }
    }

    @Test
    void attachKilledAfterTheDevicesIsUndone() {
        boot();
        int c = vm(1);
        int g2 = k.openGroup(2);
        k.setCrashPoints(CrashPoints.at("group:attached", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(g2, GROUP_SET_CONTAINER, s32(c)));
        crashAndBoot();
        assertFalse(k.journal.active());
        assertFalse(k.unit(0).deviceTable().lookup(DEV2).present(), "the attach that never returned is undone");
        assertNull(k.registries.groups.get(2));
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101000, Prot.READ).ok(), "the other device is untouched");
        assertEveryPresentEntryHasItsGroupRecord();
    }

    @Test
    void detachKilledAfterTheDevicesIsFinished() {
        boot();
        int c = vm(1, 2);
        k.setCrashPoints(CrashPoints.at("group:detached", 1));
        VfioGroup group1 = k.container(c).groups().get(0);
        assertThrows(SimulatedCrash.class, () -> k.container(c).detachGroupJournaled(group1));
        crashAndBoot();
        assertFalse(k.journal.active());
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present());
        assertNull(k.registries.groups.get(group1.id()));
        assertTrue(k.unit(0).dmaTranslate(DEV2, Iotlb.NO_PASID, 0x101000, Prot.READ).ok(), "the remaining group keeps translating");
        assertEveryPresentEntryHasItsGroupRecord();
    }

    @Test
    void detachOfTheLastGroupKilledBeforeTheDomainGoesIsFinished() {
        boot();
        int c = vm(1);
        int id = k.container(c).id();
        VfioGroup group1 = k.container(c).groups().get(0);
        k.setCrashPoints(CrashPoints.at("group:last", 1));
        assertThrows(SimulatedCrash.class, () -> k.container(c).detachGroupJournaled(group1));
        crashAndBoot();
        assertFalse(k.journal.active());
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present());
        assertTrue(k.registries.domains.values().stream().noneMatch(d -> d.containerId() == id), "domain released");
        assertTrue(k.registries.dmaMappings.values().stream().noneMatch(m -> m.containerId() == id), "mappings gone");
        assertEquals(0L, k.registries.containers.get(id).domainId());
        assertEveryPresentEntryHasItsGroupRecord();
    }

    @Test
    void reclaimKilledBeforeTheGroupRecordsMoveIsFinished() {
        boot();
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x4000)));
        int preserved = k.container(c).id();
        kexec();
        int c2 = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c2)));
        int fresh = k.container(c2).id();
        assertEquals(fresh, k.registries.groups.get(1).containerId());
        k.setCrashPoints(CrashPoints.at("reclaim:groups", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c2, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        crashAndBoot();
        assertFalse(k.journal.active());
        assertEquals(preserved, k.registries.groups.get(1).containerId(), "the group record follows the reclaimed id");
        assertNull(k.registries.containers.get(fresh));
        long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
        int c3 = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c3)));
        assertEquals(0, k.ioctl(c3, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(preserved, k.container(c3).id());
        assertEquals(0L, k.ioctl(c3, SET_IOMMU, TYPE1v2));
        assertEquals(hw0, k.unit(0).deviceTable().file().descriptorWrites());
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101000, Prot.READ).ok());
    }
}
