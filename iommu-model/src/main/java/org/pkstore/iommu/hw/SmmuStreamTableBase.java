package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * The SMMUv3 STRTAB_BASE and STRTAB_BASE_CFG registers (Arm SMMUv3 specification 6.3.23/6.3.24;
 * Linux {@code STRTAB_BASE_*}, {@code STRTAB_BASE_CFG_*} in arm-smmu-v3.h), kept as two words at the
 * start of the register page that is the .hw file's root.
 *
 * <pre>
 *  +0 STRTAB_BASE
 *   63  62  61      52 51                                            6 5        0
 *  +---+---+----------+-----------------------------------------------+----------+
 *  | 0 |RA |   res0   |  ADDR: stream table base (PA, 64-byte aligned)|   res0   |
 *  +---+---+----------+-----------------------------------------------+----------+
 *  +8 STRTAB_BASE_CFG
 *   63                    18 17 16 15    11 10     6 5          0
 *  +------------------------+-----+--------+--------+------------+
 *  |          res0          | FMT |  res0  | SPLIT  |  LOG2SIZE  |
 *  +------------------------+-----+--------+--------+------------+
 * </pre>
 *
 * pkstore writes FMT 00 (linear), SPLIT 0, RA 1.
 */
public final class SmmuStreamTableBase {
    public static final long BASE_RA = 1L << 62;                      // STRTAB_BASE_RA
    public static final long BASE_ADDR = genmask(51, 6);              // STRTAB_BASE_ADDR_MASK
    public static final long BASE_RESERVED = ~(BASE_ADDR | BASE_RA);
    public static final long CFG_FMT = genmask(17, 16);               // STRTAB_BASE_CFG_FMT
    public static final int FMT_LINEAR = 0;                           // STRTAB_BASE_CFG_FMT_LINEAR
    public static final long CFG_SPLIT = genmask(10, 6);              // STRTAB_BASE_CFG_SPLIT
    public static final long CFG_LOG2SIZE = genmask(5, 0);            // STRTAB_BASE_CFG_LOG2SIZE
    /** Everything but LOG2SIZE: FMT must be linear and SPLIT is unused in a linear table. */
    public static final long CFG_NOT_LOG2SIZE = ~CFG_LOG2SIZE;
    /** Largest LOG2SIZE a reader follows: a stream id is at most 24 bits here. */
    public static final int MAX_LOG2SIZE = 24;

    private SmmuStreamTableBase() {}

    public static long encodeBase(long strtabPa) { return (strtabPa & BASE_ADDR) | BASE_RA; }
    public static long encodeCfg(int log2Size) { return Bits.prep(CFG_LOG2SIZE, log2Size); }
    public static long streamTablePa(long base) { return base & BASE_ADDR; }
    public static int log2Size(long cfg) { return (int) (cfg & CFG_LOG2SIZE); }

    public static String describe(long base, long cfg) {
        return String.format("stream table 0x%x, LOG2SIZE %d", streamTablePa(base), log2Size(cfg));
    }
}
