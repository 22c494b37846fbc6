package org.pkstore.vfio;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pkstore.vfio.uapi.VfioIoctl;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** What {@link IoctlTable}'s dispatcher does for every row (docs/UAPI.md, section 4 and "Container model behaviour"). */
class IoctlTableTest extends KernelTestBase {
    @BeforeEach
    void start() {
        boot();
    }

    @Test
    void everyModelledIoctlIsDeclaredOnceOnItsFd() {
        IoctlTable table = new IoctlTable(k);
        List<VfioIoctl> declared = new ArrayList<>(table.declared(VfioIoctl.FdType.CONTAINER));
        declared.addAll(table.declared(VfioIoctl.FdType.GROUP));
        declared.sort(null);
        assertEquals(Arrays.asList(VfioIoctl.values()), declared);
    }

    @Test
    void unknownNumbersAndDriverlessContainers() {
        int c = k.openContainer();
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 4096)), "no driver: known number");
        assertEquals(EINVAL, k.ioctl(c, 0x3B99, new byte[8]), "no driver: unknown number");
        assertEquals(0L, k.ioctl(c, GET_API_VERSION, 0L), "the core answers without a driver");
        int g = k.openGroup(1);
        assertEquals(ENOTTY, k.ioctl(g, 0x3B99, new byte[8]));
        assertEquals(ENOTTY, k.ioctl(g, MAP_DMA, dmaMap(GUEST_VA, 0, 4096)), "a container ioctl on a group");
        int d = containerWith(TYPE1v2, 2);
        assertEquals(ENOTTY, k.ioctl(d, 0x3B99, new byte[8]), "type1's default");
        assertEquals(ENOTTY, k.ioctl(d, GROUP_GET_STATUS, new byte[8]), "a group ioctl on a container");
    }

    @Test
    void pointerArgumentsAreCheckedBeforeAnyHandlerRuns() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, 0x1000L), "a value for a pointer");
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, (byte[]) null));
        assertEquals(EFAULT, k.ioctl(c, MAP_DMA, new byte[VfioIommuType1DmaMap.SIZE - 1]), "short buffer");
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(VfioIommuType1DmaMap.SIZE - 1, 3, GUEST_VA, 0, 4096)), "argsz");
        for (int bit = 0; bit < 32; bit++) {
            int flag = 1 << bit;
            int expected = (flag & (VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE)) != 0
                    ? 0 : EINVAL; // VADDR is not offered, LIVE_UPDATE needs persistent tables
            assertEquals(expected, k.ioctl(c, MAP_DMA, dmaMap(32, flag, GUEST_VA + bit * 4096L, bit * 4096L, 4096)),
                    "flag bit " + bit);
        }
    }

    @Test
    void resultsAreCopiedOutOnlyOnSuccess() {
        int c = containerWith(TYPE1v2, 1);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x10000, 0x4000)));
        byte[] bisect = dmaUnmap(VfioIommuType1DmaUnmap.SIZE, 0, 0x11000, 0x1000);
        byte[] before = bisect.clone();
        assertEquals(EINVAL, k.ioctl(c, UNMAP_DMA, bisect));
        assertArrayEquals(before, bisect, "a failed ioctl writes nothing back");
        byte[] whole = dmaUnmap(VfioIommuType1DmaUnmap.SIZE, 0, 0x10000, 0x8000);
        assertEquals(0, k.ioctl(c, UNMAP_DMA, whole));
        assertEquals(0x4000, le(whole).getLong(VfioIommuType1DmaUnmap.OFFSET_SIZE), "size out = bytes unmapped");
        byte[] vmid = new byte[4];
        assertEquals(0, k.ioctl(c, GET_VMID, vmid));
        assertEquals(vmidOf(c), le(vmid).getInt(0) & 0xFFFF_FFFFL, "an out-only argument is copied out");
    }
}
