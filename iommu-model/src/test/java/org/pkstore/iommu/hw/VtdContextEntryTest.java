package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Golden encodings of the VT-d legacy context entry, from VT-d spec 9.3: lo bit 0 P, bit 1 FPD,
 * bits 3:2 TT, 63:12 SLPTPTR; hi bits 2:0 AW, 6:3 ignored, 23:8 DID.
 */
class VtdContextEntryTest {
    @Test
    void goldenEncoding() {
        // SLPTPTR 0xAB_CDEF_0000, TT 00, FPD 0, P 1
        assertEquals(0x0000_00AB_CDEF_0001L, VtdContextEntry.encodeLo(0xAB_CDEF_0000L));
        // DID 0x1234 in bits 23:8 = 0x12_3400, AW 010 = 2
        assertEquals(0x0000_0000_0012_3402L, VtdContextEntry.encodeHi(0x1234));
        // DID 0xFFFF is the widest; more bits never leak into the reserved field
        assertEquals(0x00FF_FF02L, VtdContextEntry.encodeHi(0x1FFFF));
    }

    @Test
    void sameWordsAsLinuxContextHelpers() {
        // drivers/iommu/intel/iommu.h, in the order domain_context_mapping_one() applies them
        long root = 0x3_0000_5000L;
        int did = 7;
        long lo = 0;
        long hi = 0;
        hi |= ((long) did & ((1 << 16) - 1)) << 8;        // context_set_domain_id
        lo |= root & ~0xFFFL;                             // context_set_address_root (VTD_PAGE_MASK)
        hi |= 2 & 7;                                      // context_set_address_width(agaw 2)
        lo &= ((-1L) << 4) | 3;                           // context_set_translation_type(MULTI_LEVEL)
        lo &= ((-1L) << 2) | 1;                           // context_set_fault_enable
        lo |= 1;                                          // context_set_present
        assertEquals(lo, VtdContextEntry.encodeLo(root));
        assertEquals(hi, VtdContextEntry.encodeHi(did));
        assertEquals((hi >> 8) & 0xffff, VtdContextEntry.did(hi)); // context_domain_id
    }

    @Test
    void decode() {
        long lo = 0x0000_00AB_CDEF_0001L | VtdContextEntry.LO_FPD | (2L << 2);
        assertTrue(VtdContextEntry.present(lo));
        assertTrue(VtdContextEntry.faultProcessingDisabled(lo));
        assertEquals(VtdContextEntry.TT_PASS_THROUGH, VtdContextEntry.translationType(lo));
        assertEquals(0xAB_CDEF_0000L, VtdContextEntry.stage2Root(lo));
        assertEquals(2, VtdContextEntry.addressWidth(0x12_3402L));
        assertEquals(0x1234, VtdContextEntry.did(0x12_3402L));
        assertEquals("P=1 FPD=0 TT=0 SLPTPTR=0xabcdef0000 AW=2 DID=4660",
                VtdContextEntry.describe(0xAB_CDEF_0001L, 0x12_3402L));
    }

    @Test
    void reservedBitsAndUnmodelledFieldsReported() {
        long lo = VtdContextEntry.encodeLo(0x5000);
        long hi = VtdContextEntry.encodeHi(3);
        assertNull(VtdContextEntry.check(lo, hi));
        assertEquals(0x10L, VtdContextEntry.reservedLo(lo | 0x10));          // bit 4: reserved
        assertNotNull(VtdContextEntry.checkLo(lo | 0x10));
        assertNotNull(VtdContextEntry.checkLo(lo | (2L << 2)));              // TT 10: not written by this model
        assertEquals(0x80L, VtdContextEntry.reservedHi(hi | 0x80));          // bit 7
        assertEquals(1L << 24, VtdContextEntry.reservedHi(hi | (1L << 24))); // above the DID
        assertNotNull(VtdContextEntry.checkHi(hi | 0x80));
        assertNotNull(VtdContextEntry.checkHi((hi & ~7L) | 1));              // AW 001 (39-bit)
        assertNull(VtdContextEntry.checkHi(hi | 0x8));                       // bits 6:3 are ignored, not reserved
    }
}
