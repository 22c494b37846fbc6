package org.pkstore.vfio;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.registry.Registries;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Closing a container killed part-way (the RELEASE intent): the recovering boot finishes it with
 * the release's own code ({@link VfioContainer#releaseSteps} on the container rebuilt from its
 * records, {@link ReleaseIntent}), so afterwards the mount is exactly as after an uninterrupted
 * close: no record of the container, its domain, mappings, PASIDs, bindings, faults or VMID, and
 * no device entry.
 */
class ReleaseCrashTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");

    @ParameterizedTest
    @ValueSource(strings = {"group:detached", "group:last"})
    void aReleaseKilledPartWayIsFinishedByTheSameSteps(String point) {
        boot();
        mapGuest();
        int c = containerWith(NESTING, 1);
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x400000, 0x4000_0000L, 0x1000)));
        assertEquals(0L, k.ioctl(c, SET_VMID, 12L));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x200000, 5, 48)));
        assertTrue(k.unit(0).pageRequest(DEV1, p, 0x5000, Prot.READ, 3, true));
        k.setCrashPoints(CrashPoints.at(point, 1));
        assertThrows(SimulatedCrash.class, () -> k.close(c));
        crashAndBoot();

        assertTrue(k.recoveryReport().toString().contains("RELEASE"), k.recoveryReport().toString());
        Registries reg = mount.registries();
        assertEquals(0, reg.containers.size());
        assertEquals(0, reg.domains.size());
        assertEquals(0, reg.dmaMappings.size());
        assertEquals(0, reg.pasids.size());
        assertEquals(0, reg.bindings.size());
        assertEquals(0, reg.vmids.size(), "VMID 12 given back");
        assertEquals(0, reg.faults.size());
        assertEquals(0, reg.groups.size());
        assertFalse(k.unit(0).deviceTable().lookup(DEV1).present());
        assertEquals(List.of(), CrashInvariants.check(mount, topo));
        assertTrue(k.preservedContainers().isEmpty());
    }
}
