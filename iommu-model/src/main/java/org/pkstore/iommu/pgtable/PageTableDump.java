package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.pkstore.iommu.pgtable.PageTableGeometry.GRANULE_SHIFT;
import static org.pkstore.iommu.pgtable.PageTableGeometry.LEVELS;

/**
 * Text dump of a domain's mappings, one row per leaf with every level's raw descriptor, in the
 * shape of the VT-d debugfs file domain_translation_struct (without the PML5E column, as these
 * tables have four levels). Levels below a leaf are left out of its row, as debugfs does. Refused
 * descriptors appear as "# problem" lines.
 *
 * <pre>
 * IOVA_PFN		PML4E			PDPE			PDE			PTE
 * 0x0000000000000 |	0x0000400000003003	0x0000400000004003	0x0000400000005003	0x0000000000000803
 * </pre>
 */
public final class PageTableDump {
    private PageTableDump() {}

    public static void write(PageTableFile file, PageTableFormat format, Appendable out, boolean decoded) {
        try {
            out.append("IOVA_PFN\t");
            for (int l = 0; l < LEVELS; l++) {
                out.append('\t').append(format.levelName(l)).append(l < LEVELS - 1 ? "\t\t" : "");
            }
            out.append('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        new PageTableWalker(file, format).walk(new PageTableVisitor() {
            @Override
            public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                StringBuilder sb = new StringBuilder(128);
                sb.append(String.format("0x%013x |", iova >>> GRANULE_SHIFT));
                for (int l = 0; l <= level; l++) {
                    sb.append(String.format("\t0x%016x", path[l]));
                }
                if (decoded) {
                    sb.append("\t# ").append(format.decode(descriptor, level));
                }
                sb.append('\n');
                append(out, sb);
            }

            @Override
            public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
                append(out, String.format("# problem at offset 0x%x (level %d, IOVA 0x%x, raw 0x%016x): %s\n",
                        descriptorPa - file.paBase(), level, iova, descriptor, reason));
            }
        });
    }

    /** The dump as a string. */
    public static String toString(PageTableFile file, PageTableFormat format, boolean decoded) {
        StringBuilder sb = new StringBuilder();
        write(file, format, sb, decoded);
        return sb.toString();
    }

    private static void append(Appendable out, CharSequence s) {
        try {
            out.append(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
