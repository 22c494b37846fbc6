package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * SMMUv3 Context Descriptor (Arm IHI0070, section 5.4 "Context Descriptor"), 64 bytes = 8
 * little-endian words, the AArch64 stage-1 configuration of one substream. In a nested STE the
 * guest owns its CD table (in guest memory, at the IPA in STE.S1ContextPtr) and writes the CDs;
 * the host never writes one. Constants mirror Linux's {@code CTXDESC_CD_*} in
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h; {@link #encode} is what Linux's
 * {@code arm_smmu_make_s1_cd} (arm-smmu-v3.c) builds from an io-pgtable-arm stage-1 configuration.
 *
 * <pre>
 *  word 0
 *   63     48 47  46 45 44 43 42 41  40 39 38 37 36 35 34  32 31 30  29..16    15  14  13 12 11 10 9  8 7  6 5     0
 *  +---------+----+--+--+--+--+--+----+-----+--+--+--+------+--+----+---------+----+----+-----+-----+-----+----+-------+
 *  |  ASID   |ASET|A |R |S |HA|HD|AA64|PAN  |TBI  |..|..| IPS  |V |EPD1| TTB1 cfg|ENDI|EPD0| SH0 | OR0 | IR0 |TG0 | T0SZ  |
 *  +---------+----+--+--+--+--+--+----+-----+--+--+--+------+--+----+---------+----+----+-----+-----+-----+----+-------+
 *           (40 PAN, 39:38 TBI, 37 UWXN, 36 WXN, 35 AFFD; 29:16 = SH1, OR1, IR1, TG1, T1SZ)
 *  word 1   63:60 HWU0 | 59:52 res0 | 51:4 TTB0 (IPA of the level-0 table) | 3 res0 | 2 E0PD0 | 1 HAD0 | 0 NSCFG0
 *  word 2   the same for TTB1 (EPD1 = 1: not walked)
 *  word 3   MAIR0 (31:0) | MAIR1 (63:32): Linux stores io-pgtable's 64-bit MAIR here
 *  word 4   AMAIR0 | AMAIR1 (IMPLEMENTATION DEFINED)      words 5..7: PARTID/PMG and res0, written 0
 * </pre>
 *
 * The model walks only what {@link org.pkstore.iommu.Stage1Format#ARM_LPAE_S1_4K} describes: AA64,
 * TG0 4 KiB, T0SZ 16 (48-bit input, 4 levels), EPD0 0. A CD the hardware would refuse
 * (C_BAD_CD) or this model cannot walk is reported by {@link #check}.
 */
public final class SmmuContextDescriptor {
    public static final int BYTES = 64;
    public static final int WORDS = 8;

    // word 0
    public static final long W0_T0SZ = genmask(5, 0);                 // CTXDESC_CD_0_TCR_T0SZ
    public static final long W0_TG0 = genmask(7, 6);                  // CTXDESC_CD_0_TCR_TG0
    public static final long W0_IR0 = genmask(9, 8);                  // CTXDESC_CD_0_TCR_IRGN0
    public static final long W0_OR0 = genmask(11, 10);                // CTXDESC_CD_0_TCR_ORGN0
    public static final long W0_SH0 = genmask(13, 12);                // CTXDESC_CD_0_TCR_SH0
    public static final long W0_EPD0 = 1L << 14;                      // CTXDESC_CD_0_TCR_EPD0
    public static final long W0_ENDI = 1L << 15;                      // CTXDESC_CD_0_ENDI
    public static final long W0_EPD1 = 1L << 30;                      // CTXDESC_CD_0_TCR_EPD1
    public static final long W0_V = 1L << 31;                         // CTXDESC_CD_0_V
    public static final long W0_IPS = genmask(34, 32);                // CTXDESC_CD_0_TCR_IPS
    public static final long W0_TBI0 = 1L << 38;                      // CTXDESC_CD_0_TCR_TBI0
    public static final long W0_AA64 = 1L << 41;                      // CTXDESC_CD_0_AA64
    public static final long W0_HD = 1L << 42;                        // CTXDESC_CD_0_TCR_HD
    public static final long W0_HA = 1L << 43;                        // CTXDESC_CD_0_TCR_HA
    public static final long W0_S = 1L << 44;                         // CTXDESC_CD_0_S (stall)
    public static final long W0_R = 1L << 45;                         // CTXDESC_CD_0_R (record faults)
    public static final long W0_A = 1L << 46;                         // CTXDESC_CD_0_A (abort, not stall)
    public static final long W0_ASET = 1L << 47;                      // CTXDESC_CD_0_ASET
    public static final long W0_ASID = genmask(63, 48);               // CTXDESC_CD_0_ASID

    // word 1
    public static final long W1_TTB0 = genmask(51, 4);                // CTXDESC_CD_1_TTB0_MASK
    public static final long W1_RES0 = genmask(59, 52) | (1L << 3);

    /** TG0 encodings (section 5.4: 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB). */
    public static final int TG0_4K = 0;                               // ARM_LPAE_TCR_TG0_4K
    /** IR0/OR0 Normal Write-Back Read-Allocate Write-Allocate. */
    public static final int RGN_WBWA = 1;                             // ARM_LPAE_TCR_RGN_WBWA
    public static final int SH_INNER = 3;                             // ARM_LPAE_TCR_SH_IS
    /** IPS 0b101: 48-bit output (the stage-2 input size, T0SZ 16 in the STE). */
    public static final int IPS_48 = 5;                               // ARM_LPAE_TCR_PS_48_BIT
    public static final int T0SZ_48 = 16;
    /** Smallest and largest T0SZ of a 4 KiB-granule AArch64 table (48 down to 25 input bits). */
    public static final int T0SZ_MIN_4K = 16;
    public static final int T0SZ_MAX_4K = 39;
    /**
     * MAIR as io-pgtable-arm's {@code arm_64_lpae_alloc_pgtable_s1} fills it: attr 0 NC 0x44, attr 1
     * WBRWA 0xff, attr 2 DEVICE 0x04, attr 3 INC_OWBRWA 0xf4 ({@code ARM_LPAE_MAIR_ATTR_*}).
     */
    public static final long MAIR_LINUX_S1 = 0x44L | 0xffL << 8 | 0x04L << 16 | 0xf4L << 24;

    private SmmuContextDescriptor() {}

    /** Byte offset of the CD of {@code ssid} in a linear CD table. */
    public static long offset(int ssid) { return (long) ssid * BYTES; }

    /**
     * The 8 words of a valid AArch64 4 KiB-granule CD for a stage-1 table at IPA {@code ttb0Ipa}:
     * V, T0SZ {@code t0sz}, TG0 4K, IR0/OR0 WBWA, SH0 inner shareable, EPD1 (no TTB1 walks), IPS
     * 48-bit, AA64, R, A, ASET, ASID {@code asid}, TTB0, MAIR as io-pgtable-arm fills it; as
     * Linux's {@code arm_smmu_make_s1_cd} writes it for a little-endian, non-stalling master.
     */
    public static long[] encode(long ttb0Ipa, int asid, int t0sz) {
        long[] w = new long[WORDS];
        w[0] = Bits.prep(W0_T0SZ, t0sz) | Bits.prep(W0_TG0, TG0_4K) | Bits.prep(W0_IR0, RGN_WBWA)
                | Bits.prep(W0_OR0, RGN_WBWA) | Bits.prep(W0_SH0, SH_INNER) | W0_EPD1 | W0_V
                | Bits.prep(W0_IPS, IPS_48) | W0_AA64 | W0_R | W0_A | W0_ASET | Bits.prep(W0_ASID, asid & 0xFFFF);
        w[1] = ttb0Ipa & W1_TTB0;
        w[3] = MAIR_LINUX_S1;
        return w;
    }

    public static boolean valid(long w0) { return (w0 & W0_V) != 0; }
    public static int t0sz(long w0) { return (int) Bits.get(W0_T0SZ, w0); }
    public static int tg0(long w0) { return (int) Bits.get(W0_TG0, w0); }
    public static int ir0(long w0) { return (int) Bits.get(W0_IR0, w0); }
    public static int or0(long w0) { return (int) Bits.get(W0_OR0, w0); }
    public static int sh0(long w0) { return (int) Bits.get(W0_SH0, w0); }
    public static int ips(long w0) { return (int) Bits.get(W0_IPS, w0); }
    public static boolean aa64(long w0) { return (w0 & W0_AA64) != 0; }
    public static boolean epd0(long w0) { return (w0 & W0_EPD0) != 0; }
    public static boolean epd1(long w0) { return (w0 & W0_EPD1) != 0; }
    public static int asid(long w0) { return (int) Bits.get(W0_ASID, w0); }
    public static long ttb0(long w1) { return w1 & W1_TTB0; }
    public static long mair(long w3) { return w3; }

    /**
     * Null when the CD is one the hardware accepts and the model can walk as a 48-bit 4 KiB AArch64
     * stage 1; else the first problem (a CD with V = 0 is "not valid": the SSID is not in use).
     */
    public static String check(long[] w) {
        return check(w[0], w[1]);
    }

    /** {@link #check(long[])} on words 0 and 1, the only ones that steer a 4 KiB TTB0 walk (no allocation). */
    public static String check(long w0, long w1) {
        if (!valid(w0)) {
            return "CD V = 0 (substream not configured)";
        }
        if (!aa64(w0)) {
            return "CD AA64 = 0 (AArch32 LPAE stage 1 is not modelled)";
        }
        if ((w1 & W1_RES0) != 0) {
            return "CD word 1 reserved bits " + Bits.hex(w1 & W1_RES0) + " set";
        }
        if (epd0(w0)) {
            return "CD EPD0 = 1 (TTB0 walks disabled: every access faults)";
        }
        if (tg0(w0) != TG0_4K) {
            return "CD TG0 " + tg0(w0) + " is not the 4 KiB granule";
        }
        int t0sz = t0sz(w0);
        if (t0sz < T0SZ_MIN_4K || t0sz > T0SZ_MAX_4K) {
            return "CD T0SZ " + t0sz + " outside 16..39 for a 4 KiB granule (C_BAD_CD)";
        }
        if (t0sz != T0SZ_48) {
            return "CD T0SZ " + t0sz + ": the model walks only 48-bit (T0SZ 16) stage-1 tables";
        }
        if ((ttb0(w1) & 0xFFF) != 0) {
            return "CD TTB0 " + Bits.hex(ttb0(w1)) + " is not aligned to its 4 KiB level-0 table";
        }
        return null;
    }

    public static String describe(long[] w) {
        return String.format("V=%d AA64=%d T0SZ=%d TG0=%d IR0=%d OR0=%d SH0=%d EPD0=%d EPD1=%d IPS=%d ASID=%d TTB0=0x%x MAIR=0x%x",
                valid(w[0]) ? 1 : 0, aa64(w[0]) ? 1 : 0, t0sz(w[0]), tg0(w[0]), ir0(w[0]), or0(w[0]), sh0(w[0]),
                epd0(w[0]) ? 1 : 0, epd1(w[0]) ? 1 : 0, ips(w[0]), asid(w[0]), ttb0(w[1]), mair(w[3]));
    }
}
