package org.pkstore.iommu.nested;

import org.pkstore.iommu.Stage1Format;
import org.pkstore.iommu.pgtable.Prot;

/**
 * Intel VT-d first-level paging entries (VT-d spec 3.6 section 9.7 "First-Stage Paging Entries",
 * table 31ff.: the IA-32e / x86-64 4-level and 5-level formats), as the guest's intel-iommu writes
 * them for a first-level domain (drivers/iommu/intel/iommu.c {@code __domain_mapping} and
 * {@code pfn_to_dma_pte} with {@code domain->use_first_level}; first_level_by_default()).
 *
 * <pre>
 *  Leaf: 4 KiB PTE (last level), 2 MiB PDE or 1 GiB PDPE with PS
 *   63 62    52 51    48 47                            12 11  9  8   7   6   5   4   3   2   1   0
 *  +--+--------+--------+-------------------------------+-----+---+---+---+---+---+---+---+---+---+
 *  |XD| ignored| rsvd   |  output GPA [47:12]           | ign | G |PS | D | A |PCD|PWT|U/S|R/W| P |
 *  +--+--------+--------+-------------------------------+-----+---+---+---+---+---+---+---+---+---+
 *    2 MiB / 1 GiB leaf: bit 12 is PAT, bits [20:13] / [29:13] reserved
 *  Table: PML5E / PML4E / PDPE / PDE with PS = 0: next-table GPA [47:12], same low flags, PS
 *  reserved (0) in PML5E and PML4E.
 * </pre>
 *
 * Linux writes a leaf as {@code addr | DMA_FL_PTE_PRESENT | DMA_PTE_WRITE (if writable) |
 * DMA_FL_PTE_US | DMA_FL_PTE_ACCESS | DMA_FL_PTE_DIRTY (if writable)} (PS for a superpage) and a
 * table as {@code addr | DMA_PTE_READ | DMA_PTE_WRITE | DMA_FL_PTE_US | DMA_FL_PTE_ACCESS};
 * DMA_PTE_READ and DMA_FL_PTE_PRESENT are the same bit 0. DMA_FL_PTE_XD is no longer written.
 * Permissions accumulate along the walk (spec 3.6 section 3.6.2): a user request needs U/S at every
 * level, a write R/W at every level. The host address width is 48 bits here, so address bits
 * [51:48] are reserved.
 *
 * <p>Golden: a writable 4 KiB PTE at GPA 0x1234_5000 is {@code 0x0000000012345067}; a read-only one
 * {@code 0x0000000012345025}; a table entry at 0x8000 is {@code 0x0000000000008027}.
 */
public final class VtdFirstLevelFormat implements FirstStageFormat {
    public static final VtdFirstLevelFormat FOUR_LEVEL = new VtdFirstLevelFormat(4);
    public static final VtdFirstLevelFormat FIVE_LEVEL = new VtdFirstLevelFormat(5);

    /** DMA_FL_PTE_PRESENT (= DMA_PTE_READ). */
    public static final long P = 1L << 0;
    /** R/W: DMA_PTE_WRITE. */
    public static final long RW = 1L << 1;
    /** U/S: DMA_FL_PTE_US. */
    public static final long US = 1L << 2;
    public static final long PWT = 1L << 3;
    public static final long PCD = 1L << 4;
    /** Accessed: DMA_FL_PTE_ACCESS. */
    public static final long A = 1L << 5;
    /** Dirty (leaves): DMA_FL_PTE_DIRTY. */
    public static final long D = 1L << 6;
    /** Page size: DMA_PTE_LARGE_PAGE. */
    public static final long PS = 1L << 7;
    public static final long G = 1L << 8;
    /** PAT of a 2 MiB / 1 GiB leaf. */
    public static final long PAT_LARGE = 1L << 12;
    /** Execute disable: DMA_FL_PTE_XD (not written by Linux any more). */
    public static final long XD = 1L << 63;
    /** Address field under a 48-bit host address width. */
    public static final long ADDR_MASK = 0x0000_ffff_ffff_f000L;
    /** Address bits [51:48], reserved above HAW 48. */
    public static final long ADDR_ABOVE_48 = 0x000f_0000_0000_0000L;

    private final int levels;

    private VtdFirstLevelFormat(int levels) {
        this.levels = levels;
    }

    @Override public String name() { return levels == 4 ? "vtd-fl4" : "vtd-fl5"; }
    @Override public Stage1Format kind() { return levels == 4 ? Stage1Format.VTD_FIRST_LEVEL_4 : Stage1Format.VTD_FIRST_LEVEL_5; }
    @Override public int levels() { return levels; }

    @Override
    public String inputProblem(long va) {
        // canonical: bits [63:47] (4-level) or [63:56] (5-level) all equal; a device only uses the lower half
        int top = levels == 4 ? 47 : 56;
        long high = va >> top;
        if (high != 0 && high != -1) {
            return levels == 4 ? "non-canonical input address (bits 63:47 differ)" : "non-canonical input address (bits 63:56 differ)";
        }
        return null;
    }

    @Override
    public boolean isPresent(long desc, int level) {
        return (desc & P) != 0;
    }

    @Override
    public boolean isLeaf(long desc, int level) {
        return (desc & P) != 0 && (level == levels - 1 || ((desc & PS) != 0 && leafAllowed(level)));
    }

    @Override
    public boolean leafAllowed(int level) {
        return level >= levels - 3 && level <= levels - 1;
    }

    @Override
    public String reservedProblem(long desc, int level) {
        if ((desc & ADDR_ABOVE_48) != 0) {
            return "address bits 51:48 set (reserved above the 48-bit host address width)";
        }
        if ((desc & PS) != 0 && level < levels - 3) {
            return "PS set in a PML4E/PML5E (reserved)";
        }
        if ((desc & PS) != 0 && level < levels - 1) {
            long low = (blockSize(level) - 1) & ~0x1fffL;
            if ((desc & low) != 0) {
                return "superpage address not aligned (reserved low address bits set)";
            }
        }
        return null;
    }

    @Override
    public int grants(long desc, int level) {
        if ((desc & US) == 0) {
            return 0; // supervisor-only: a user request faults, read or write
        }
        return (desc & RW) != 0 ? Prot.READ | Prot.WRITE : Prot.READ;
    }

    @Override
    public boolean accessFlagFault(long desc, int level) {
        return false; // hardware sets A and D itself
    }

    @Override
    public long outputAddress(long desc, int level) {
        return desc & ADDR_MASK & ~(blockSize(level) - 1);
    }

    @Override
    public long tableAddress(long desc) {
        return desc & ADDR_MASK;
    }

    @Override
    public long makeLeaf(long gpa, int prot, int level) {
        long d = (gpa & ADDR_MASK) | P | US | A;
        if ((prot & Prot.WRITE) != 0) {
            d |= RW | D;
        }
        if (level < levels - 1) {
            d |= PS;
        }
        return d;
    }

    @Override
    public long makeTable(long tableGpa) {
        return (tableGpa & ADDR_MASK) | P | RW | US | A;
    }

    @Override
    public String levelName(int level) {
        int fromLeaf = levels - 1 - level;
        switch (fromLeaf) {
            case 0: return "PTE";
            case 1: return "PDE";
            case 2: return "PDPE";
            case 3: return "PML4E";
            case 4: return "PML5E";
            default: return "L" + level;
        }
    }

    @Override
    public String decode(long desc, int level) {
        StringBuilder sb = new StringBuilder(levelName(level)).append(' ');
        if ((desc & P) == 0) {
            return sb.append(desc == 0 ? "empty" : String.format("not present (raw 0x%016x)", desc)).toString();
        }
        if (isLeaf(desc, level)) {
            int fromLeaf = levels - 1 - level;
            sb.append(fromLeaf == 0 ? "4K" : fromLeaf == 1 ? "2M" : "1G")
              .append(String.format(" gpa=0x%x ", outputAddress(desc, level)));
        } else {
            sb.append(String.format("table gpa=0x%x ", tableAddress(desc)));
        }
        sb.append('P').append((desc & RW) != 0 ? " R/W" : " R/O").append((desc & US) != 0 ? " U" : " S");
        if ((desc & A) != 0) {
            sb.append(" A");
        }
        if ((desc & D) != 0) {
            sb.append(" D");
        }
        if ((desc & PS) != 0) {
            sb.append(" PS");
        }
        if ((desc & XD) != 0) {
            sb.append(" XD");
        }
        String bad = reservedProblem(desc, level);
        if (bad != null) {
            sb.append(" RESERVED: ").append(bad);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return name();
    }
}
