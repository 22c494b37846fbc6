package org.pkstore.bench;

import net.openhft.chronicle.map.ChronicleMap;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.pgtable.PageTableFormat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Baseline: the obvious "just use a map" design for persistent I/O translations: a persisted
 * Chronicle Map&lt;Long, Long&gt; from IOVA page number to the 4 KiB leaf descriptor (same encoding,
 * {@link PageTableFormat#makeLeaf}). map = one putIfAbsent per 4 KiB page, unmap = one remove per
 * page, translate = one get. No hardware could walk it, and large pages do not exist in it.
 */
public final class ChronicleMapPageTable implements AutoCloseable {
    private final PageTableFormat format;
    private final ChronicleMap<Long, Long> map;

    public ChronicleMapPageTable(Path file, PageTableFormat format, long maxEntries) {
        this.format = format;
        try {
            this.map = ChronicleMap.of(Long.class, Long.class)
                    .name("iova-pages")
                    .entries(maxEntries)
                    .createPersistedTo(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One putIfAbsent per 4 KiB page; -EEXIST if one was mapped (pages before it stay mapped). */
    public int map(long iova, long pa, long size, int prot) {
        if (size <= 0 || ((iova | pa | size) & 0xFFF) != 0) {
            return -Errno.EINVAL;
        }
        for (long off = 0; off < size; off += 4096) {
            if (map.putIfAbsent((iova + off) >>> 12, format.makeLeaf(pa + off, prot, 3)) != null) {
                return -Errno.EEXIST;
            }
        }
        return 0;
    }

    /** One remove per 4 KiB page; stops at the first hole like iommu_unmap. */
    public long unmap(long iova, long size) {
        long off = 0;
        for (; off < size; off += 4096) {
            if (map.remove((iova + off) >>> 12) == null) {
                break;
            }
        }
        return off;
    }

    public long iovaToPhys(long iova) {
        Long d = map.get(iova >>> 12);
        return d == null ? 0 : format.outputAddress(d, 3) | (iova & 0xFFF);
    }

    public long size() {
        return map.longSize();
    }

    public void clear() {
        map.clear();
    }

    @Override
    public void close() {
        map.close();
    }
}
