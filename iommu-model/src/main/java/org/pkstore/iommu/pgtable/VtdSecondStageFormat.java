package org.pkstore.iommu.pgtable;

/**
 * Intel VT-d second-stage (second-level) paging entries, 4-level, as drivers/iommu/intel builds them.
 *
 * <pre>
 *  Leaf (4 KiB PTE at level 3, or 2 MiB PDE / 1 GiB PDPTE with PS at levels 2 / 1)
 *   63       52 51          48 47                                12 11  10  9   8   7  6   2  1   0
 *  +-----------+--------------+----------------------------------+---+---+---+---+---+-----+---+---+
 *  |  ignored  | rsvd (HAW 48)|   output address [47:12]         |SNP|ign| D | A |PS | 0   | W | R |
 *  +-----------+--------------+----------------------------------+---+---+---+---+---+-----+---+---+
 *    for a 2 MiB / 1 GiB leaf, address bits [20:12] / [29:12] are reserved (zero)
 *
 *  Table (levels 0..2, PS = 0): next-table address | W | R  (Linux sets both R and W)
 *   63       52 51          48 47                                12 11           8   7  6   2  1   0
 *  +-----------+--------------+----------------------------------+-------------+---+---+-----+---+---+
 *  |  ignored  | rsvd         |   next-level table address       |  0      | A | 0 | 0 |  0  | W | R |
 *  +-----------+--------------+----------------------------------+-------------+---+---+-----+---+---+
 * </pre>
 *
 * An entry is present iff R or W is set (dma_pte_present). PS at level 0 is reserved (no 512 GiB
 * pages). A and D are written by hardware when second-stage A/D tracking is on, never by this
 * format, so {@link #validate} accepts A on any entry and D on leaves.
 *
 * <p>{@link Prot#CACHE} sets SNP: Linux intel-iommu sets DMA_PTE_SNP for IOMMU_CACHE when the unit
 * supports snoop control, which this model assumes. {@link Prot#NOEXEC} and {@link Prot#MMIO} have
 * no second-stage encoding in Linux (X is left 0, memory type is not used) and are dropped, so
 * {@link #protOf} never returns them.
 */
public final class VtdSecondStageFormat implements PageTableFormat {
    public static final VtdSecondStageFormat INSTANCE = new VtdSecondStageFormat();

    private VtdSecondStageFormat() {}

    /** DMA_PTE_READ. */
    public static final long R = 1L << 0;
    /** DMA_PTE_WRITE. */
    public static final long W = 1L << 1;
    /** Execute (only with SLEE); never written here. */
    public static final long X = 1L << 2;
    /** Extended memory type [5:3] and ignore-PAT [6]; never written here. */
    public static final long EMT_IPAT = 0xfL << 3;
    /** DMA_PTE_LARGE_PAGE: superpage at level 1 or 2. */
    public static final long PS = 1L << 7;
    /** Accessed, set by hardware. */
    public static final long A = 1L << 8;
    /** Dirty, set by hardware on leaves. */
    public static final long D = 1L << 9;
    /** Bit 10, ignored by hardware. */
    public static final long IGN10 = 1L << 10;
    /** DMA_PTE_SNP: force snooping. */
    public static final long SNP = 1L << 11;
    /** Address field [51:12] as the spec defines it. */
    public static final long ADDR_MASK = 0x000f_ffff_ffff_f000L;
    /** Bits [51:48]: reserved above a 48-bit host address width. */
    public static final long ADDR_ABOVE_48 = 0x000f_0000_0000_0000L;
    /** Bits [63:52]: ignored by hardware, never written here. */
    public static final long HIGH_IGNORED = 0xfff0_0000_0000_0000L;

    private static final long LEAF_BITS = R | W | A | D | SNP | ADDR_MASK;
    private static final long TABLE_BITS = R | W | A | ADDR_MASK;

    @Override public int id() { return FORMAT_VTD_SL; }
    @Override public String name() { return "vtd-sl"; }

    @Override
    public boolean isPresent(long desc, int level) {
        return (desc & (R | W)) != 0;
    }

    @Override
    public boolean isTable(long desc, int level) {
        return (desc & (R | W)) != 0 && level < PageTableGeometry.LEAF_LEVEL && (desc & PS) == 0;
    }

    @Override
    public boolean isLeaf(long desc, int level) {
        if ((desc & (R | W)) == 0) {
            return false;
        }
        return level == PageTableGeometry.LEAF_LEVEL || ((desc & PS) != 0 && level > 0);
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
        long d = pa & ADDR_MASK;
        if ((prot & Prot.READ) != 0) {
            d |= R;
        }
        if ((prot & Prot.WRITE) != 0) {
            d |= W;
        }
        if ((prot & Prot.CACHE) != 0) {
            d |= SNP;
        }
        if (level < PageTableGeometry.LEAF_LEVEL) {
            d |= PS;
        }
        return d;
    }

    @Override
    public long makeTable(long tablePa) {
        return (tablePa & ADDR_MASK) | R | W;
    }

    @Override
    public int protOf(long desc, int level) {
        int p = 0;
        if ((desc & R) != 0) {
            p |= Prot.READ;
        }
        if ((desc & W) != 0) {
            p |= Prot.WRITE;
        }
        if ((desc & SNP) != 0) {
            p |= Prot.CACHE;
        }
        return p;
    }

    @Override
    public String validate(long desc, int level) {
        if (desc == 0) {
            return null;
        }
        if ((desc & (R | W)) == 0) {
            return "not-present entry (R=W=0) with other bits set; this format writes 0";
        }
        if ((desc & ADDR_ABOVE_48) != 0) {
            return "address bits [51:48] set: reserved above the 48-bit address width";
        }
        if ((desc & HIGH_IGNORED) != 0) {
            return "bits [63:52] set; this format never writes them";
        }
        if (level == PageTableGeometry.TOP_LEVEL && (desc & PS) != 0) {
            return "PS set at level 0 (PML4E): reserved, there are no 512 GiB pages";
        }
        if (level == PageTableGeometry.LEAF_LEVEL && (desc & PS) != 0) {
            return "PS set in a 4 KiB PTE; this format never writes it";
        }
        if (isLeaf(desc, level)) {
            if ((desc & ~(LEAF_BITS | PS)) != 0) {
                return "leaf has X, memory-type or ignored bits set; this format never writes them";
            }
            if ((desc & ADDR_MASK & (PageTableGeometry.blockSize(level) - 1)) != 0) {
                return "superpage address not aligned to its size (reserved low address bits set)";
            }
            return null;
        }
        if ((desc & ~TABLE_BITS) != 0) {
            return "table entry has bits other than R, W, A and address set";
        }
        if ((desc & (R | W)) != (R | W)) {
            return "table entry without both R and W; this format always writes both";
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
            return sb.append(String.format("not present (raw 0x%016x)", desc)).toString();
        }
        if (isLeaf(desc, level)) {
            sb.append(level == 1 ? "1G" : level == 2 ? "2M" : "4K")
              .append(String.format(" oa=0x%x ", outputAddress(desc, level)));
        } else {
            sb.append(String.format("table=0x%x ", tableAddress(desc)));
        }
        sb.append((desc & R) != 0 ? 'R' : '-').append((desc & W) != 0 ? 'W' : '-');
        if ((desc & PS) != 0) {
            sb.append(" PS");
        }
        if ((desc & SNP) != 0) {
            sb.append(" SNP");
        }
        if ((desc & A) != 0) {
            sb.append(" A");
        }
        if ((desc & D) != 0) {
            sb.append(" D");
        }
        String bad = validate(desc, level);
        if (bad != null) {
            sb.append(" INVALID: ").append(bad);
        }
        return sb.toString();
    }

    @Override
    public String levelName(int level) {
        switch (level) {
            case 0: return "PML4E";
            case 1: return "PDPE";
            case 2: return "PDE";
            case 3: return "PTE";
            default: return "L" + level;
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
