package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;

import static org.junit.jupiter.api.Assertions.*;

/**
 * READ_FAULTS under SIGKILL (docs/UAPI.md, READ_FAULTS): records are copied into the caller's
 * buffer first and consumed last, so a kill before the consume delivers them again after the boot
 * and a read that returned is not delivered twice.
 */
class FaultDeliveryCrashTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");

    int readFaults(int c, int max) {
        byte[] r = new byte[16 + 64 * max];
        le(r).putInt(0, r.length).putInt(8, max);
        assertEquals(0, k.ioctl(c, READ_FAULTS, r));
        return le(r).getInt(8);
    }

    int vmWithFaults(int n) {
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        for (int i = 0; i < n; i++) {
            assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x900000 + i * 0x1000L, Prot.READ).ok());
        }
        return c;
    }

    int reclaim() {
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, TYPE1v2));
        return c;
    }

    @Test
    void aKillBetweenTheCopyOutAndTheConsumeLosesNothing() {
        boot();
        int c = vmWithFaults(3);
        k.setCrashPoints(CrashPoints.at("faults:copied", 1));
        byte[] r = new byte[16 + 64 * 2];
        le(r).putInt(0, r.length).putInt(8, 2);
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, READ_FAULTS, r));
        crashAndBoot();
        int c2 = reclaim();
        assertEquals(3, readFaults(c2, 8), "nothing was consumed: all three are delivered after the boot");
    }

    @Test
    void aReturnedReadIsConsumedAndTheRestSurvivesAKill() {
        boot();
        int c = vmWithFaults(3);
        assertEquals(2, readFaults(c, 2));
        crashAndBoot();
        int c2 = reclaim();
        assertEquals(1, readFaults(c2, 8), "the two the caller received are gone, the third is still there");
    }
}
