package org.pkstore.iommu.nested;

import org.pkstore.iommu.Stage1Format;
import org.pkstore.iommu.pgtable.Prot;

/**
 * Arm VMSAv8-64 stage-1 descriptors, 4 KiB granule, T0SZ 16 (48-bit VA, four levels, TTB0 only),
 * 48-bit output (Arm ARM D8.3 "Translation table descriptor formats"; SMMUv3 spec 5.4 context
 * descriptor TG0/T0SZ), as Linux io-pgtable-arm.c writes them for ARM_64_LPAE_S1
 * ({@code arm_lpae_prot_to_pte}, {@code arm_lpae_install_table}).
 *
 * <pre>
 *  Block (levels 1, 2: type 01) and page (level 3: type 11)
 *   63  59 58 55 54 53 52 51 48 47                         12 11 10  9  8  7  6  5  4    2  1  0
 *  +------+-----+-----+--+-----+------------------------------+--+--+-----+--+--+--+-------+-----+
 *  |  0   | ign | XN  |0 | 0   | output address [47:12]       |nG|AF| SH  |AP2 AP1|NS|AttrIdx| type|
 *  +------+-----+-----+--+-----+------------------------------+--+--+-----+--+--+--+-------+-----+
 *    ARM_LPAE_PTE_nG always; AP[2] (ARM_LPAE_PTE_AP_RDONLY) for read-only; AP[1]
 *    (ARM_LPAE_PTE_AP_UNPRIV) unless IOMMU_PRIV; AttrIdx 1 (IDX_CACHE) with IOMMU_CACHE, 2 (IDX_DEV)
 *    with IOMMU_MMIO, else 0 (IDX_NC); SH 11 with IOMMU_CACHE else 10; AF always; XN with IOMMU_NOEXEC
 *
 *  Table (levels 0..2: type 11)
 *   63 62 61 60 59 58                   48 47                         12 11                 2  1  0
 *  +--+-----+--+--+-----------------------+------------------------------+--------------------+-----+
 *  |NS|APTbl|XN|PX|  ignored / 0          | next-level table address     |  ignored           | 1 1 |
 *  +--+-----+--+--+-----------------------+------------------------------+--------------------+-----+
 * </pre>
 *
 * APTable[0] (bit 61) takes away unprivileged access below, APTable[1] (bit 62) write; Linux writes
 * neither. Type 01 at level 0 (no 512 GiB blocks with a 4 KiB granule and 48-bit OA) and at level 3
 * is reserved and faults as invalid. An SMMU without hardware access-flag update (CD.HA = 0) takes an
 * access-flag fault on a leaf with AF = 0, before any permission check.
 *
 * <p>Golden: a read/write cacheable 4 KiB page at GPA 0x1234_5000 is {@code 0x0000000012345f47};
 * read-only, {@code 0x0000000012345fc7}; a table at 0x8000, {@code 0x0000000000008003}.
 */
public final class ArmLpaeS1Format implements FirstStageFormat {
    public static final ArmLpaeS1Format INSTANCE = new ArmLpaeS1Format();

    private ArmLpaeS1Format() {}

    public static final long TYPE_MASK = 0x3L;
    public static final long TYPE_BLOCK = 0x1L;
    public static final long TYPE_TABLE = 0x3L;
    public static final long TYPE_PAGE = 0x3L;
    public static final long VALID = 0x1L;
    public static final int ATTRINDX_SHIFT = 2;
    public static final long ATTRINDX_MASK = 0x7L << ATTRINDX_SHIFT;
    /** ARM_LPAE_MAIR_ATTR_IDX_NC / _CACHE / _DEV. */
    public static final int ATTR_IDX_NC = 0;
    public static final int ATTR_IDX_CACHE = 1;
    public static final int ATTR_IDX_DEV = 2;
    /** ARM_LPAE_PTE_NS. */
    public static final long NS = 1L << 5;
    /** ARM_LPAE_PTE_AP_UNPRIV: AP[1], EL0 (unprivileged) access. */
    public static final long AP_UNPRIV = 1L << 6;
    /** ARM_LPAE_PTE_AP_RDONLY: AP[2], read-only. */
    public static final long AP_RDONLY = 1L << 7;
    public static final long SH_MASK = 3L << 8;
    public static final long SH_OS = 2L << 8;
    public static final long SH_IS = 3L << 8;
    /** ARM_LPAE_PTE_AF. */
    public static final long AF = 1L << 10;
    /** ARM_LPAE_PTE_nG. */
    public static final long NG = 1L << 11;
    /** Output address [47:12] (ARM_LPAE_PTE_ADDR_MASK). */
    public static final long ADDR_MASK = 0x0000_ffff_ffff_f000L;
    /** OA bits [51:48]: RES0 with a 48-bit output size. */
    public static final long ADDR_ABOVE_48 = 0x000f_0000_0000_0000L;
    /** ARM_LPAE_PTE_XN (UXN and PXN). */
    public static final long XN = 3L << 53;
    /** APTable[0]: no unprivileged access at lower levels. */
    public static final long APTABLE_NO_EL0 = 1L << 61;
    /** APTable[1]: no write at lower levels. */
    public static final long APTABLE_RDONLY = 1L << 62;

    @Override public String name() { return "arm-lpae-s1"; }
    @Override public Stage1Format kind() { return Stage1Format.ARM_LPAE_S1_4K; }
    @Override public int levels() { return 4; }

    @Override
    public String inputProblem(long va) {
        // T0SZ 16 and EPD1 = 1: only [0, 2^48) translates through TTB0; the rest faults at level 0
        return (va >>> 48) != 0 ? "input address outside the TTB0 range (T0SZ 16: bits 63:48 must be 0)" : null;
    }

    @Override
    public boolean isPresent(long desc, int level) {
        return (desc & VALID) != 0;
    }

    @Override
    public boolean isLeaf(long desc, int level) {
        long type = desc & TYPE_MASK;
        return level == 3 ? type == TYPE_PAGE : type == TYPE_BLOCK;
    }

    @Override
    public boolean leafAllowed(int level) {
        return level >= 1;
    }

    @Override
    public String reservedProblem(long desc, int level) {
        long type = desc & TYPE_MASK;
        if (type == TYPE_BLOCK && (level == 0 || level == 3)) {
            return level == 0 ? "block descriptor at level 0 (reserved with a 4 KiB granule)"
                    : "type 01 at level 3 (reserved)";
        }
        if ((desc & ADDR_ABOVE_48) != 0) {
            return "output address bits 51:48 set (RES0 with a 48-bit output size)";
        }
        if (type == TYPE_BLOCK && (desc & ADDR_MASK & (blockSize(level) - 1)) != 0) {
            return "block address not aligned to its size (RES0 low address bits set)";
        }
        return null;
    }

    @Override
    public int grants(long desc, int level) {
        if (!isLeaf(desc, level)) {
            int p = (desc & APTABLE_NO_EL0) != 0 ? 0 : Prot.READ | Prot.WRITE;
            return (desc & APTABLE_RDONLY) != 0 ? p & ~Prot.WRITE : p;
        }
        if ((desc & AP_UNPRIV) == 0) {
            return 0; // privileged-only: an unprivileged transaction faults
        }
        return (desc & AP_RDONLY) != 0 ? Prot.READ : Prot.READ | Prot.WRITE;
    }

    @Override
    public boolean accessFlagFault(long desc, int level) {
        return isLeaf(desc, level) && (desc & AF) == 0;
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
        long d = (gpa & ADDR_MASK) | NG | AF;
        if ((prot & Prot.WRITE) == 0 && (prot & Prot.READ) != 0) {
            d |= AP_RDONLY;
        }
        d |= AP_UNPRIV; // IOMMU_PRIV is never passed for DMA
        if ((prot & Prot.MMIO) != 0) {
            d |= (long) ATTR_IDX_DEV << ATTRINDX_SHIFT;
        } else if ((prot & Prot.CACHE) != 0) {
            d |= (long) ATTR_IDX_CACHE << ATTRINDX_SHIFT;
        }
        d |= (prot & Prot.CACHE) != 0 ? SH_IS : SH_OS;
        if ((prot & Prot.NOEXEC) != 0) {
            d |= XN;
        }
        return d | (level == 3 ? TYPE_PAGE : TYPE_BLOCK);
    }

    @Override
    public long makeTable(long tableGpa) {
        return (tableGpa & ADDR_MASK) | TYPE_TABLE;
    }

    @Override
    public String levelName(int level) {
        return "L" + level;
    }

    @Override
    public String decode(long desc, int level) {
        StringBuilder sb = new StringBuilder(levelName(level)).append(' ');
        if ((desc & VALID) == 0) {
            return sb.append(desc == 0 ? "empty" : String.format("invalid (raw 0x%016x)", desc)).toString();
        }
        String bad = reservedProblem(desc, level);
        if (isLeaf(desc, level)) {
            sb.append(level == 3 ? "page 4K" : level == 2 ? "block 2M" : "block 1G")
              .append(String.format(" gpa=0x%x ", outputAddress(desc, level)));
            sb.append((desc & AP_RDONLY) != 0 ? "RO" : "RW").append((desc & AP_UNPRIV) != 0 ? " EL0" : " EL1-only");
            sb.append(" AttrIdx=").append((desc & ATTRINDX_MASK) >>> ATTRINDX_SHIFT);
            sb.append(" SH=").append((desc & SH_MASK) >>> 8);
            if ((desc & AF) != 0) {
                sb.append(" AF");
            }
            if ((desc & NG) != 0) {
                sb.append(" nG");
            }
            if ((desc & XN) != 0) {
                sb.append(" XN");
            }
        } else if (bad == null) {
            sb.append(String.format("table gpa=0x%x", tableAddress(desc)));
            if ((desc & APTABLE_NO_EL0) != 0) {
                sb.append(" APTable-noEL0");
            }
            if ((desc & APTABLE_RDONLY) != 0) {
                sb.append(" APTable-RO");
            }
        }
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
