package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ReattachState;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The preserved record (docs/FORMAT.md) follows every operation a reattach depends on, a boot builds
 * the preserved containers from it, and the registries win whenever it is behind or differs.
 */
class PreservedRecordBootTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");

    /** Container on group 1 with the persistent file "vm1" (created), SET_IOMMU(type). */
    private int persistentContainer(int type) {
        int c = k.openContainer();
        int g = k.openGroup(1);
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        int pfd = k.openPageTableFile("vm1", true);
        assertTrue(pfd > 0);
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(pfd)));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, type));
        return c;
    }

    private ReattachState onDisk() {
        return PreservedRecord.read(PreservedRecord.pathIn(dir)).state();
    }

    @Test
    void everyReattachChangeIsInTheRecordAndAPlannedBootUsesIt() {
        boot();
        int c = persistentContainer(NESTING);
        mapGuest();
        assertEquals(SET_IOMMU, PreservedRecord.read(PreservedRecord.pathIn(dir)).operationUnderWay(),
                "the change is written before the next operation, never after this one");
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        assertNull(onDisk().differenceFrom(ReattachState.of(mount.registries())), "after SET_IOMMU");
        PreservedRecord.Contents afterMap = PreservedRecord.read(PreservedRecord.pathIn(dir));
        assertEquals(0, afterMap.operationUnderWay());
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x400000, 0x400000, 0x1000)));
        assertEquals(afterMap.sequence(), PreservedRecord.read(PreservedRecord.pathIn(dir)).sequence(),
                "MAP_DMA with no change pending leaves the record alone");
        assertEquals(0L, k.ioctl(c, SET_VMID, 77L));
        int p = allocPasid(c);
        assertEquals(0, k.ioctl(c, BIND, bindArg(1, p, 0x200000, 5, 48)));
        k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x900000, Prot.READ); // an unrecoverable fault, pending
        assertEquals(0, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x400000, 0x1000)),
                "any next operation writes the pending change first");
        ReattachState before = ReattachState.of(mount.registries());
        assertNull(onDisk().differenceFrom(before), onDisk() + " versus " + before);
        ReattachState.Container rc = onDisk().containers().get(0);
        assertEquals(77, rc.vmid());
        assertEquals(List.of(p), rc.pasids());
        assertEquals(1, rc.bindings().size());
        assertEquals(1, rc.pendingFaults());
        assertEquals(List.of(1), rc.groups());
        assertEquals("vm1", rc.pgtableFile());

        kexec();

        assertTrue(k.bootTimes().record().startsWith("used"), k.bootTimes().record());
        assertEquals(77, k.preservedContainers().get(rc.containerId()).vmid());
        assertEquals(rc.containerId(), k.group(1).preservedContainerId);
    }

    @Test
    void aCrashInsideAnIoctlLeavesTheRecordBehindAndTheRegistriesAreRead() {
        boot();
        int c = persistentContainer(TYPE1v2);
        int id = k.container(c).id();
        k.setCrashPoints(CrashPoints.at("vmid:refcount", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, SET_VMID, 9L));
        assertEquals(SET_VMID, PreservedRecord.read(PreservedRecord.pathIn(dir)).operationUnderWay());
        crashAndBoot();
        assertTrue(k.bootTimes().record().startsWith("behind"), k.bootTimes().record());
        assertEquals(9, k.preservedContainers().get(id).vmid(), "the registries' VMID, as recovery finished it");
        assertNull(onDisk().differenceFrom(ReattachState.of(mount.registries())), "rewritten by the boot");
    }

    @Test
    void aRecordThatDiffersLosesToTheRegistries() {
        boot();
        int c = persistentContainer(TYPE1v2);
        int id = k.container(c).id();
        ReattachState truth = ReattachState.of(mount.registries());
        k.close();
        mount.close();
        ReattachState.Container t = truth.containers().get(0);
        ReattachState forged = new ReattachState(List.of(new ReattachState.Container(t.containerId(), t.iommuType(),
                t.vmid() + 5, t.pasidQuota(), t.flags(), t.domainId(), t.domainVmid(), t.pgtableFile(), t.groups(),
                t.pasids(), t.bindings(), t.pendingFaults(), t.firstFaultSeq(), t.lastFaultSeq())), false);
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 99)) {
            r.write(forged, 99);
        }
        boot();
        assertTrue(k.bootTimes().record().startsWith("differs"), k.bootTimes().record());
        assertEquals(t.vmid(), k.preservedContainers().get(id).vmid());
        assertTrue(k.recoveryReport().toString().contains("preserved record differs"), k.recoveryReport().toString());
    }
}
