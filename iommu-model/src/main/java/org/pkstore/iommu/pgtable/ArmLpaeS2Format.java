package org.pkstore.iommu.pgtable;

/**
 * Arm VMSAv8-64 stage-2 descriptors, 4 KiB granule, 48-bit IPA and PA, as Linux io-pgtable-arm.c
 * builds them for ARM_64_LPAE_S2 (no quirks, no S2FWB).
 *
 * <pre>
 *  Block (levels 1, 2: type 01) and page (level 3: type 11)
 *   63   55 54 53 52 51 48 47                              12 11 10  9  8  7  6  5      2  1  0
 *  +-------+-----+--+-----+----------------------------------+--+--+-----+-----+--------+-----+
 *  |  0    | XN  |0 | 0   |  output address [47:12]          |0 |AF| SH  |S2AP | MemAttr| type|
 *  +-------+-----+--+-----+----------------------------------+--+--+-----+-----+--------+-----+
 *            XN: 11 with IOMMU_NOEXEC (ARM_LPAE_PTE_XN = 3 &lt;&lt; 53)
 *            S2AP: bit 6 read, bit 7 write
 *            SH: 11 inner shareable with IOMMU_CACHE, else 10 outer shareable
 *            MemAttr: 0001 device (IOMMU_MMIO), 1111 outer+inner write-back (IOMMU_CACHE),
 *                     0101 normal non-cacheable otherwise
 *            for a block, address bits below its size ([20:12] or [29:12]) are zero
 *
 *  Table (levels 0..2: type 11)
 *   63                    48 47                              12 11                       2  1  0
 *  +------------------------+----------------------------------+--------------------------+-----+
 *  |  0                     |  next-level table address        |  0                       | 1 1 |
 *  +------------------------+----------------------------------+--------------------------+-----+
 * </pre>
 *
 * Type 01 at level 0 (no 512 GiB blocks with a 4 KiB granule) and at level 3 is reserved. Linux
 * writes SH = outer shareable (10) for non-cacheable leaves (ARM_LPAE_PTE_SH_OS); hardware treats
 * device and non-cacheable memory as outer shareable whatever SH says, and this format writes the
 * same bits as Linux.
 *
 * <p>Golden: a 4 KiB page at PA 0 with READ|WRITE|NOEXEC|CACHE is {@code 0x00600000000007FF}.
 */
public final class ArmLpaeS2Format implements PageTableFormat {
    public static final ArmLpaeS2Format INSTANCE = new ArmLpaeS2Format();

    private ArmLpaeS2Format() {}

    public static final long TYPE_MASK = 0x3L;
    public static final long TYPE_BLOCK = 0x1L;
    public static final long TYPE_TABLE = 0x3L;
    public static final long TYPE_PAGE = 0x3L;
    public static final long VALID = 0x1L;

    public static final long ADDR_MASK = 0x0000_ffff_ffff_f000L;

    public static final int MEMATTR_SHIFT = 2;
    public static final long MEMATTR_MASK = 0xfL << MEMATTR_SHIFT;
    /** Outer and inner write-back cacheable. */
    public static final long MEMATTR_OIWB = 0xfL << MEMATTR_SHIFT;
    /** Normal, non-cacheable. */
    public static final long MEMATTR_NC = 0x5L << MEMATTR_SHIFT;
    /** Device-nGnRE. */
    public static final long MEMATTR_DEV = 0x1L << MEMATTR_SHIFT;

    /** S2AP[0]: read allowed (ARM_LPAE_PTE_HAP_READ). */
    public static final long HAP_READ = 1L << 6;
    /** S2AP[1]: write allowed (ARM_LPAE_PTE_HAP_WRITE). */
    public static final long HAP_WRITE = 2L << 6;

    public static final long SH_MASK = 3L << 8;
    public static final long SH_OS = 2L << 8;
    public static final long SH_IS = 3L << 8;
    /** SH = 01 is reserved. */
    public static final long SH_RESERVED = 1L << 8;

    /** Access flag: always set, so no access-flag fault is taken. */
    public static final long AF = 1L << 10;
    /** Execute-never, both bits as ARM_LPAE_PTE_XN. */
    public static final long XN = 3L << 53;

    private static final long LEAF_BITS = TYPE_MASK | MEMATTR_MASK | HAP_READ | HAP_WRITE | SH_MASK | AF
            | ADDR_MASK | XN;
    private static final long TABLE_BITS = TYPE_MASK | ADDR_MASK;

    @Override public int id() { return FORMAT_ARM_LPAE_S2; }
    @Override public String name() { return "arm-lpae-s2"; }

    @Override
    public boolean isPresent(long desc, int level) {
        return (desc & VALID) != 0;
    }

    @Override
    public boolean isTable(long desc, int level) {
        return level < PageTableGeometry.LEAF_LEVEL && (desc & TYPE_MASK) == TYPE_TABLE;
    }

    @Override
    public boolean isLeaf(long desc, int level) {
        if (level == PageTableGeometry.LEAF_LEVEL) {
            return (desc & TYPE_MASK) == TYPE_PAGE;
        }
        return level > 0 && (desc & TYPE_MASK) == TYPE_BLOCK;
    }

    @Override
    public long outputAddress(long desc, int level) {
        return desc & ADDR_MASK & ~(PageTableGeometry.blockSize(level) - 1);
    }

    @Override
    public long tableAddress(long desc) {
        return desc & ADDR_MASK;
    }

    @Override
    public long makeLeaf(long pa, int prot, int level) {
        long d = (pa & ADDR_MASK) | AF;
        d |= level == PageTableGeometry.LEAF_LEVEL ? TYPE_PAGE : TYPE_BLOCK;
        if ((prot & Prot.READ) != 0) {
            d |= HAP_READ;
        }
        if ((prot & Prot.WRITE) != 0) {
            d |= HAP_WRITE;
        }
        // as arm_lpae_prot_to_pte: MMIO wins over CACHE for the memory type
        if ((prot & Prot.MMIO) != 0) {
            d |= MEMATTR_DEV;
        } else if ((prot & Prot.CACHE) != 0) {
            d |= MEMATTR_OIWB;
        } else {
            d |= MEMATTR_NC;
        }
        d |= (prot & Prot.CACHE) != 0 ? SH_IS : SH_OS;
        if ((prot & Prot.NOEXEC) != 0) {
            d |= XN;
        }
        return d;
    }

    @Override
    public long makeTable(long tablePa) {
        return (tablePa & ADDR_MASK) | TYPE_TABLE;
    }

    @Override
    public int protOf(long desc, int level) {
        int p = 0;
        if ((desc & HAP_READ) != 0) {
            p |= Prot.READ;
        }
        if ((desc & HAP_WRITE) != 0) {
            p |= Prot.WRITE;
        }
        // SH is inner shareable exactly when CACHE was asked for, even with MMIO
        if ((desc & SH_MASK) == SH_IS) {
            p |= Prot.CACHE;
        }
        if ((desc & MEMATTR_MASK) == MEMATTR_DEV) {
            p |= Prot.MMIO;
        }
        if ((desc & XN) != 0) {
            p |= Prot.NOEXEC;
        }
        return p;
    }

    @Override
    public String validate(long desc, int level) {
        if (desc == 0) {
            return null;
        }
        if ((desc & VALID) == 0) {
            return "invalid descriptor (bit 0 clear) with other bits set; this format writes 0";
        }
        long type = desc & TYPE_MASK;
        if (type == TYPE_BLOCK && level == PageTableGeometry.TOP_LEVEL) {
            return "block descriptor at level 0: not allowed with a 4 KiB granule";
        }
        if (type == TYPE_BLOCK && level == PageTableGeometry.LEAF_LEVEL) {
            return "type 01 at level 3 is reserved (pages are type 11)";
        }
        if (type == TYPE_TABLE && level < PageTableGeometry.LEAF_LEVEL) {
            if ((desc & ~TABLE_BITS) != 0) {
                return "table descriptor with attribute or high address bits set (RES0 at stage 2)";
            }
            return null;
        }
        if ((desc & ~LEAF_BITS) != 0) {
            return "leaf with bits outside type, MemAttr, S2AP, SH, AF, address and XN set";
        }
        if ((desc & ADDR_MASK & (PageTableGeometry.blockSize(level) - 1)) != 0) {
            return "block output address not aligned to the block size (RES0 bits set)";
        }
        if ((desc & AF) == 0) {
            return "access flag clear: every access would fault; this format always sets AF";
        }
        if ((desc & (HAP_READ | HAP_WRITE)) == 0) {
            return "S2AP = 00 (no access); this format never maps without READ or WRITE";
        }
        long sh = desc & SH_MASK;
        if (sh == SH_RESERVED) {
            return "SH = 01 is reserved";
        }
        if (sh == 0) {
            return "SH = 00 (non-shareable); this format writes inner or outer shareable";
        }
        long memattr = desc & MEMATTR_MASK;
        if (memattr != MEMATTR_OIWB && memattr != MEMATTR_NC && memattr != MEMATTR_DEV) {
            return "MemAttr other than 1111, 0101 or 0001; this format never writes it";
        }
        if (memattr == MEMATTR_OIWB && sh != SH_IS) {
            return "write-back MemAttr without inner shareable SH; this format never writes it";
        }
        long xn = desc & XN;
        if (xn != 0 && xn != XN) {
            return "only one XN bit set; this format writes both or neither";
        }
        return null;
    }

    @Override
    public String decode(long desc, int level) {
        StringBuilder sb = new StringBuilder(levelName(level)).append(' ');
        if (desc == 0) {
            return sb.append("empty").toString();
        }
        if (!isPresent(desc, level)) {
            return sb.append(String.format("invalid (raw 0x%016x)", desc)).toString();
        }
        if (isTable(desc, level)) {
            sb.append(String.format("table=0x%x", tableAddress(desc)));
        } else {
            sb.append(level == 3 ? "page" : "block").append(level == 1 ? " 1G" : level == 2 ? " 2M" : " 4K")
              .append(String.format(" oa=0x%x", outputAddress(desc, level)));
            sb.append(" S2AP=").append((desc & HAP_READ) != 0 ? 'R' : '-').append((desc & HAP_WRITE) != 0 ? 'W' : '-');
            long memattr = desc & MEMATTR_MASK;
            sb.append(" MemAttr=").append(memattr == MEMATTR_OIWB ? "OIWB" : memattr == MEMATTR_NC ? "NC"
                    : memattr == MEMATTR_DEV ? "DEV" : Long.toBinaryString(memattr >>> MEMATTR_SHIFT));
            long sh = desc & SH_MASK;
            sb.append(" SH=").append(sh == SH_IS ? "IS" : sh == SH_OS ? "OS" : sh == 0 ? "NS" : "01");
            if ((desc & AF) != 0) {
                sb.append(" AF");
            }
            if ((desc & XN) != 0) {
                sb.append(" XN");
            }
        }
        String bad = validate(desc, level);
        if (bad != null) {
            sb.append(" INVALID: ").append(bad);
        }
        return sb.toString();
    }

    @Override
    public String levelName(int level) {
        return "L" + level;
    }

    @Override
    public String toString() {
        return name();
    }
}
