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
        assertEquals(0xDL, SmmuStreamTableEntry.encodeWord0(0, false, true));
        assertEquals(0xCL, SmmuStreamTableEntry.encodeWord0(0, false, false));
        assertEquals(0xDL, SmmuStreamTableEntry.encodeWord0(0x8000_0040L, false, true), "no S1 fields without nesting");
        assertEquals(0L, SmmuStreamTableEntry.encodeWord1(false));
        // S2VMID 5 | S2T0SZ 16 (0x10 << 32) | S2SL0 2 (2 << 38) | S2TG 0 | S2PS 5 (5 << 48) | S2AA64 (1 << 51) | S2R (1 << 58)
        assertEquals(0x040D_0090_0000_0005L, SmmuStreamTableEntry.encodeWord2(5));
        assertEquals(0x0000_0001_2345_6000L, SmmuStreamTableEntry.encodeWord3(0x1_2345_6000L));
    }

    @Test
    void nestedGoldenWords() {
        // guest linear CD table at IPA 0x8000_0040, S1CDMax 5: V 1 | Config 0b111 << 1 (0xE) | 0x8000_0040 | 5 << 59
        long s1 = SmmuStreamTableEntry.s1Fields(0x8000_0040L, SmmuStreamTableEntry.S1FMT_LINEAR, 5);
        long w0 = SmmuStreamTableEntry.encodeWord0(s1, true, true);
        assertEquals(0x2800_0000_8000_004FL, w0);
        assertEquals(SmmuStreamTableEntry.CONFIG_NESTED, SmmuStreamTableEntry.config(w0));
        assertTrue(SmmuStreamTableEntry.nested(w0));
        assertEquals(0x8000_0040L, SmmuStreamTableEntry.s1ContextPtr(w0));
        assertEquals(5, SmmuStreamTableEntry.s1CdMax(w0));
        assertEquals(32 * 64L, SmmuStreamTableEntry.cdTableBytes(w0));
        // a CD table at IPA 0 is still nested: Config says it, not the pointer
        assertEquals(0x0800_0000_0000_000FL, SmmuStreamTableEntry.encodeWord0(
                SmmuStreamTableEntry.s1Fields(0, SmmuStreamTableEntry.S1FMT_LINEAR, 1), true, true));
        // word 1: S1DSS 01 (bypass) | S1CIR 01 << 2 | S1COR 01 << 4 | S1CSH 11 << 6 | MEV 1 << 19
        long w1 = SmmuStreamTableEntry.encodeWord1(true);
        assertEquals(0x8_00D5L, w1);
        assertEquals(SmmuStreamTableEntry.S1DSS_BYPASS, SmmuStreamTableEntry.s1Dss(w1));
        assertEquals(1, SmmuStreamTableEntry.s1Cir(w1));
        assertEquals(1, SmmuStreamTableEntry.s1Cor(w1));
        assertEquals(3, SmmuStreamTableEntry.s1Csh(w1));
        long w2 = SmmuStreamTableEntry.encodeWord2(5);
        assertNull(SmmuStreamTableEntry.check(w0, w1, w2, 0x5000L));
        assertEquals("V=1 Config=0b111 S1Fmt=0 S1ContextPtr=0x80000040 S1CDMax=5 S1DSS=1 S1CIR=1 S1COR=1 S1CSH=3"
                + " S2VMID=5 S2TTB=0x5000", SmmuStreamTableEntry.describe(w0, w1, w2, 0x5000L));
    }

    @Test
    void nestedProblemsReported() {
        long w0 = SmmuStreamTableEntry.encodeWord0(
                SmmuStreamTableEntry.s1Fields(0x4000L, SmmuStreamTableEntry.S1FMT_LINEAR, 2), true, true);
        long w1 = SmmuStreamTableEntry.W1_NESTED;
        assertNull(SmmuStreamTableEntry.checkNested(w0, w1));
        // the finding: S1DSS terminate with substreams aborts every DMA without a PASID
        assertTrue(SmmuStreamTableEntry.checkNested(w0, w1 & ~SmmuStreamTableEntry.W1_S1DSS).contains("terminate"));
        assertNull(SmmuStreamTableEntry.checkNested(w0 & ~SmmuStreamTableEntry.W0_S1CDMAX, SmmuStreamTableEntry.W1_NESTED));
        assertTrue(SmmuStreamTableEntry.checkNested(w0 | 0x10, w1).contains("S1Fmt"));            // 2-level
        assertTrue(SmmuStreamTableEntry.checkNested(w0 | 21L << 59, w1).contains("S1CDMax"));      // 21 > 20 bits
        assertTrue(SmmuStreamTableEntry.checkNested(w0, w1 | 3).contains("reserved"));            // S1DSS 11
        assertNotNull(SmmuStreamTableEntry.check(w0, 0, SmmuStreamTableEntry.encodeWord2(1), 0x5000L));
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
        // STRTAB_STE_1_S1CIR, _S1COR, _S1CSH, _MEV, _EATS, _STRW, _SHCFG
        assertEquals(0xCL, SmmuStreamTableEntry.W1_S1CIR);
        assertEquals(0x30L, SmmuStreamTableEntry.W1_S1COR);
        assertEquals(0xC0L, SmmuStreamTableEntry.W1_S1CSH);
        assertEquals(0x8_0000L, SmmuStreamTableEntry.W1_MEV);
        assertEquals(0x3000_0000L, SmmuStreamTableEntry.W1_EATS);
        assertEquals(0xC000_0000L, SmmuStreamTableEntry.W1_STRW);
        assertEquals(0x3000_0000_0000L, SmmuStreamTableEntry.W1_SHCFG);
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
        assertEquals("V=1 Config=0b110 S1Fmt=0 S1ContextPtr=0x0 S1CDMax=0 S1DSS=0 S1CIR=0 S1COR=0 S1CSH=0 S2VMID=5 S2TTB=0x123456000",
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
        assertNotNull(SmmuStreamTableEntry.check(w0, 1, w2, w3));                    // stage 2 only: word 1 must be 0
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
