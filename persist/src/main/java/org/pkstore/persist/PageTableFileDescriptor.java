package org.pkstore.persist;

/**
 * Layout of a pkernfs page-table file: the file that holds one IOMMU domain's translation tables
 * (kind {@link #KIND_DOMAIN_TABLES}) or one IOMMU unit's hardware-visible device tables (kind
 * {@link #KIND_IOMMU_TABLES}). docs/FORMAT.md is the normative text; this class is its code.
 *
 * <p>The file is {@code capacityPages} pages of {@link #PAGE_SIZE} bytes. Page 0 is this header,
 * pages 1..{@code bitmapPages} hold the allocation bitmap (bit i set = page i allocated; the header
 * and bitmap pages are always set), the remaining pages are table pages. Page i sits at physical
 * address {@code paBase + i * PAGE_SIZE}, so a descriptor can hold a physical address and
 * {@code fileOffset = pa - paBase}.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+ --- immutable, checksummed
 *  |                        Magic "PKSTPGT\0"                      |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |             Layout version (u32, published LAST)              |  8
 *  +---------------------------------------------------------------+
 *  |                       Page size (u32)                         | 12
 *  +---------------------------------------------------------------+
 *  |        Compatibility string, 32 bytes, NUL padded             | 16
 *  |                 ("pkstore-iommu-pgtable-v1")                  |
 *  +---------------------------------------------------------------+
 *  |                    Capacity in pages (u64)                    | 48
 *  +---------------------------------------------------------------+
 *  |                  Physical base address (u64)                  | 56
 *  +---------------------------------------------------------------+
 *  |                      Bitmap pages (u32)                       | 64
 *  +---------------------------------------------------------------+
 *  |                         Kind (u32)                            | 68
 *  +---------------------------------------------------------------+
 *  |                  Paging / table format (u32)                  | 72
 *  +---------------------------------------------------------------+
 *  |                       Reserved, 0 (u32)                       | 76
 *  +---------------------------------------------------------------+
 *  |      Owner id (domain id, 0 = VMM's, or unit id, u64)         | 80
 *  +---------------------------------------------------------------+
 *  |            Generation the file was created in (u64)           | 88
 *  +---------------------------------------------------------------+
 *  |       CRC-32C of bytes [0, 96) in the low 32 bits (u64)       | 96
 *  +---------------------------------------------------------------+ --- mutable, from 128
 *  |                  Root table physical address (u64)            | 128
 *  +---------------------------------------------------------------+
 *  |                  Generation of last writer (u64)              | 136
 *  +---------------------------------------------------------------+
 *  |         Clean-shutdown flag (u32: 1 clean, 0 in use)          | 144
 *  +---------------------------------------------------------------+
 *  |                       Reserved (u32)                          | 148
 *  +---------------------------------------------------------------+
 *  |       Free sequence (u64): bumped before a page is freed      | 152
 *  +---------------------------------------------------------------+
 *  |    Mutation sequence (u64): odd while an update is under way  | 160
 *  +---------------------------------------------------------------+
 *  |                    PID of last writer (u64)                   | 168
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Readers in other processes use the free sequence as a seqlock: read it, walk, read it again,
 * and retry the walk if it moved, because a page they walked through may have been freed and reused.
 */
public final class PageTableFileDescriptor {
    private PageTableFileDescriptor() {}

    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    public static final long MAGIC = 0x0054_4750_5453_4B50L; // "PKSTPGT\0" little-endian
    public static final int LAYOUT_VERSION = 1;
    public static final int COMPAT_LENGTH = 32;
    public static final String COMPAT_DOMAIN_TABLES = "pkstore-iommu-pgtable-v1";
    /**
     * v2: VT-d scalable mode (the root names an RTADDR_REG page), SMMUv3 nested STE with the guest's
     * CDs, no pkstore PASID records; a v1 device table is refused, never read (docs/FORMAT.md 6.5).
     */
    public static final String COMPAT_IOMMU_TABLES = "pkstore-iommu-hwtable-v2";
    /** The device-table layout before v2 (pkstore-private PASID directory and bound-PASID records). */
    public static final String COMPAT_IOMMU_TABLES_V1 = "pkstore-iommu-hwtable-v1";

    public static final int KIND_DOMAIN_TABLES = 1;
    public static final int KIND_IOMMU_TABLES = 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int PAGE_SIZE_OFFSET = VERSION_OFFSET + Integer.BYTES;
    public static final int COMPAT_OFFSET = PAGE_SIZE_OFFSET + Integer.BYTES;
    public static final int CAPACITY_PAGES_OFFSET = COMPAT_OFFSET + COMPAT_LENGTH;
    public static final int PA_BASE_OFFSET = CAPACITY_PAGES_OFFSET + Long.BYTES;
    public static final int BITMAP_PAGES_OFFSET = PA_BASE_OFFSET + Long.BYTES;
    public static final int KIND_OFFSET = BITMAP_PAGES_OFFSET + Integer.BYTES;
    public static final int FORMAT_OFFSET = KIND_OFFSET + Integer.BYTES;
    public static final int RESERVED_OFFSET = FORMAT_OFFSET + Integer.BYTES;
    public static final int OWNER_ID_OFFSET = RESERVED_OFFSET + Integer.BYTES;
    public static final int CREATED_GENERATION_OFFSET = OWNER_ID_OFFSET + Long.BYTES;
    public static final int CHECKSUM_OFFSET = CREATED_GENERATION_OFFSET + Long.BYTES;
    /** The checksum covers [0, CHECKSUMMED_LENGTH). */
    public static final int CHECKSUMMED_LENGTH = CHECKSUM_OFFSET;

    /**
     * Owner id of a domain-tables file the VMM created (VFIO_CONTAINER_SET_PERSISTENT_PGTABLES' file):
     * no domain exists when it is created, and the checksummed header is never rewritten (a rewrite is
     * two stores, owner and checksum, that a crash could tear). A file the kernel creates for a domain
     * holds that domain's id (ids start at 1).
     */
    public static final long OWNER_VMM = 0;

    public static final int MUTABLE_OFFSET = 128;
    public static final int ROOT_PA_OFFSET = MUTABLE_OFFSET;
    public static final int GENERATION_OFFSET = ROOT_PA_OFFSET + Long.BYTES;
    public static final int CLEAN_OFFSET = GENERATION_OFFSET + Long.BYTES;
    public static final int FREE_SEQ_OFFSET = CLEAN_OFFSET + 2 * Integer.BYTES;
    public static final int MUTATION_SEQ_OFFSET = FREE_SEQ_OFFSET + Long.BYTES;
    public static final int WRITER_PID_OFFSET = MUTATION_SEQ_OFFSET + Long.BYTES;
    public static final int HEADER_END = WRITER_PID_OFFSET + Long.BYTES;

    public static final int BITMAP_OFFSET = PAGE_SIZE;
    public static final long BITS_PER_BITMAP_PAGE = (long) PAGE_SIZE * Byte.SIZE;

    /** Smallest and largest file this format allows (the largest keeps every PA below 2^48). */
    public static final long MIN_CAPACITY_PAGES = 4;
    public static final long MAX_CAPACITY_PAGES = 1L << 24; // 64 GiB

    public static int bitmapPagesFor(long capacityPages) {
        return (int) ((capacityPages + BITS_PER_BITMAP_PAGE - 1) / BITS_PER_BITMAP_PAGE);
    }

    /** First page a table may occupy. */
    public static long firstTablePage(int bitmapPages) {
        return 1L + bitmapPages;
    }

    public static String compatFor(int kind) {
        return kind == KIND_IOMMU_TABLES ? COMPAT_IOMMU_TABLES : COMPAT_DOMAIN_TABLES;
    }
}
