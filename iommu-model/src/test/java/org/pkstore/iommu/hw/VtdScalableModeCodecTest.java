package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Golden encodings of the VT-d scalable-mode structures, worked out by hand from the bit tables of
 * the VT-d specification (9.2 root entry, 9.4 context entry, 9.5 PASID directory entry, 9.6 PASID
 * entry, 11.4.5 RTADDR_REG) and the helpers of Linux drivers/iommu/intel/pasid.h / iommu.h.
 */
class VtdScalableModeCodecTest {
    @Test
    void rootTableAddressRegister() {
        // RTA 0x12345000 in 63:12, TTM 01 in 11:10 (DMA_RTADDR_SMT = 1 << 10)
        assertEquals(0x1234_5400L, VtdRootTableAddress.encode(0x1234_5000L, true));
        assertEquals(0x1234_5000L, VtdRootTableAddress.encode(0x1234_5000L, false));
        assertTrue(VtdRootTableAddress.scalable(0x1234_5400L));
        assertEquals(0x1234_5000L, VtdRootTableAddress.rootTablePa(0x1234_5400L));
        assertNull(VtdRootTableAddress.check(0x1234_5400L));
        assertTrue(VtdRootTableAddress.check(0x1234_5C00L).contains("abort-DMA"));   // TTM 11
        assertTrue(VtdRootTableAddress.check(0x1234_5800L).contains("reserved"));    // TTM 10
        assertTrue(VtdRootTableAddress.check(0x1234_5401L).contains("reserved bits")); // bit 0
        assertEquals(0x20, VtdRootTableAddress.REGISTER_OFFSET); // DMAR_RTADDR_REG
    }

    @Test
    void scalableRootEntryHalves() {
        // lo: LCTP 0x10003000 | LP; hi: UCTP 0x10004000 | UP
        assertEquals(0x1000_3001L, VtdScalableRootEntry.encode(0x1000_3000L));
        assertEquals(0x1000_4001L, VtdScalableRootEntry.encode(0x1000_4000L));
        assertEquals(0, VtdScalableRootEntry.wordOffset(0x7F));
        assertEquals(8, VtdScalableRootEntry.wordOffset(0x80));
        // iommu_context_addr: devfn >= 0x80 -> root->hi, index (devfn - 0x80) * 2 of 16-byte halves = 32 bytes
        assertEquals(0x10 * 32, VtdScalableRootEntry.contextEntryOffset(0x10));
        assertEquals(0x10 * 32, VtdScalableRootEntry.contextEntryOffset(0x90));
        assertEquals(0xFE0, VtdScalableRootEntry.contextEntryOffset(0xFF));
        assertNull(VtdScalableRootEntry.check(0x1000_3001L, "lo"));
        assertNotNull(VtdScalableRootEntry.check(0x1000_3003L, "lo")); // bit 1 reserved
        assertNotNull(VtdScalableRootEntry.check(0x1000_3000L, "lo")); // not present but not zero
    }

    @Test
    void scalableContextEntry() {
        // PASIDDIRPTR 0x200000 | PDTS 7 (0x7 << 9 = 0xE00) | PASIDE (bit 3) | P
        long w0 = VtdScalableContextEntry.encodeW0(0x20_0000L, VtdScalableContextEntry.PDTS_20_BIT_PASIDS);
        assertEquals(0x0000_0000_0020_0E09L, w0);
        assertEquals(0, VtdScalableContextEntry.encodeW1(0));        // RID_PASID 0 (IOMMU_NO_PASID)
        assertEquals(0x5L, VtdScalableContextEntry.encodeW1(5));     // RID_PASID in 83:64
        assertEquals(1 << 14, VtdScalableContextEntry.directoryEntries(w0)); // get_pasid_dir_size: 2^(7 + 7)
        assertEquals(0x20_0000L, VtdScalableContextEntry.directoryPa(w0));
        assertNull(VtdScalableContextEntry.check(w0, 0, 0, 0));
        // the detached form keeps the directory pointer, P clear
        assertEquals(0x0000_0000_0020_0E08L, VtdScalableContextEntry.withoutPresent(w0));
        assertNull(VtdScalableContextEntry.check(0x20_0E08L, 0, 0, 0));
        assertNotNull(VtdScalableContextEntry.check(w0 | 0x20, 0, 0, 0));      // bit 5 reserved
        assertNotNull(VtdScalableContextEntry.check(w0, 1L << 21, 0, 0));      // w1 bit 85 reserved
        assertNotNull(VtdScalableContextEntry.check(w0, 0, 1, 0));             // w2 reserved
        assertNotNull(VtdScalableContextEntry.check(0x0E09L, 0, 0, 0));        // present, no directory
    }

    @Test
    void pasidDirectoryEntry() {
        assertEquals(0x5001L, VtdPasidDirectoryEntry.encode(0x5000));
        assertEquals(0x1234 >>> 6, VtdPasidDirectoryEntry.index(0x1234));
        assertEquals((0x1234 >>> 6) * 8L, VtdPasidDirectoryEntry.offset(0x1234));
        assertEquals((0x1234 & 63) * 64L, VtdPasidDirectoryEntry.tableOffset(0x1234));
        assertNull(VtdPasidDirectoryEntry.check(0x5001L));
        assertNotNull(VtdPasidDirectoryEntry.check(0x5005L)); // bit 2 reserved
        assertNull(VtdPasidDirectoryEntry.check(0x5003L));    // FPD is a field, not reserved
        assertNotNull(VtdPasidDirectoryEntry.check(0x5000L)); // not present but not zero
    }

    @Test
    void ridPasidSecondLevelOnlyEntry() {
        // intel_pasid_setup_second_level, root 0xAB_CDEF_0000, DID 0x1234:
        // w0 = SLPTPTR | PGTT 010 (0x80) | AW 010 (0x8) | P;  w1 = DID | PWSNP (bit 87 = w1 bit 23)
        long w0 = VtdPasidEntry.secondLevelW0(0xAB_CDEF_0000L, VtdPasidEntry.AW_48);
        long w1 = VtdPasidEntry.encodeW1(0x1234);
        assertEquals(0x0000_00AB_CDEF_0089L, w0);
        assertEquals(0x0000_0000_0080_1234L, w1);
        long[] w = {w0, w1, 0, 0, 0, 0, 0, 0};
        assertNull(VtdPasidEntry.check(w));
        assertEquals(VtdPasidEntry.PGTT_SL_ONLY, VtdPasidEntry.pgtt(w0));
        assertEquals(0xAB_CDEF_0000L, VtdPasidEntry.stage2Root(w0));
        assertEquals(0x1234, VtdPasidEntry.did(w1));
        // a root switch changes SLPTPTR only: P, PGTT, AW kept
        assertEquals(0x0000_0001_0000_0089L, VtdPasidEntry.withStage2Root(w0, 0x1_0000_0000L));
        assertEquals(0x0000_0000_0080_0007L, VtdPasidEntry.withDid(w1, 7));
    }

    @Test
    void nestedEntry() {
        // pasid_pte_config_nestd: FLPTR 0x12345000 (guest GPA), FLPM 00 (4-level), SRE; second level as above
        long w0 = VtdPasidEntry.nestedW0(0xAB_CDEF_0000L, VtdPasidEntry.AW_48);
        assertEquals(0x0000_00AB_CDEF_00C9L, w0);                          // PGTT 011 = 0xC0
        assertEquals(0x0000_0000_1234_5001L, VtdPasidEntry.nestedW2(0x1234_5000L, 0, true, false));
        assertEquals(0x0000_0000_1234_5004L, VtdPasidEntry.nestedW2(0x1234_5000L, 1, false, false)); // FLPM 01
        assertEquals(0x0000_0000_1234_5080L, VtdPasidEntry.nestedW2(0x1234_5000L, 0, false, true));  // EAFE bit 135
        assertEquals(0, VtdPasidEntry.flpmForAddressWidth(48));
        assertEquals(1, VtdPasidEntry.flpmForAddressWidth(57));
        assertEquals(-1, VtdPasidEntry.flpmForAddressWidth(39));
        long[] w = {w0, VtdPasidEntry.encodeW1(0x1234), 0x1234_5001L, 0, 0, 0, 0, 0};
        assertNull(VtdPasidEntry.check(w));
        assertEquals(0x1234_5000L, VtdPasidEntry.firstLevelRoot(w[2]));
    }

    @Test
    void checkNamesTheHardwaresReasons() {
        long w0 = VtdPasidEntry.secondLevelW0(0x5000, VtdPasidEntry.AW_48);
        long w1 = VtdPasidEntry.encodeW1(1);
        assertTrue(VtdPasidEntry.check(new long[] {w0 & ~VtdPasidEntry.W0_PGTT | 1, w1, 0, 0, 0, 0, 0, 0})
                .contains("PGTT 0b (reserved)"));
        assertTrue(VtdPasidEntry.check(new long[] {w0 | 7 << 6, w1, 0, 0, 0, 0, 0, 0}).contains("reserved"));
        assertTrue(VtdPasidEntry.check(new long[] {w0 | 1 << 10, w1, 0, 0, 0, 0, 0, 0}).contains("w0 reserved"));
        assertTrue(VtdPasidEntry.check(new long[] {w0, w1 | 1 << 16, 0, 0, 0, 0, 0, 0}).contains("w1 reserved"));
        assertTrue(VtdPasidEntry.check(new long[] {w0, w1, 0, 0, 0, 1, 0, 0}).contains("word 5"));
        long n0 = VtdPasidEntry.nestedW0(0x5000, VtdPasidEntry.AW_48);
        assertTrue(VtdPasidEntry.check(new long[] {n0, w1, 0x9008L, 0, 0, 0, 0, 0}).contains("FLPM 2"));
        assertTrue(VtdPasidEntry.check(new long[] {w0 & ~VtdPasidEntry.W0_AW | 3 << 2, w1, 0, 0, 0, 0, 0, 0}).contains("AW 3"));
    }
}
