package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;

import static org.junit.jupiter.api.Assertions.*;

/**
 * VMID and PASID ownership rebuilt at recovery from everything that can name one (container and
 * domain records, bindings, device-table entries: {@link VmidOwners}): an ID a device still carries
 * is never handed to another VM, and a consistent mount's counts are left as they are.
 */
class OwnershipRecoveryTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:02.0");

    /** SIGKILL, then the next boot on a mount whose journal lost the intent (no undo: the entry stays). */
    void crashLosingTheJournalAndBoot() {
        k.crash();
        mount = PkernfsMount.mountReadWrite(dir);
        mount.journal().end();
        k = VfioKernel.boot(mount, topo);
    }

    int vm1UpTo(String crashPoint) {
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        k.setCrashPoints(CrashPoints.at(crashPoint, 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, SET_IOMMU, TYPE1v2));
        return c;
    }

    @Test
    void aDidWrittenBeforeItsDomainRecordIsNotGivenToTheNextContainer() {
        boot();
        vm1UpTo("setiommu:attached");
        assertTrue(k.unit(0).deviceTable().lookup(DEV1).present(), "killed after the device entry's store");
        int did = k.unit(0).deviceTable().lookup(DEV1).did();
        assertTrue(k.registries.domains.values().stream().noneMatch(d -> d.vmid() == did), "and before the domain record");
        crashLosingTheJournalAndBoot();

        assertTrue(k.unit(0).deviceTable().lookup(DEV1).present(), "nothing undid the entry");
        assertEquals(did, k.unit(0).deviceTable().lookup(DEV1).did());
        assertTrue(k.vmids().inUse(did), "the DID a device still carries is held");
        assertTrue(k.recoveryReport().toString().contains("VMID " + did), k.recoveryReport().toString());
        mapGuest();
        int c2 = containerWith(TYPE1v2, 2);
        assertNotEquals(did, (int) vmidOf(c2), "a new container's VMID differs from the DID on 00:01.0");
        assertEquals(vmidOf(c2), k.unit(0).deviceTable().lookup(DEV2).did());
    }

    @Test
    void withTheJournalTheAttachIsUndoneAndNoDeviceSharesTheNextVmid() {
        boot();
        vm1UpTo("setiommu:attached");
        crashAndBoot();
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present(), "the SET_IOMMU that never returned left no entry");
        mapGuest();
        int c2 = containerWith(TYPE1v2, 2);
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present()
                && k.unit(0).deviceTable().lookup(DEV1).did() == (int) vmidOf(c2));
    }

    @Test
    void aPasidStillBoundOnADeviceIsHeldWhenItsRecordsAreGone() {
        boot();
        mapGuest();
        int c = containerWith(NESTING, 1);
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x200000, 5, 48)));
        int id = k.container(c).id();
        // the records lost (as a step the journal did not cover would lose them); the device still has it bound
        BindingRecord b = k.registries.bindings.get(p);
        assertNotNull(b);
        k.registries.bindings.remove(p);
        k.registries.pasids.remove(p);
        crashAndBoot();

        assertEquals(id, k.pasids().ownerOf(p), "PASID " + p + " bound on 00:01.0 is held for the container whose domain has the DID");
        assertTrue(k.recoveryReport().toString().contains("PASID " + p), k.recoveryReport().toString());
        int c2 = containerWith(NESTING, 2);
        assertNotEquals(p, allocPasid(c2), "another VM is not given a PASID a device still has bound");
    }

    @Test
    void aConsistentMountsCountsAreLeftAlone() {
        boot();
        mapGuest();
        int c = containerWith(NESTING, 1);
        assertEquals(0L, k.ioctl(c, SET_VMID, 9L));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x200000, 5, 48)));
        var vmids = k.vmids().snapshot();
        int id = k.container(c).id();
        crashAndBoot();
        assertEquals(vmids, k.vmids().snapshot());
        assertEquals(id, k.pasids().ownerOf(p));
        assertFalse(k.recoveryReport().toString().contains("held"), k.recoveryReport().toString());
    }
}
