package org.pkstore.iommu.pgtable;

/**
 * Level geometry shared by both formats: 4 KiB granule, 48-bit input address, four levels of 512
 * eight-byte descriptors.
 *
 * <pre>
 *  input address (IOVA)
 *   63      48 47      39 38      30 29      21 20      12 11         0
 *  +----------+----------+----------+----------+----------+------------+
 *  |  zero    | level 0  | level 1  | level 2  | level 3  | page offset|
 *  +----------+----------+----------+----------+----------+------------+
 *               index      index      index      index
 *                          1 GiB blk  2 MiB blk  4 KiB page
 * </pre>
 *
 * Level 0 is the root. Leaves may sit at levels 1 (1 GiB), 2 (2 MiB) and 3 (4 KiB).
 */
public final class PageTableGeometry {
    private PageTableGeometry() {}

    public static final int IAS_BITS = 48;
    public static final int OAS_BITS = 48;
    public static final long IOVA_LIMIT = 1L << IAS_BITS;
    public static final long PA_LIMIT = 1L << OAS_BITS;

    public static final int LEVELS = 4;
    public static final int TOP_LEVEL = 0;
    public static final int LEAF_LEVEL = LEVELS - 1;

    public static final int GRANULE_SHIFT = 12;
    public static final long GRANULE = 1L << GRANULE_SHIFT;
    public static final int BITS_PER_LEVEL = 9;
    public static final int ENTRIES_PER_TABLE = 1 << BITS_PER_LEVEL;
    public static final int DESCRIPTOR_BYTES = 8;

    public static final long SZ_4K = 1L << 12;
    public static final long SZ_2M = 1L << 21;
    public static final long SZ_1G = 1L << 30;
    /** Every leaf size this geometry can express. */
    public static final long PGSIZE_BITMAP = SZ_4K | SZ_2M | SZ_1G;

    /** Bit position of the lowest IOVA bit that indexes {@code level}: 39, 30, 21, 12. */
    public static int levelShift(int level) {
        return GRANULE_SHIFT + BITS_PER_LEVEL * (LEAF_LEVEL - level);
    }

    /** Index of {@code iova}'s entry in its table at {@code level}. */
    public static int index(long iova, int level) {
        return (int) ((iova >>> levelShift(level)) & (ENTRIES_PER_TABLE - 1));
    }

    /** Bytes of input address one entry at {@code level} covers (512 GiB at level 0). */
    public static long blockSize(int level) {
        return 1L << levelShift(level);
    }

    /** True for levels whose entries may be leaves (1 GiB, 2 MiB, 4 KiB); a level-0 block does not exist. */
    public static boolean isLeafLevelAllowed(int level) {
        return level >= 1 && level <= LEAF_LEVEL;
    }

    /** The level whose leaves are {@code size} bytes, or -1 when no level has that leaf size. */
    public static int levelOfSize(long size) {
        if (size == SZ_4K) {
            return 3;
        }
        if (size == SZ_2M) {
            return 2;
        }
        if (size == SZ_1G) {
            return 1;
        }
        return -1;
    }

    /** Physical address of entry {@code index} of the table at {@code tablePa}. */
    public static long descriptorPa(long tablePa, int index) {
        return tablePa + (long) index * DESCRIPTOR_BYTES;
    }

    /** First IOVA covered by the entry {@code index} of a table at {@code level} whose first IOVA is {@code tableIova}. */
    public static long entryIova(long tableIova, int level, int index) {
        return tableIova + ((long) index << levelShift(level));
    }

    /**
     * Linux iommu_pgsize(): the largest page size in {@code bitmap} that both {@code iova} and
     * {@code pa} are aligned to and that fits in {@code size}. Returns 0 if none does (the kernel
     * BUG()s there; callers check alignment to the smallest size first).
     */
    public static long pageSize(long bitmap, long iova, long pa, long size) {
        // sizes no larger than size: bits [0, fls(size)]
        long pgsizes = bitmap & lowMask(63 - Long.numberOfLeadingZeros(size));
        long addrMerge = iova | pa;
        if (addrMerge != 0) {
            pgsizes &= lowMask(Long.numberOfTrailingZeros(addrMerge));
        }
        return pgsizes == 0 ? 0 : Long.highestOneBit(pgsizes);
    }

    /**
     * The page count Linux iommu_pgsize() returns with {@code pgsize}: how many pages of that size
     * to map before it is worth trying the next larger size again (at the next larger alignment
     * boundary, when iova and pa are offset alike and enough size remains).
     */
    public static long pageCount(long bitmap, long iova, long pa, long size, long pgsize) {
        int pgsizeIdx = Long.numberOfTrailingZeros(pgsize);
        long bigger = bitmap & ~lowMask(pgsizeIdx);
        if (bigger != 0) {
            long next = Long.lowestOneBit(bigger);
            if (((iova ^ pa) & (next - 1)) == 0) {
                long offset = next - ((iova | pa) & (next - 1));
                if (offset + next <= size) {
                    size = offset;
                }
            }
        }
        return size >>> pgsizeIdx;
    }

    /** GENMASK(bit, 0). */
    private static long lowMask(int bit) {
        return bit >= 63 ? -1L : (1L << (bit + 1)) - 1;
    }
}
