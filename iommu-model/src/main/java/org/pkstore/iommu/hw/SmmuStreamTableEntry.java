package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * SMMUv3 Stream Table Entry (Arm SMMUv3 specification, section 5.2 "Stream Table Entry"), 64 bytes
 * = 8 little-endian words, as far as pkstore models it. Constants mirror Linux's {@code STRTAB_STE_*}
 * in drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h (names in the comments).
 *
 * <pre>
 *  word 0
 *   63      59 58    52 51                                        6 5    4 3      1   0
 *  +----------+--------+-------------------------------------------+------+--------+---+
 *  | S1CDMax  |  res0  |  S1ContextPtr                             |S1Fmt | Config | V |
 *  +----------+--------+-------------------------------------------+------+--------+---+
 *  word 1
 *   63   46 45  44 43   32 31 30 29 28 27 26     20 19  18      8 7    6 5    4 3    2 1     0
 *  +-------+------+-------+-----+-----+--+---------+---+---------+------+------+------+-------+
 *  |  ...  |SHCFG |  ...  |STRW |EATS |S1|   ...   |MEV|   ...   |S1CSH |S1COR |S1CIR | S1DSS |
 *  |       |      |       |     |     |STALLD      |   |         |      |      |      |       |
 *  +-------+------+-------+-----+-----+--+---------+---+---------+------+------+------+-------+
 *   stage 2 only: 0. Nested: S1DSS 01 (bypass) | S1CIR 01 | S1COR 01 (WBRA) | S1CSH 11 (inner) | MEV
 *  word 2
 *   63  59 58  57 ... 52  51  50  48 47 46 45 44 43 42 41 40 39 38 37   32 31    16 15     0
 *  +------+---+---------+------+-----+-----+-----+-----+-----+-----+-------+--------+--------+
 *  | res0 |S2R| S2S.. |S2AA64| S2PS| S2TG|S2SH0|S2OR0|S2IR0|S2SL0|S2T0SZ |  res0  | S2VMID |
 *  +------+---+---------+------+-----+-----+-----+-----+-----+-----+-------+--------+--------+
 *  word 3
 *   63      52 51                                                      4 3      0
 *  +----------+---------------------------------------------------------+--------+
 *  |   res0   |  S2TTB: stage-2 translation table base                  |  res0  |
 *  +----------+---------------------------------------------------------+--------+
 *  words 4..7: 0 (not used by this model)
 * </pre>
 *
 * Modelled values: Config 0b110 (stage 2 only, Linux {@code STRTAB_STE_0_CFG_S2_TRANS}) or 0b111
 * (nested: stage 1 then stage 2); word 2 = S2VMID | S2T0SZ 16 (48-bit IPA) | S2SL0 2 (start at level
 * 0 for a 4 KiB granule) | S2IR0/S2OR0/S2SH0 0 | S2TG 0 (4 KiB) | S2PS 5 (48-bit) | S2AA64 | S2R,
 * as Linux {@code arm_smmu_make_s2_domain_ste} fills {@code STRTAB_STE_2_VTCR} from the io-pgtable
 * VTCR. V, Config and S1 fields share word 0; the VMID is alone in word 2 and the stage-2 root alone
 * in word 3, so each of them changes with one store.
 *
 * <p>A nested STE is what Linux's {@code arm_smmu_make_nested_cd_table_ste}
 * (arm-smmu-v3-iommufd.c) builds over {@code arm_smmu_make_s2_domain_ste}: Config 0b111,
 * S1ContextPtr = the IPA of the guest's linear CD table (S1Fmt 00) in guest memory, S1CDMax = log2
 * of its CDs, word 1 = S1DSS bypass (untagged DMA skips stage 1 and still translates through stage
 * 2, as {@code arm_smmu_attach_dev_identity} asks for a RID in an identity domain while PASIDs are
 * in use) with the CD-fetch attributes {@code arm_smmu_make_cdtable_ste} uses on a coherent SMMU
 * (S1CIR/S1COR WBRA, S1CSH inner shareable), plus MEV as the nested STE sets it.
 */
public final class SmmuStreamTableEntry {
    public static final int BYTES = 64;
    public static final int WORDS = 8;

    // word 0
    public static final long W0_V = 1L;                               // STRTAB_STE_0_V
    public static final long W0_CONFIG = genmask(3, 1);               // STRTAB_STE_0_CFG
    public static final int CONFIG_ABORT = 0;                         // STRTAB_STE_0_CFG_ABORT
    public static final int CONFIG_BYPASS = 4;                        // STRTAB_STE_0_CFG_BYPASS
    public static final int CONFIG_S1_TRANS = 5;                      // STRTAB_STE_0_CFG_S1_TRANS
    public static final int CONFIG_S2_TRANS = 6;                      // STRTAB_STE_0_CFG_S2_TRANS
    public static final int CONFIG_NESTED = 7;                        // 0b111: stage 1 and stage 2
    public static final long W0_S1FMT = genmask(5, 4);                // STRTAB_STE_0_S1FMT
    public static final int S1FMT_LINEAR = 0;                         // STRTAB_STE_0_S1FMT_LINEAR
    public static final int S1FMT_4K_L2 = 1;                          // 2-level, 4 KiB L2 tables (64 CDs)
    public static final long W0_S1CTXPTR = genmask(51, 6);            // STRTAB_STE_0_S1CTXPTR_MASK
    public static final long W0_S1CDMAX = genmask(63, 59);            // STRTAB_STE_0_S1CDMAX
    public static final long W0_RESERVED = genmask(58, 52);

    // word 1
    public static final long W1_S1DSS = genmask(1, 0);                // STRTAB_STE_1_S1DSS
    public static final int S1DSS_TERMINATE = 0;                      // STRTAB_STE_1_S1DSS_TERMINATE
    public static final int S1DSS_BYPASS = 1;                         // STRTAB_STE_1_S1DSS_BYPASS
    public static final int S1DSS_SSID0 = 2;                          // STRTAB_STE_1_S1DSS_SSID0
    public static final long W1_S1CIR = genmask(3, 2);                // STRTAB_STE_1_S1CIR
    public static final long W1_S1COR = genmask(5, 4);                // STRTAB_STE_1_S1COR
    public static final long W1_S1CSH = genmask(7, 6);                // STRTAB_STE_1_S1CSH
    public static final int S1C_CACHE_WBRA = 1;                       // STRTAB_STE_1_S1C_CACHE_WBRA
    public static final int SH_INNER = 3;                             // ARM_SMMU_SH_ISH
    public static final long W1_MEV = 1L << 19;                       // STRTAB_STE_1_MEV
    public static final long W1_S1STALLD = 1L << 27;                  // STRTAB_STE_1_S1STALLD
    public static final long W1_EATS = genmask(29, 28);               // STRTAB_STE_1_EATS
    public static final long W1_STRW = genmask(31, 30);               // STRTAB_STE_1_STRW
    public static final long W1_SHCFG = genmask(45, 44);              // STRTAB_STE_1_SHCFG
    /** Word 1 of a nested STE: S1DSS bypass, CD fetches WBRA inner shareable, MEV. */
    public static final long W1_NESTED = Bits.prep(W1_S1DSS, S1DSS_BYPASS) | Bits.prep(W1_S1CIR, S1C_CACHE_WBRA)
            | Bits.prep(W1_S1COR, S1C_CACHE_WBRA) | Bits.prep(W1_S1CSH, SH_INNER) | W1_MEV;
    /** Largest S1CDMax the modelled unit takes: its SSID width (IDR1.SSIDSIZE = 20, docs/UAPI.md BIND rows). */
    public static final int MAX_S1CDMAX = 20;

    // word 2
    public static final long W2_S2VMID = genmask(15, 0);              // STRTAB_STE_2_S2VMID
    public static final long W2_VTCR = genmask(50, 32);               // STRTAB_STE_2_VTCR
    public static final long W2_S2T0SZ = genmask(37, 32);             // STRTAB_STE_2_VTCR_S2T0SZ
    public static final long W2_S2SL0 = genmask(39, 38);              // STRTAB_STE_2_VTCR_S2SL0
    public static final long W2_S2IR0 = genmask(41, 40);              // STRTAB_STE_2_VTCR_S2IR0
    public static final long W2_S2OR0 = genmask(43, 42);              // STRTAB_STE_2_VTCR_S2OR0
    public static final long W2_S2SH0 = genmask(45, 44);              // STRTAB_STE_2_VTCR_S2SH0
    public static final long W2_S2TG = genmask(47, 46);               // STRTAB_STE_2_VTCR_S2TG
    public static final long W2_S2PS = genmask(50, 48);               // STRTAB_STE_2_VTCR_S2PS
    public static final long W2_S2AA64 = 1L << 51;                    // STRTAB_STE_2_S2AA64
    public static final long W2_S2ENDI = 1L << 52;                    // STRTAB_STE_2_S2ENDI
    public static final long W2_S2PTW = 1L << 54;                     // STRTAB_STE_2_S2PTW
    public static final long W2_S2S = 1L << 57;                       // STRTAB_STE_2_S2S
    public static final long W2_S2R = 1L << 58;                       // STRTAB_STE_2_S2R
    public static final long W2_RESERVED = genmask(31, 16) | genmask(63, 59);
    public static final int S2T0SZ_48 = 16;
    public static final int S2SL0_LEVEL0_4K = 2;
    public static final int S2TG_4K = 0;
    public static final int S2PS_48 = 5;

    // word 3
    public static final long W3_S2TTB = genmask(51, 4);               // STRTAB_STE_3_S2TTB_MASK
    public static final long W3_RESERVED = ~W3_S2TTB;

    /** Word 2 without the VMID: the stage-2 configuration every modelled STE carries. */
    public static final long W2_MODEL_CONFIG = Bits.prep(W2_S2T0SZ, S2T0SZ_48) | Bits.prep(W2_S2SL0, S2SL0_LEVEL0_4K)
            | Bits.prep(W2_S2TG, S2TG_4K) | Bits.prep(W2_S2PS, S2PS_48) | W2_S2AA64 | W2_S2R;

    private SmmuStreamTableEntry() {}

    public static long offset(int sid) { return (long) sid * BYTES; }

    /**
     * Word 0: Config nested (0b111) with {@code s1Bits} (S1Fmt | S1ContextPtr | S1CDMax, {@link #s1Fields})
     * when {@code nested}, else stage 2 only (0b110) with no S1 fields. The CD table may sit at IPA 0,
     * so nesting is said by Config, never by a non-zero pointer.
     */
    public static long encodeWord0(long s1Bits, boolean nested, boolean valid) {
        return (valid ? W0_V : 0) | Bits.prep(W0_CONFIG, nested ? CONFIG_NESTED : CONFIG_S2_TRANS)
                | (nested ? s1Bits & (W0_S1FMT | W0_S1CTXPTR | W0_S1CDMAX) : 0);
    }

    /** Word 1 of an STE of configuration {@code nested} (0 for stage 2 only). */
    public static long encodeWord1(boolean nested) {
        return nested ? W1_NESTED : 0;
    }

    /** The S1 fields of word 0 for a CD table at {@code contextPtr} of format {@code s1fmt} and {@code cdMax} SSID bits. */
    public static long s1Fields(long contextPtr, int s1fmt, int cdMax) {
        return (contextPtr & W0_S1CTXPTR) | Bits.prep(W0_S1FMT, s1fmt) | Bits.prep(W0_S1CDMAX, cdMax);
    }

    public static long encodeWord2(int vmid) { return (vmid & W2_S2VMID) | W2_MODEL_CONFIG; }
    public static long encodeWord3(long s2Root) { return s2Root & W3_S2TTB; }

    public static boolean valid(long w0) { return (w0 & W0_V) != 0; }
    public static int config(long w0) { return (int) Bits.get(W0_CONFIG, w0); }
    public static int s1Fmt(long w0) { return (int) Bits.get(W0_S1FMT, w0); }
    public static long s1ContextPtr(long w0) { return w0 & W0_S1CTXPTR; }
    public static int s1CdMax(long w0) { return (int) Bits.get(W0_S1CDMAX, w0); }
    public static long s1Bits(long w0) { return w0 & (W0_S1FMT | W0_S1CTXPTR | W0_S1CDMAX); }
    public static int s1Dss(long w1) { return (int) Bits.get(W1_S1DSS, w1); }
    public static int vmid(long w2) { return (int) (w2 & W2_S2VMID); }
    public static long stage2Root(long w3) { return w3 & W3_S2TTB; }
    public static boolean hasStage2(int config) { return config == CONFIG_S2_TRANS || config == CONFIG_NESTED; }

    public static boolean nested(long w0) { return config(w0) == CONFIG_NESTED; }
    public static int s1Cir(long w1) { return (int) Bits.get(W1_S1CIR, w1); }
    public static int s1Cor(long w1) { return (int) Bits.get(W1_S1COR, w1); }
    public static int s1Csh(long w1) { return (int) Bits.get(W1_S1CSH, w1); }

    /** Bytes of the linear CD table a nested STE names: 2^S1CDMax CDs of 64 bytes. */
    public static long cdTableBytes(long w0) { return (1L << s1CdMax(w0)) * SmmuContextDescriptor.BYTES; }

    /**
     * Null when a valid nested STE is one the hardware walks as this model does: a linear CD table
     * (S1Fmt 00), S1CDMax within the SSID width, and S1DSS not terminate (with S1CDMax &gt; 0 and
     * S1DSS terminate, every DMA without a PASID aborts); else the first problem.
     */
    public static String checkNested(long w0, long w1) {
        if (!valid(w0) || !nested(w0)) {
            return null;
        }
        if (s1Fmt(w0) != S1FMT_LINEAR) {
            return "S1Fmt " + s1Fmt(w0) + ": the guest CD table must be linear (S1Fmt 00)";
        }
        if (s1CdMax(w0) > MAX_S1CDMAX) {
            return "S1CDMax " + s1CdMax(w0) + " exceeds the unit's " + MAX_S1CDMAX + " SSID bits";
        }
        if (s1CdMax(w0) > 0 && s1Dss(w1) == S1DSS_TERMINATE) {
            return "S1DSS 00 (terminate) with substreams (S1CDMax " + s1CdMax(w0) + "): every DMA without a PASID aborts";
        }
        if (s1Dss(w1) == 3) {
            return "S1DSS 11 is reserved";
        }
        if (w1 != W1_NESTED) {
            return "word 1 " + Bits.hex(w1) + ", expected " + Bits.hex(W1_NESTED)
                    + " (S1DSS bypass, S1CIR/S1COR WBRA, S1CSH inner, MEV)";
        }
        return null;
    }

    public static long reservedWord0(long w0) { return w0 & W0_RESERVED; }
    public static long reservedWord2(long w2) { return w2 & W2_RESERVED; }
    public static long reservedWord3(long w3) { return w3 & W3_RESERVED; }

    /** Problem with Config of a valid STE (a Config without stage 2); null if none. */
    public static String checkConfig(long w0) {
        int config = config(w0);
        if (valid(w0) && !hasStage2(config)) {
            return "Config 0b" + Integer.toBinaryString(config) + " has no stage 2 (this model writes 0b110 or 0b111)";
        }
        if (reservedWord0(w0) != 0) {
            return "word 0 reserved bits " + Bits.hex(reservedWord0(w0)) + " set";
        }
        return null;
    }

    /** Problem with word 2 of a valid STE: not the modelled stage-2 configuration; null if none. */
    public static String checkWord2(long w2) {
        long want = encodeWord2(vmid(w2));
        if (w2 != want) {
            return "stage-2 configuration word " + Bits.hex(w2) + ", expected " + Bits.hex(want)
                    + " (T0SZ 16, SL0 2, 4K granule, 48-bit PS, AA64, S2R)";
        }
        return null;
    }

    /** Problem with word 3 of a valid STE: reserved bits or a root that is not page aligned; null if none. */
    public static String checkWord3(long w3) {
        if (reservedWord3(w3) != 0 || (w3 & 0xFFF) != 0) {
            return "S2TTB " + Bits.hex(w3) + " is not a page-aligned 48-bit address";
        }
        return null;
    }

    /** Null when a valid STE is one this model writes (words 0..3; word 1 is 0 without stage 1); else the first problem. */
    public static String check(long w0, long w1, long w2, long w3) {
        if (!valid(w0)) {
            return null;
        }
        String p = checkConfig(w0);
        if (p == null && nested(w0)) {
            p = checkNested(w0, w1);
        } else if (p == null) {
            p = w1 != 0 ? "word 1 " + Bits.hex(w1) + " is not 0 (stage 2 only: no stage-1 attributes)" : null;
        }
        if (p == null) {
            p = checkWord2(w2);
        }
        return p != null ? p : checkWord3(w3);
    }

    public static String describe(long w0, long w1, long w2, long w3) {
        return String.format("V=%d Config=0b%s S1Fmt=%d S1ContextPtr=0x%x S1CDMax=%d S1DSS=%d S1CIR=%d S1COR=%d S1CSH=%d"
                        + " S2VMID=%d S2TTB=0x%x",
                w0 & W0_V, Integer.toBinaryString(config(w0)), s1Fmt(w0), s1ContextPtr(w0), s1CdMax(w0), s1Dss(w1),
                s1Cir(w1), s1Cor(w1), s1Csh(w1), vmid(w2), stage2Root(w3));
    }
}
