package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SET_IOMMU killed at each of its persistent steps (the SET_IOMMU intent, docs/UAPI.md): recovery
 * undoes it (no device tagged with a VMID nobody holds) or finishes it (container record carries
 * the domain's VMID), and no VMID is then given to a second VM.
 */
class SetIommuCrashTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:02.0");

    int setIommuKilledAt(String point) {
        boot();
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        int id = k.container(c).id();
        k.setCrashPoints(CrashPoints.at(point, 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, SET_IOMMU, TYPE1v2));
        crashAndBoot();
        assertFalse(k.journal.active(), "recovery resolved the intent");
        return id;
    }

    /** Every present device-table entry is backed by a domain record whose VMID is held. */
    void assertEveryEntryOwned() {
        for (Bdf b : k.unit(0).devices()) {
            DeviceEntry e = k.unit(0).deviceTable().lookup(b);
            if (!e.present()) {
                continue;
            }
            assertTrue(k.registries.domains.values().stream().anyMatch(d -> d.vmid() == e.did()),
                    b + " present with DID " + e.did() + " but no domain record has it");
            assertTrue(k.vmids().inUse(e.did()), "DID " + e.did() + " of " + b + " is held");
        }
    }

    /** A second VM after recovery gets a VMID no device or record names. */
    void assertSecondVmGetsAFreshVmid() {
        mapGuest();
        int c2 = containerWith(TYPE1v2, 2);
        int v2 = (int) vmidOf(c2);
        for (DomainRecord d : k.registries.domains.values()) {
            if (d.containerId() != k.container(c2).id()) {
                assertNotEquals(d.vmid(), v2, "VMID " + v2 + " given to a second VM while domain " + d.domainId() + " has it");
            }
        }
        assertNotEquals(k.unit(0).deviceTable().lookup(DEV1).did(), v2);
        assertEquals(v2, k.unit(0).deviceTable().lookup(DEV2).did());
    }

    @Test
    void killAfterTheAttachBeforeTheDomainRecordIsUndone() {
        int id = setIommuKilledAt("setiommu:attached");
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present(), "the attach of a SET_IOMMU that never returned is undone");
        assertTrue(k.registries.domains.values().stream().noneMatch(d -> d.containerId() == id));
        assertEveryEntryOwned();
        assertTrue(k.recoveryReport().toString().contains("SET_IOMMU"), k.recoveryReport().toString());
        assertSecondVmGetsAFreshVmid();
        // the first VM comes back and attaches again
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x4000)));
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101234, Prot.READ).ok());
        assertNotEquals(vmidOf(c), k.unit(0).deviceTable().lookup(DEV2).did());
        assertEveryEntryOwned();
    }

    @Test
    void killAfterTheDomainRecordIsFinished() {
        int id = setIommuKilledAt("setiommu:domain");
        DomainRecord d = k.registries.domains.values().stream().filter(r -> r.containerId() == id).findFirst().orElseThrow();
        ContainerRecord c = k.registries.containers.get(id);
        assertEquals(d.vmid(), c.vmid(), "the container record carries its domain's VMID");
        assertEquals(d.domainId(), c.domainId());
        assertEquals(d.vmid(), k.unit(0).deviceTable().lookup(DEV1).did());
        assertEveryEntryOwned();
        assertSecondVmGetsAFreshVmid();
        // reattach adopts the domain with no device-table write
        PageTableFile hw = k.unit(0).deviceTable().file();
        long hw0 = hw.descriptorWrites();
        int c1 = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c1)));
        assertEquals(0, k.ioctl(c1, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(id, k.container(c1).id());
        assertEquals(d.vmid(), vmidOf(c1));
        assertEquals(0L, k.ioctl(c1, SET_IOMMU, TYPE1v2));
        assertEquals(hw0, hw.descriptorWrites(), "reattach wrote no device-table descriptor");
    }

    @Test
    void aVmidNamedOnlyByADeviceEntryIsNeverHandedOut() {
        // a SET_IOMMU from before the journal knew it (or any path the journal misses): the device is
        // tagged, no record holds the VMID; recovery must keep it held
        int id = setIommuKilledAt("setiommu:domain");
        int v = k.registries.domains.values().stream().filter(r -> r.containerId() == id).findFirst().orElseThrow().vmid();
        ContainerRecord c = k.registries.containers.get(id);
        k.registries.containers.put(id, new ContainerRecord(id, 0, VfioContainer.VMID_INVALID, c.pgtableFile(), 0,
                c.pasidQuota(), c.flags()));
        crashAndBoot();
        assertTrue(k.vmids().inUse(v), "VMID " + v + " still tagged on a device is held");
        assertTrue(k.recoveryReport().toString().contains("VMID " + v), k.recoveryReport().toString());
        assertSecondVmGetsAFreshVmid();
    }
}
