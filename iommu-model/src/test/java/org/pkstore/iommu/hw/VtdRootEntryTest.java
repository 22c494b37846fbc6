package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Golden encodings of the VT-d root entry, worked out from VT-d spec 9.1 (bit 0 P, bits 63:12 CTP). */
class VtdRootEntryTest {
    @Test
    void contextTablePointerAndPresentBit() {
        // CTP 0x1_2345_6000 in bits 63:12, P in bit 0
        assertEquals(0x0000_0001_2345_6001L, VtdRootEntry.encodeLo(0x1_2345_6000L));
        assertTrue(VtdRootEntry.present(0x0000_0001_2345_6001L));
        assertEquals(0x1_2345_6000L, VtdRootEntry.contextTablePa(0x0000_0001_2345_6001L));
        assertFalse(VtdRootEntry.present(0));
        // Linux root_entry_lctp(): re->lo & VTD_PAGE_MASK, i.e. the bits above 11
        assertEquals(0x0000_0001_2345_6001L & ~0xFFFL, VtdRootEntry.contextTablePa(0x0000_0001_2345_6001L));
    }

    @Test
    void entryOffsetIsSixteenBytesPerBus() {
        assertEquals(0, VtdRootEntry.offset(0));
        assertEquals(0x10, VtdRootEntry.offset(1));
        assertEquals(0xFF0, VtdRootEntry.offset(0xFF));
    }

    @Test
    void legacyModeReservesTheWholeUpperWord() {
        // VT-d 9.1: bits 127:64 reserved; any set bit is a reserved-field fault
        assertEquals(0x7001L, VtdRootEntry.reservedHi(0x7001L));
        assertEquals(0, VtdRootEntry.reservedHi(0));
        assertTrue(VtdRootEntry.check(VtdRootEntry.encodeLo(0x5000), 0x7001L).contains("hi: reserved"));
        assertNull(VtdRootEntry.check(VtdRootEntry.encodeLo(0x5000), 0));
    }

    @Test
    void reservedBitsReported() {
        assertEquals(0x2L, VtdRootEntry.reservedLo(0x5003L));                 // bit 1
        assertEquals(1L << 52, VtdRootEntry.reservedLo((1L << 52) | 0x5001)); // above the 52-bit address
        assertNotNull(VtdRootEntry.check(0x5003L, 0));
        assertNotNull(VtdRootEntry.check(0, 0x7FF1L));
        assertTrue(VtdRootEntry.check(0x5000L, 0).contains("not present but not zero"));
        assertNull(VtdRootEntry.check(0, 0));
    }
}
