package org.pkstore.iommu.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Golden CD encodings worked from the SMMUv3 specification's CD field table (IHI0070 5.4): word 0
 * T0SZ[5:0], TG0[7:6], IR0[9:8], OR0[11:10], SH0[13:12], EPD0[14], ENDI[15], EPD1[30], V[31],
 * IPS[34:32], AA64[41], R[45], A[46], ASET[47], ASID[63:48]; word 1 TTB0[51:4]; word 3 MAIR0|MAIR1.
 * Masks cross-checked with Linux's CTXDESC_CD_* (arm-smmu-v3.h).
 */
class SmmuContextDescriptorTest {
    @Test
    void encodeGoldenWords() {
        long[] w = SmmuContextDescriptor.encode(0x1234_5000L, 1, 16);
        // low half: T0SZ 0x10 | IR0 1 << 8 | OR0 1 << 10 | SH0 3 << 12 | EPD1 1 << 30 | V 1 << 31 = 0xC000_3510
        // high half: IPS 5 | AA64 1 << 9 | R 1 << 13 | A 1 << 14 | ASET 1 << 15 | ASID 1 << 16 = 0x0001_E205
        assertEquals(0x0001_E205_C000_3510L, w[0]);
        assertEquals(0x1234_5000L, w[1]);
        assertEquals(0L, w[2]);
        // MAIR: attr0 0x44 (NC), attr1 0xff (WBRWA), attr2 0x04 (DEVICE), attr3 0xf4 (INC_OWBRWA)
        assertEquals(0xF404_FF44L, w[3]);
        for (int i = 4; i < 8; i++) {
            assertEquals(0L, w[i]);
        }
        assertEquals(8, w.length);
        // ASID 0xBEEF, T0SZ 25 (39-bit), TTB0 bits below 4 and above 51 dropped
        long[] v = SmmuContextDescriptor.encode(0xFFF0_0000_8000_100FL, 0xBEEF, 25);
        assertEquals(0xBEEF_E205_C000_3519L, v[0]);
        assertEquals(0x0000_0000_8000_1000L, v[1]);
    }

    @Test
    void decodeFields() {
        long[] w = SmmuContextDescriptor.encode(0x7_7000L, 0x42, 16);
        assertTrue(SmmuContextDescriptor.valid(w[0]));
        assertTrue(SmmuContextDescriptor.aa64(w[0]));
        assertEquals(16, SmmuContextDescriptor.t0sz(w[0]));
        assertEquals(SmmuContextDescriptor.TG0_4K, SmmuContextDescriptor.tg0(w[0]));
        assertEquals(1, SmmuContextDescriptor.ir0(w[0]));
        assertEquals(1, SmmuContextDescriptor.or0(w[0]));
        assertEquals(3, SmmuContextDescriptor.sh0(w[0]));
        assertEquals(5, SmmuContextDescriptor.ips(w[0]));
        assertFalse(SmmuContextDescriptor.epd0(w[0]));
        assertTrue(SmmuContextDescriptor.epd1(w[0]));
        assertEquals(0x42, SmmuContextDescriptor.asid(w[0]));
        assertEquals(0x7_7000L, SmmuContextDescriptor.ttb0(w[1]));
        assertNull(SmmuContextDescriptor.check(w));
        assertEquals("V=1 AA64=1 T0SZ=16 TG0=0 IR0=1 OR0=1 SH0=3 EPD0=0 EPD1=1 IPS=5 ASID=66 TTB0=0x77000 MAIR=0xf404ff44",
                SmmuContextDescriptor.describe(w));
    }

    @Test
    void masksMatchLinuxCtxdescCd() {
        assertEquals(0x3FL, SmmuContextDescriptor.W0_T0SZ);
        assertEquals(0xC0L, SmmuContextDescriptor.W0_TG0);
        assertEquals(0x300L, SmmuContextDescriptor.W0_IR0);
        assertEquals(0xC00L, SmmuContextDescriptor.W0_OR0);
        assertEquals(0x3000L, SmmuContextDescriptor.W0_SH0);
        assertEquals(0x8000_0000L, SmmuContextDescriptor.W0_V);
        assertEquals(0x7_0000_0000L, SmmuContextDescriptor.W0_IPS);
        assertEquals(0xFFFF_0000_0000_0000L, SmmuContextDescriptor.W0_ASID);
        assertEquals(0x000F_FFFF_FFFF_FFF0L, SmmuContextDescriptor.W1_TTB0);
    }

    @Test
    void problemsReported() {
        long[] ok = SmmuContextDescriptor.encode(0x5000L, 1, 16);
        long[] w = ok.clone();
        w[0] &= ~SmmuContextDescriptor.W0_V;
        assertTrue(SmmuContextDescriptor.check(w).contains("V = 0"));
        w = ok.clone();
        w[0] &= ~SmmuContextDescriptor.W0_AA64;
        assertTrue(SmmuContextDescriptor.check(w).contains("AA64"));
        w = ok.clone();
        w[1] |= 1L << 55;
        assertTrue(SmmuContextDescriptor.check(w).contains("reserved"));
        w = ok.clone();
        w[0] |= SmmuContextDescriptor.W0_EPD0;
        assertTrue(SmmuContextDescriptor.check(w).contains("EPD0"));
        w = ok.clone();
        w[0] |= 2L << 6;                                      // TG0 16 KiB
        assertTrue(SmmuContextDescriptor.check(w).contains("TG0"));
        assertTrue(SmmuContextDescriptor.check(SmmuContextDescriptor.encode(0x5000L, 1, 12)).contains("16..39"));
        assertTrue(SmmuContextDescriptor.check(SmmuContextDescriptor.encode(0x5000L, 1, 25)).contains("48-bit"));
        assertTrue(SmmuContextDescriptor.check(SmmuContextDescriptor.encode(0x5010L, 1, 16)).contains("aligned"));
    }
}
