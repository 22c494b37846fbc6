package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.VtdTableReader;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A bound PASID is read from the hardware's own words only: a VT-d nested (PGTT 011b) scalable-mode
 * PASID-table entry (VT-d 9.6). Nothing else in a PASID table is a binding.
 */
class BoundPasidDecodeTest {
    private static long[] entry(long w0, long w1, long w2) {
        long[] pe = new long[VtdPasidEntry.WORDS];
        pe[0] = w0;
        pe[1] = w1;
        pe[2] = w2;
        return pe;
    }

    @Test
    void nestedEntryDecodesToItsFirstLevelBinding() {
        // FLPTR 0x12345000, FLPM 01 (5-level), SRE, EAFE; SLPTPTR 0xABC000, AW 48, DID 7
        long[] pe = entry(VtdPasidEntry.nestedW0(0xABC000L, VtdPasidEntry.AW_48), VtdPasidEntry.encodeW1(7),
                VtdPasidEntry.nestedW2(0x1234_5000L, 1, true, true));
        assertEquals(0x0000_0000_1234_5085L, pe[2], "FLPTR | EAFE (bit 135) | FLPM 01 | SRE");
        BoundPasidEntry b = VtdTableReader.bindingOf(9, pe);
        // addr_width from FLPM, format IOMMU_PASID_FORMAT_INTEL_VTD (1), flags SRE | EAFE; no gpasid/pat/emt in hardware
        assertEquals(new BoundPasidEntry(9, false, 57, 1, 0x1234_5000L, 0, 0x3, 0, 0), b);
    }

    @Test
    void entriesThatAreNoBindingDecodeToNull() {
        long w1 = VtdPasidEntry.encodeW1(7);
        long w2 = VtdPasidEntry.nestedW2(0x1234_5000L, 0, false, false);
        assertNull(VtdTableReader.bindingOf(9, entry(0, 0, 0)), "not present");
        assertNull(VtdTableReader.bindingOf(9, entry(VtdPasidEntry.secondLevelW0(0xABC000L, VtdPasidEntry.AW_48), w1, 0)),
                "PGTT 010b: second level only, no guest stage");
        long nested = VtdPasidEntry.nestedW0(0xABC000L, VtdPasidEntry.AW_48);
        assertNull(VtdTableReader.bindingOf(9, entry(nested | 1L << 63, w1, w2)), "reserved bit 63 set");
        assertNotNull(VtdTableReader.bindingOf(9, entry(nested, w1, w2)));
    }
}
