package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Golden STE encodings from the SMMUv3 specification's STE field table (5.2): word 0 V[0],
 * Config[3:1], S1Fmt[5:4], S1ContextPtr[51:6], S1CDMax[63:59]; word 1 S1DSS[1:0]; word 2
 * S2VMID[15:0], S2T0SZ[37:32], S2SL0[39:38], S2TG[47:46], S2PS[50:48], S2AA64[51], S2R[58];
 * word 3 S2TTB[51:4]. Masks cross-checked with Linux's STRTAB_STE_* (arm-smmu-v3.h).
 */
class SmmuStreamTableEntryTest {
    @Test
    void stageTwoOnlyGoldenWords() {
        // V 1 | Config 0b110 << 1 = 0xC
        assertEquals(0xDL, SmmuStreamTableEntry.encodeWord0(0, true));
        assertEquals(0xCL, SmmuStreamTableEntry.encodeWord0(0, false));
        // S2VMID 5 | S2T0SZ 16 (0x10 << 32) | S2SL0 2 (2 << 38) | S2TG 0 | S2PS 5 (5 << 48) | S2AA64 (1 << 51) | S2R (1 << 58)
        assertEquals(0x040D_0090_0000_0005L, SmmuStreamTableEntry.encodeWord2(5));
        assertEquals(0x0000_0001_2345_6000L, SmmuStreamTableEntry.encodeWord3(0x1_2345_6000L));
    }

    @Test
    void nestedGoldenWords() {
        // guest linear CD table at 0x8000_0040, S1CDMax 5: 0xF | 0x8000_0040 | 5 << 59
        long s1 = SmmuStreamTableEntry.s1Fields(0x8000_0040L, SmmuStreamTableEntry.S1FMT_LINEAR, 5);
        assertEquals(0x2800_0000_8000_004FL, SmmuStreamTableEntry.encodeWord0(s1, true));
        // host 2-level CD table at 0x20_0000, S1Fmt 01, S1CDMax 20 (0b10100 << 59 = 0xA000..)
        long host = SmmuStreamTableEntry.s1Fields(0x20_0000L, SmmuStreamTableEntry.S1FMT_4K_L2, 20);
        long w0 = SmmuStreamTableEntry.encodeWord0(host, true);
        assertEquals(0xA000_0000_0020_001FL, w0);
        assertEquals(SmmuStreamTableEntry.CONFIG_NESTED, SmmuStreamTableEntry.config(w0));
        assertEquals(0x20_0000L, SmmuStreamTableEntry.hostCdTable(w0));
        assertEquals(0, SmmuStreamTableEntry.guestCdTable(w0));
        assertEquals(20, SmmuStreamTableEntry.s1CdMax(w0));
        assertEquals(0x8000_0040L, SmmuStreamTableEntry.guestCdTable(0x2800_0000_8000_004FL));
    }

    @Test
    void masksMatchLinuxStrtabSte() {
        // GENMASK_ULL values of STRTAB_STE_0_CFG, _S1FMT, _S1CTXPTR_MASK, _S1CDMAX, STRTAB_STE_2_VTCR, STRTAB_STE_3_S2TTB_MASK
        assertEquals(0xEL, SmmuStreamTableEntry.W0_CONFIG);
        assertEquals(0x30L, SmmuStreamTableEntry.W0_S1FMT);
        assertEquals(0x000F_FFFF_FFFF_FFC0L, SmmuStreamTableEntry.W0_S1CTXPTR);
        assertEquals(0xF800_0000_0000_0000L, SmmuStreamTableEntry.W0_S1CDMAX);
        assertEquals(0x0007_FFFF_0000_0000L, SmmuStreamTableEntry.W2_VTCR);
        assertEquals(0x000F_FFFF_FFFF_FFF0L, SmmuStreamTableEntry.W3_S2TTB);
        assertEquals(3L, SmmuStreamTableEntry.W1_S1DSS);
    }

    @Test
    void decodeAndDescribe() {
        long w0 = 0xDL;
        long w2 = 0x040D_0090_0000_0005L;
        long w3 = 0x1_2345_6000L;
        assertTrue(SmmuStreamTableEntry.valid(w0));
        assertEquals(SmmuStreamTableEntry.CONFIG_S2_TRANS, SmmuStreamTableEntry.config(w0));
        assertEquals(5, SmmuStreamTableEntry.vmid(w2));
        assertEquals(0x1_2345_6000L, SmmuStreamTableEntry.stage2Root(w3));
        assertEquals(SmmuStreamTableEntry.S1DSS_TERMINATE, SmmuStreamTableEntry.s1Dss(0));
        assertNull(SmmuStreamTableEntry.check(w0, 0, w2, w3));
        assertEquals("V=1 Config=0b110 S1Fmt=0 S1ContextPtr=0x0 S1CDMax=0 S1DSS=0 S2VMID=5 S2TTB=0x123456000",
                SmmuStreamTableEntry.describe(w0, 0, w2, w3));
    }

    @Test
    void reservedBitsAndUnmodelledValuesReported() {
        long w0 = 0xDL;
        long w2 = SmmuStreamTableEntry.encodeWord2(1);
        long w3 = 0x5000L;
        assertEquals(1L << 52, SmmuStreamTableEntry.reservedWord0(w0 | (1L << 52)));
        assertNotNull(SmmuStreamTableEntry.check(w0 | (1L << 52), 0, w2, w3));
        assertNotNull(SmmuStreamTableEntry.checkConfig(0x9L));                      // Config 0b100: bypass, no stage 2
        assertEquals(1L << 16, SmmuStreamTableEntry.reservedWord2(w2 | (1L << 16)));
        assertNotNull(SmmuStreamTableEntry.checkWord2(w2 | (1L << 16)));
        assertNotNull(SmmuStreamTableEntry.checkWord2(w2 & ~SmmuStreamTableEntry.W2_S2R));
        assertEquals(0x8L, SmmuStreamTableEntry.reservedWord3(w3 | 0x8));
        assertNotNull(SmmuStreamTableEntry.checkWord3(w3 | 0x8));
        assertNotNull(SmmuStreamTableEntry.checkWord3(0x5040L));                     // not page aligned
        assertNotNull(SmmuStreamTableEntry.check(w0, 1, w2, w3));                    // S1DSS bypass: not written here
        assertNull(SmmuStreamTableEntry.check(0, 0, 0, 0));                          // invalid STEs are not checked
    }

    @Test
    void streamTableBaseRegisters() {
        // STRTAB_BASE: ADDR[51:6] | RA[62]; STRTAB_BASE_CFG: LOG2SIZE[5:0], FMT[17:16] = 0 linear
        assertEquals(0x4000_0000_0000_3000L, SmmuStreamTableBase.encodeBase(0x3000));
        assertEquals(0x3000L, SmmuStreamTableBase.streamTablePa(0x4000_0000_0000_3000L));
        assertEquals(6L, SmmuStreamTableBase.encodeCfg(6));
        assertEquals(6, SmmuStreamTableBase.log2Size(6));
        assertEquals(0x3_0000L, SmmuStreamTableBase.CFG_FMT);
        assertEquals(0x7C0L, SmmuStreamTableBase.CFG_SPLIT);
        assertNotEquals(0, 0x1_0006L & SmmuStreamTableBase.CFG_NOT_LOG2SIZE); // FMT 2-level: refused by readers
    }
}
