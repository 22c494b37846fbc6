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
 *  word 1   1:0 S1DSS, 3:2 S1CIR, 5:4 S1COR, 7:6 S1CSH, 27 S1STALLD, 29:28 EATS, 31:30 STRW,
 *           45:44 SHCFG, ...: pkstore writes 0 (S1DSS 00 = terminate)
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
 * <b>Known departures (issue 12):</b> a nested STE (Config 0b111) keeps S1DSS = 0 (terminate) with
 * substreams, so real hardware aborts DMA without a PASID; its S1ContextPtr holds a host physical
 * address although with stage 2 enabled it is an IPA; host-built CD tables (S1Fmt 01) hold
 * {@link BoundPasidRecord}s, not context descriptors.
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
    public static final int S1DSS_TERMINATE = 0;
    public static final int S1DSS_BYPASS = 1;
    public static final int S1DSS_SSID0 = 2;

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
     * Word 0: {@code s1Bits} are the S1Fmt | S1ContextPtr | S1CDMax fields ({@link #s1Bits}); Config is
     * nested when a context pointer is set, else stage 2 only.
     */
    public static long encodeWord0(long s1Bits, boolean valid) {
        int config = (s1Bits & W0_S1CTXPTR) != 0 ? CONFIG_NESTED : CONFIG_S2_TRANS;
        return (valid ? W0_V : 0) | Bits.prep(W0_CONFIG, config) | (s1Bits & (W0_S1FMT | W0_S1CTXPTR | W0_S1CDMAX));
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

    /** A host 2-level CD table of bound PASIDs (S1Fmt 01): its L1 table, else 0. */
    public static long hostCdTable(long w0) {
        return s1ContextPtr(w0) != 0 && s1Fmt(w0) == S1FMT_4K_L2 ? s1ContextPtr(w0) : 0;
    }

    /** A guest-owned linear CD table (S1Fmt 00): its base, else 0. */
    public static long guestCdTable(long w0) {
        return s1ContextPtr(w0) != 0 && s1Fmt(w0) == S1FMT_LINEAR ? s1ContextPtr(w0) : 0;
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

    /** Null when a valid STE is one this model writes (words 0..3; word 1 must be 0); else the first problem. */
    public static String check(long w0, long w1, long w2, long w3) {
        if (!valid(w0)) {
            return null;
        }
        String p = checkConfig(w0);
        if (p == null) {
            p = w1 != 0 ? "word 1 " + Bits.hex(w1) + " is not 0 (this model writes no stage-1 attributes)" : null;
        }
        if (p == null) {
            p = checkWord2(w2);
        }
        return p != null ? p : checkWord3(w3);
    }

    public static String describe(long w0, long w1, long w2, long w3) {
        return String.format("V=%d Config=0b%s S1Fmt=%d S1ContextPtr=0x%x S1CDMax=%d S1DSS=%d S2VMID=%d S2TTB=0x%x",
                w0 & W0_V, Integer.toBinaryString(config(w0)), s1Fmt(w0), s1ContextPtr(w0), s1CdMax(w0), s1Dss(w1),
                vmid(w2), stage2Root(w3));
    }
}
