package org.pkstore.iommu.nested;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.pgtable.Prot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Golden encodings worked out by hand from the bit tables: VT-d spec 3.6 section 9.7 (first-stage
 * paging entries, bits P=0 R/W=1 U/S=2 A=5 D=6 PS=7, address [47:12] under HAW 48) with Linux's
 * first-level attributes; Arm ARM D8.3 stage-1 descriptors (type [1:0], AttrIndx [4:2], AP[2:1]
 * [7:6], SH [9:8], AF 10, nG 11, XN [54:53]) with io-pgtable-arm's ARM_64_LPAE_S1 choices.
 */
class FirstStageEncodingTest {
    private static final int RW = Prot.READ | Prot.WRITE;
    private final VtdFirstLevelFormat vtd = VtdFirstLevelFormat.FOUR_LEVEL;
    private final ArmLpaeS1Format arm = ArmLpaeS1Format.INSTANCE;

    @Test
    void vtdLeafAndTableAsLinuxWritesThem() {
        // P | R/W | U/S | A | D
        assertEquals(0x0000_0000_1234_5067L, vtd.makeLeaf(0x1234_5000L, RW, 3));
        // P | U/S | A: no R/W, no D for a read-only mapping
        assertEquals(0x0000_0000_1234_5025L, vtd.makeLeaf(0x1234_5000L, Prot.READ, 3));
        // 2 MiB PDE: PS (bit 7) on top
        assertEquals(0x0000_0000_4020_00e7L, vtd.makeLeaf(0x4020_0000L, RW, 2));
        // table: P | R/W | U/S | A
        assertEquals(0x0000_0000_0000_8027L, vtd.makeTable(0x8000));
        assertEquals(0x0000_0000_0000_8027L, VtdFirstLevelFormat.FIVE_LEVEL.makeTable(0x8000));
    }

    @Test
    void vtdDecodesPermissionsAndReservedFields() {
        assertEquals(RW, vtd.grants(0x67, 3));
        assertEquals(Prot.READ, vtd.grants(0x25, 3));
        assertEquals(0, vtd.grants(0x23, 3), "supervisor-only: a user request is refused, read or write");
        assertTrue(vtd.isLeaf(0x4020_00e7L, 2));
        assertFalse(vtd.isLeaf(0x8027, 2));
        assertNotNull(vtd.reservedProblem(0x8087L, 0), "PS in a PML4E is reserved");
        assertNotNull(vtd.reservedProblem(0x0001_0000_0000_8027L, 1), "address bit 48 above HAW 48");
        assertNotNull(vtd.reservedProblem(0x4020_20e7L, 2), "2 MiB leaf with address bit 13 set");
        assertNull(vtd.reservedProblem(0x4020_10e7L, 2), "bit 12 of a 2 MiB leaf is PAT, not reserved");
        assertEquals(0x4020_0000L, vtd.outputAddress(0x4020_10e7L, 2));
    }

    @Test
    void vtdGeometryAndCanonicalInput() {
        assertEquals(39, vtd.levelShift(0));
        assertEquals(48, VtdFirstLevelFormat.FIVE_LEVEL.levelShift(0));
        assertEquals(12, VtdFirstLevelFormat.FIVE_LEVEL.levelShift(4));
        assertEquals("PML5E", VtdFirstLevelFormat.FIVE_LEVEL.levelName(0));
        assertEquals("PML4E", vtd.levelName(0));
        assertNull(vtd.inputProblem(0x7fff_ffff_f000L));
        assertNotNull(vtd.inputProblem(0x8000_0000_0000L), "bit 47 set, bits 63:48 clear: non-canonical");
        assertNull(VtdFirstLevelFormat.FIVE_LEVEL.inputProblem(0x8000_0000_0000L));
        assertNotNull(VtdFirstLevelFormat.FIVE_LEVEL.inputProblem(1L << 56));
        assertFalse(vtd.leafAllowed(0));
        assertFalse(VtdFirstLevelFormat.FIVE_LEVEL.leafAllowed(1), "no 512 GiB pages");
        assertTrue(VtdFirstLevelFormat.FIVE_LEVEL.leafAllowed(2));
    }

    @Test
    void armLeafAndTableAsIoPgtableArmWritesThem() {
        // type 11 | AttrIdx 1 << 2 | AP_UNPRIV 1 << 6 | SH_IS 11 << 8 | AF 1 << 10 | nG 1 << 11
        assertEquals(0x0000_0000_1234_5f47L, arm.makeLeaf(0x1234_5000L, RW | Prot.CACHE, 3));
        // + AP_RDONLY 1 << 7
        assertEquals(0x0000_0000_1234_5fc7L, arm.makeLeaf(0x1234_5000L, Prot.READ | Prot.CACHE, 3));
        // non-cacheable: AttrIdx 0, SH_OS 10 << 8; block type 01 at level 2; XN 11 << 53
        assertEquals(0x0060_0000_4020_0e41L, arm.makeLeaf(0x4020_0000L, RW | Prot.NOEXEC, 2));
        // device memory: AttrIdx 2
        assertEquals(0x0000_0000_0000_6e4bL, arm.makeLeaf(0x6000, RW | Prot.MMIO, 3));
        assertEquals(0x0000_0000_0000_8003L, arm.makeTable(0x8000));
    }

    @Test
    void armDecodesPermissionsAccessFlagAndReservedEncodings() {
        assertEquals(RW, arm.grants(0x1234_5f47L, 3));
        assertEquals(Prot.READ, arm.grants(0x1234_5fc7L, 3));
        assertEquals(0, arm.grants(0x1234_5f07L, 3), "AP[1] = 0: privileged only");
        assertEquals(RW, arm.grants(0x8003, 1), "Linux writes no APTable bits");
        assertEquals(Prot.READ, arm.grants(0x8003 | ArmLpaeS1Format.APTABLE_RDONLY, 1));
        assertEquals(0, arm.grants(0x8003 | ArmLpaeS1Format.APTABLE_NO_EL0, 1));
        assertTrue(arm.accessFlagFault(0x1234_5b47L, 3), "AF clear on a page");
        assertFalse(arm.accessFlagFault(0x1234_5f47L, 3));
        assertNotNull(arm.reservedProblem(0x4000_0001L, 0), "level-0 block");
        assertNotNull(arm.reservedProblem(0x1234_5f45L, 3), "type 01 at level 3");
        assertNotNull(arm.reservedProblem(0x4020_1e41L, 2), "2 MiB block with address bit 12");
        assertFalse(arm.isLeaf(0x8003, 2));
        assertTrue(arm.isLeaf(0x8003, 3), "type 11 at level 3 is a page");
        assertNull(arm.inputProblem(0xffff_ffff_f000L));
        assertNotNull(arm.inputProblem(1L << 48));
    }
}
