package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;

import static org.pkstore.iommu.pgtable.PageTableGeometry.IOVA_LIMIT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEVELS;
import static org.pkstore.iommu.pgtable.PageTableGeometry.blockSize;
import static org.pkstore.iommu.pgtable.PageTableGeometry.descriptorPa;
import static org.pkstore.iommu.pgtable.PageTableGeometry.index;

/**
 * The IOMMU's view of a domain's tables for a device doing DMA, typically in another process than
 * the writer: translates one IOVA with a permission check, never reading outside the file.
 *
 * <h2>Seqlock on the free sequence</h2>
 * The writer never changes a table in a way a walker could misread except by freeing a page that
 * is then reused. It bumps the file's free sequence before every free, so a walk that sampled the
 * same sequence before and after went through no recycled page and its answer stands; otherwise
 * the walk is retried, up to a bound, after which {@link #FAULT_UNSTABLE} is returned. Every answer,
 * faults included, is checked this way: a recycled page can make a mapped IOVA look unmapped.
 *
 * <p>Like hardware, the walk checks descriptors (reserved bits and encodings via
 * {@link PageTableFormat#validate}) but not the allocation bitmap; it does check that each table
 * pointer is a table page of this file, so it can never read out of bounds.
 *
 * <p>Allocation-free. Not thread-safe only in its counters; use one per thread.
 */
public final class DeviceTranslation {
    /** No valid translation: some level's entry is not present (translation fault). */
    public static final long FAULT_NOT_PRESENT = -1;
    /** Mapped, but the leaf does not grant the requested access (permission fault). */
    public static final long FAULT_PERMISSION = -2;
    /** IOVA at or beyond 2^48 (address size fault). */
    public static final long FAULT_ADDRESS_SIZE = -3;
    /** A descriptor the format rejects, or a table pointer outside the file's table area. */
    public static final long FAULT_BAD_DESCRIPTOR = -4;
    /** The free sequence kept moving: no stable walk within the retry bound. */
    public static final long FAULT_UNSTABLE = -5;
    /** The file has no (valid) root table. */
    public static final long FAULT_NO_ROOT = -6;

    public static final int DEFAULT_MAX_ATTEMPTS = 1000;

    private final PageTableFile file;
    private final PageTableFormat format;
    private final int maxAttempts;
    private long retries;
    private long unstable;

    /** With the format the file header names. */
    public DeviceTranslation(PageTableFile file) {
        this(file, PageTableFormat.byId(file.format()), DEFAULT_MAX_ATTEMPTS);
    }

    public DeviceTranslation(PageTableFile file, PageTableFormat format, int maxAttempts) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts " + maxAttempts);
        }
        this.file = file;
        this.format = format;
        this.maxAttempts = maxAttempts;
    }

    /**
     * Translates {@code iova} for an access of {@code access} ({@link Prot#READ} and/or
     * {@link Prot#WRITE}; other bits are ignored).
     *
     * @return the PA (&gt;= 0) or one of the negative {@code FAULT_*} codes
     */
    public long translate(long iova, int access) {
        return translate(0, iova, access);
    }

    /**
     * As {@link #translate(long, int)}, from the root a device-table entry names rather than the
     * file header's: what hardware does, and what keeps a device walking the right tables while a
     * hotswap switches its entry. {@code rootPa} 0 means the header's root.
     */
    public long translate(long rootPa, long iova, int access) {
        if (iova < 0 || iova >= IOVA_LIMIT) {
            return FAULT_ADDRESS_SIZE;
        }
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            long before = file.freeSeq();
            long result = walk(rootPa == 0 ? file.rootPa() : rootPa, iova, access);
            if (file.freeSeq() == before) {
                return result;
            }
            retries++;
            Thread.onSpinWait();
        }
        unstable++;
        return FAULT_UNSTABLE;
    }

    private long walk(long root, long iova, int access) {
        long table = root;
        if (!file.isTablePage(table)) {
            return FAULT_NO_ROOT;
        }
        for (int level = 0; level < LEVELS; level++) {
            long d = file.readDescriptor(descriptorPa(table, index(iova, level)));
            if (!format.isPresent(d, level)) {
                return FAULT_NOT_PRESENT;
            }
            if (format.validate(d, level) != null) {
                return FAULT_BAD_DESCRIPTOR;
            }
            if (format.isLeaf(d, level)) {
                int granted = format.protOf(d, level);
                if ((access & (Prot.READ | Prot.WRITE) & ~granted) != 0) {
                    return FAULT_PERMISSION;
                }
                return format.outputAddress(d, level) | (iova & (blockSize(level) - 1));
            }
            if (!format.isTable(d, level)) {
                return FAULT_BAD_DESCRIPTOR;
            }
            table = format.tableAddress(d);
            if (!file.isTablePage(table)) {
                return FAULT_BAD_DESCRIPTOR;
            }
        }
        return FAULT_BAD_DESCRIPTOR;
    }

    /** Walks repeated because the free sequence moved during them. */
    public long retries() { return retries; }

    /** Translations that gave up with {@link #FAULT_UNSTABLE}. */
    public long unstableFaults() { return unstable; }

    public PageTableFile file() { return file; }
    public PageTableFormat format() { return format; }

    public static boolean isFault(long result) {
        return result < 0;
    }

    /** "not present", "permission", ...; for a non-negative value, "ok". */
    public static String faultName(long result) {
        if (result >= 0) {
            return "ok";
        }
        switch ((int) result) {
            case (int) FAULT_NOT_PRESENT: return "not present";
            case (int) FAULT_PERMISSION: return "permission";
            case (int) FAULT_ADDRESS_SIZE: return "address size";
            case (int) FAULT_BAD_DESCRIPTOR: return "bad descriptor";
            case (int) FAULT_UNSTABLE: return "unstable (tables kept changing)";
            case (int) FAULT_NO_ROOT: return "no root table";
            default: return "fault " + result;
        }
    }
}
