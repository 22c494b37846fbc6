package org.pkstore.bench;

import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_4K;

/** A domain with {@code pages} dense 4 KiB mappings from IOVA_BASE, in a standalone page-table file. */
final class DenseDomain implements AutoCloseable {
    final PageTableFile file;
    final IoPageTable table;
    final long pages;

    DenseDomain(Path dir, PageTableFormat fmt, long pages) {
        this.pages = pages;
        file = Fixtures.domainFile(dir, "dense", fmt, Fixtures.DOMAIN_FILE_PAGES);
        table = IoPageTable.create(file, fmt, PartialUnmapPolicy.SPLIT);
        table.setPageSizes(SZ_4K);
        int r = table.map(IOVA_BASE, OUT_PA_BASE, pages * SZ_4K, MapBench.PROT);
        Fixtures.check(r == 0, "dense map returned " + r);
        table.setPageSizes(org.pkstore.iommu.pgtable.PageTableGeometry.PGSIZE_BITMAP);
    }

    static long expectedPa(long iova) {
        return OUT_PA_BASE + (iova - IOVA_BASE);
    }

    /**
     * Prints (and appends to {@code $pkstore.bench.out/memory.txt} when set) the table memory of
     * this domain: table pages and bytes per mapped 4 KiB page.
     */
    void reportMemory(String format, long heapTablePages) {
        long tablePages = file.allocatedTablePages();
        long overheadPages = file.firstTablePage(); // header + allocation bitmap
        String line = String.format(java.util.Locale.ROOT,
                "MEMORY format=%s mappings=%d tablePages=%d tableBytesPerMappedPage=%.4f"
                        + " withHeaderAndBitmap=%.4f (header+bitmap pages=%d, file capacity %d pages)"
                        + " heapRadixTablePages=%d",
                format, pages, tablePages, tablePages * 4096.0 / pages,
                (tablePages + overheadPages) * 4096.0 / pages, overheadPages, file.capacityPages(), heapTablePages);
        System.out.println("[pkstore-bench] " + line);
        String out = System.getProperty("pkstore.bench.out");
        if (out != null) {
            try {
                Files.createDirectories(Path.of(out));
                Files.writeString(Path.of(out, "memory.txt"), line + System.lineSeparator(), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.out.println("[pkstore-bench] cannot record memory line: " + e);
            }
        }
    }

    @Override
    public void close() {
        file.close();
    }
}
