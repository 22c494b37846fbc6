package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;

import static org.junit.jupiter.api.Assertions.*;

/**
 * READ_FAULTS under SIGKILL (docs/UAPI.md, READ_FAULTS): what a read returned stays in the mount
 * until the container's next read (or a clean end) acknowledges it, so a kill right after the
 * copy-out redelivers instead of losing; an acknowledged read is not delivered again.
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
    void aKillAfterTheCopyOutRedeliversWhatWasNotAcknowledged() {
        boot();
        int c = vmWithFaults(3);
        assertEquals(2, readFaults(c, 2));
        crashAndBoot();
        int c2 = reclaim();
        assertEquals(3, readFaults(c2, 8), "the unacknowledged two come back with the third");
    }

    @Test
    void theNextReadAcknowledgesThePrevious() {
        boot();
        int c = vmWithFaults(3);
        assertEquals(2, readFaults(c, 2));
        assertEquals(1, readFaults(c, 2));
        crashAndBoot();
        int c2 = reclaim();
        assertEquals(1, readFaults(c2, 8), "only the last read's record is unacknowledged");
    }

    @Test
    void aCleanEndAcknowledges() {
        boot();
        int c = vmWithFaults(3);
        assertEquals(3, readFaults(c, 8));
        kexec();
        int c2 = reclaim();
        assertEquals(0, readFaults(c2, 8));
    }
}
