package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.BoundPasidEntry;

import static org.junit.jupiter.api.Assertions.*;

/** PASID directory entry and bound-PASID record (the SMMUv3 side's host CD table), as modelled today. */
class DeviceTablePasidCodecTest {
    @Test
    void directoryEntryIndexingIsTheVtdPasidDirectorys() {
        // VT-d 9.4/9.5: directory index = PASID[19:6], table index = PASID[5:0]
        assertEquals(1L << 14, PasidDirectoryEntry.ENTRIES);
        assertEquals(0x1234 >>> 6 << 3, PasidDirectoryEntry.offset(0x1234));
        assertEquals((0x1234 & 63) * 64L, PasidDirectoryEntry.slotOffset(0x1234));
        assertEquals(0x9001L, PasidDirectoryEntry.encode(0x9000));
        assertEquals(0x9000L, PasidDirectoryEntry.leafPa(0x9001L));
        assertNull(PasidDirectoryEntry.check(0));
        assertNull(PasidDirectoryEntry.check(0x9001L));
        assertTrue(PasidDirectoryEntry.check(0x9000L).contains("not present but not zero"));
        assertTrue(PasidDirectoryEntry.check(0x9003L).contains("reserved"));
        // same bits as the SMMUv3 L1 CD descriptor: CTXDESC_L1_DESC_V bit 0, L2PTR GENMASK_ULL(51, 12)
        assertEquals(0x000F_FFFF_FFFF_F000L, PasidDirectoryEntry.LEAF);
    }

    @Test
    void boundRecordGoldenWords() {
        // P | GPASID_VAL (bit 1) | addr_width 48 (0x30 << 8) | format 1 (1 << 16)
        BoundPasidEntry e = new BoundPasidEntry(5, true, 48, 1, 0x1234_5000L, 9, 0x2, 0x11, 0x22);
        assertEquals(0x0001_3003L, e.word0());
        assertEquals(0x1234_5000L, e.word(1));
        assertEquals(9L, e.word(2));
        assertEquals(0x2L, e.word(3));
        assertEquals(0x0000_0022_0000_0011L, e.word(4));
        long[] w = new long[BoundPasidRecord.WORDS];
        for (int i = 0; i < w.length; i++) {
            w[i] = e.word(i);
        }
        assertEquals(e, BoundPasidEntry.decode(5, w));
        assertNull(BoundPasidRecord.check(5, w));
        w[6] = 1;
        assertTrue(BoundPasidRecord.reservedSet(w));
        w[6] = 0;
        w[0] |= 1L << 24;
        assertNotNull(BoundPasidRecord.check(5, w));
        w[0] = e.word0();
        assertNotNull(BoundPasidRecord.check(0, w)); // PASID 0 never bound
        w[0] = 0;
        assertNull(BoundPasidEntry.decode(5, w));
    }

    @Test
    void boundRecordIsNotAPasidTableEntryNorAContextDescriptor() {
        long w0 = new BoundPasidEntry(5, true, 48, 1, 0x1234_5000L, 9, 0, 0, 0).word0();
        // read as a VT-d scalable-mode PASID-table entry, PGTT (bits 8:6) would be 0: reserved (issue 12)
        assertEquals(0, (w0 >>> 6) & 7);
        // read as an SMMUv3 CD, V (CTXDESC_CD_0_V, bit 31) is 0 (issue 12)
        assertEquals(0, (w0 >>> 31) & 1);
    }
}
