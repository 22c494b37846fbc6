package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;

import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Child JVM of {@link RandomMapUnmapTest}: the host after "kexec". Opens the table file read-only,
 * attaches, and writes for each queried IOVA (one hex number a line) a line
 * {@code iova walkPa iovaToPhys prot} (walkPa and prot -1 when unmapped).
 */
public final class TranslationQueryMain {
    private TranslationQueryMain() {}

    public static void main(String[] args) throws Exception {
        Path table = Path.of(args[0]);
        List<String> queries = Files.readAllLines(Path.of(args[1]));
        try (PageTableFile f = PageTableFile.openReadOnly(table);
             BufferedWriter out = Files.newBufferedWriter(Path.of(args[2]))) {
            PageTableFormat format = PageTableFormat.byId(f.format());
            IoPageTable t = IoPageTable.attach(f, format, PartialUnmapPolicy.REFUSE);
            PageTableWalker walker = new PageTableWalker(f, format);
            int[] prot = new int[1];
            PageTableVisitor v = new PageTableVisitor() {
                @Override
                public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                    prot[0] = format.protOf(descriptor, level);
                }
            };
            for (String q : queries) {
                long iova = Long.parseUnsignedLong(q.trim(), 16);
                prot[0] = -1;
                long pa = walker.translate(iova, v);
                out.write(Long.toHexString(iova) + " " + pa + " " + t.iovaToPhys(iova) + " " + prot[0] + "\n");
            }
            System.out.println("answered " + queries.size() + " queries on " + format.name());
        }
    }
}
