package org.pkstore.iommu.hw;

import static org.pkstore.iommu.hw.Bits.genmask;

/**
 * The VT-d Root Table Address register, RTADDR_REG (VT-d specification 11.4.5; Linux
 * {@code DMAR_RTADDR_REG} 0x20 and {@code DMA_RTADDR_SMT} in drivers/iommu/intel/iommu.h, written by
 * {@code iommu_set_root_entry()} in drivers/iommu/intel/iommu.c), kept at offset 0x20 of the register
 * page that is the .hw file's root: it says where the root table is and which mode (legacy or
 * scalable) the root and context entries are read in.
 *
 * <pre>
 *   63      52 51                                   12 11  10 9            0
 *  +----------+---------------------------------------+------+--------------+
 *  | reserved |   RTA: root table address (PA)        | TTM  |   reserved   |
 *  +----------+---------------------------------------+------+--------------+
 * </pre>
 *
 * TTM 00 legacy mode, 01 scalable mode ({@code DMA_RTADDR_SMT}), 10 reserved, 11 abort-DMA mode.
 * The RTA field is 51:12 because the model's host address width is at most 52 bits.
 */
public final class VtdRootTableAddress {
    /** Byte offset of RTADDR_REG in the register page (Linux DMAR_RTADDR_REG). */
    public static final int REGISTER_OFFSET = 0x20;

    public static final long RTA = genmask(51, 12);
    public static final long TTM = genmask(11, 10);
    public static final long RESERVED = ~(RTA | TTM);
    public static final int TTM_LEGACY = 0;
    public static final int TTM_SCALABLE = 1;
    public static final int TTM_ABORT_DMA = 3;

    private VtdRootTableAddress() {}

    public static long encode(long rootTablePa, boolean scalable) {
        return (rootTablePa & RTA) | Bits.prep(TTM, scalable ? TTM_SCALABLE : TTM_LEGACY);
    }

    public static long rootTablePa(long reg) { return reg & RTA; }
    public static int translationTableMode(long reg) { return (int) Bits.get(TTM, reg); }
    public static boolean scalable(long reg) { return translationTableMode(reg) == TTM_SCALABLE; }
    public static long reserved(long reg) { return reg & RESERVED; }

    /** Null when the register names a root table in a mode this model reads (legacy or scalable); else why. */
    public static String check(long reg) {
        if (reserved(reg) != 0) {
            return "RTADDR_REG: reserved bits " + Bits.hex(reserved(reg)) + " set (raw " + Bits.hex(reg) + ")";
        }
        int ttm = translationTableMode(reg);
        if (ttm != TTM_LEGACY && ttm != TTM_SCALABLE) {
            return "RTADDR_REG: translation table mode " + ttm + (ttm == TTM_ABORT_DMA ? " (abort-DMA)" : " (reserved)")
                    + " (raw " + Bits.hex(reg) + ")";
        }
        return rootTablePa(reg) == 0 ? "RTADDR_REG: no root table (raw " + Bits.hex(reg) + ")" : null;
    }

    public static String describe(long reg) {
        int ttm = translationTableMode(reg);
        return String.format("root table 0x%x, TTM %d (%s)", rootTablePa(reg), ttm,
                ttm == TTM_LEGACY ? "legacy" : ttm == TTM_SCALABLE ? "scalable" : ttm == TTM_ABORT_DMA ? "abort-DMA" : "reserved");
    }
}
