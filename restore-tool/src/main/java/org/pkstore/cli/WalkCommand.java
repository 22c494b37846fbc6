package org.pkstore.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.Prot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code pkstore walk MOUNT --domain D}: a domain's mappings, coalesced or leaf by leaf with raw descriptors. */
@Command(name = "walk", mixinStandardHelpOptions = true,
        header = "Print a domain's mappings: coalesced ranges, or raw descriptors per leaf.",
        description = {
                "Walks a domain's I/O page tables and prints its mappings as coalesced ranges (contiguous IOVA "
                + "and PA, same page size and permissions), or with --raw one row per leaf with the raw descriptor "
                + "at every level, like VT-d's debugfs domain_translation_struct. Bounded on damaged tables: each "
                + "table page is read at most once and refused descriptors are reported with their file offset.",
                "",
                "Exit: 0 walked; 1 descriptors were refused (output incomplete; reasons on stderr); 2 unusable "
                + "input."})
final class WalkCommand extends BaseCommand {
    @Mixin
    MountArgument mount;

    @Mixin
    TargetOptions target;

    @Option(names = "--iova-range", paramLabel = "A-B", description = "Only IOVAs in [A, B) (also A+SIZE; hex 0x..., decimal, K/M/G).")
    String iovaRange;

    @Option(names = "--raw", description = "One row per leaf with every level's raw descriptor.")
    boolean raw;

    @Option(names = "--decode", description = "With --raw: append the leaf's decoded fields.")
    boolean decode;

    record RangeOut(String iova, String end, String pa, long size, String pageSize, long leaves, String prot) {}

    record Summary(long ranges, long leaves, long mappedBytes, long leaves1G, long leaves2M, long leaves4K,
                   long tablePages) {}

    @Override
    int execute() {
        long[] range = iovaRange == null ? new long[] {0, PageTableGeometry.IOVA_LIMIT} : Fmt.parseRange(iovaRange, "--iova-range");
        try (MountView v = MountView.open(mount.dir)) {
            Target t = target.resolve(v);
            PrintWriter w = out();
            PageTableFormat fmt = t.table.format();
            DomainScan s;
            List<Finding> problems = new ArrayList<>(t.notes);
            if (json) {
                JsonGenerator g = Json.generator(w);
                try {
                    g.writeStartObject();
                    g.writeObjectField("target", t.out());
                    g.writeStringField("iovaStart", Fmt.hex(range[0]));
                    g.writeStringField("iovaEnd", Fmt.hex(range[1]));
                    if (raw) {
                        g.writeArrayFieldStart("leaves");
                        s = DomainScan.run(v, t.table, t.root, range[0], range[1], false, null,
                                (level, iova, tablePa, index, d, path) -> rawJson(g, fmt, level, iova, d, path),
                                progress("walking " + t.table.rel()));
                        g.writeEndArray();
                    } else {
                        s = DomainScan.run(v, t.table, t.root, range[0], range[1], true, null, null,
                                progress("walking " + t.table.rel()));
                        g.writeArrayFieldStart("ranges");
                        RangeList r = s.ranges;
                        for (int i = 0; i < r.size(); i++) {
                            g.writeObject(rangeOut(r, i));
                        }
                        g.writeEndArray();
                    }
                    problems.addAll(s.findings);
                    g.writeObjectField("summary", summary(s));
                    g.writeObjectField("problems", problems);
                    g.writeEndObject();
                    g.flush();
                    w.println();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            } else {
                w.println(t.describe());
                if (raw) {
                    StringBuilder head = new StringBuilder(pad("IOVA_PFN", 17));
                    for (int l = 0; l < PageTableGeometry.LEVELS; l++) {
                        head.append("  ").append(pad(fmt.levelName(l), 18));
                    }
                    w.println(head.toString().stripTrailing());
                    StringBuilder sb = new StringBuilder(160);
                    s = DomainScan.run(v, t.table, t.root, range[0], range[1], false, null,
                            (level, iova, tablePa, index, d, path) -> {
                                sb.setLength(0);
                                Fmt.appendHex(sb, iova >>> PageTableGeometry.GRANULE_SHIFT, 13);
                                sb.append(" |");
                                for (int l = 0; l <= level; l++) {
                                    sb.append("  ");
                                    Fmt.appendHex16(sb, path[l]);
                                }
                                if (decode) {
                                    sb.append("  # ").append(fmt.decode(d, level));
                                }
                                sb.append('\n');
                                w.append(sb);
                            }, progress("walking " + t.table.rel()));
                } else {
                    s = DomainScan.run(v, t.table, t.root, range[0], range[1], true, null, null,
                            progress("walking " + t.table.rel()));
                    printRanges(w, s.ranges);
                }
                problems.addAll(s.findings);
                Summary sum = summary(s);
                w.printf("%s%d leaves (%d x 1G, %d x 2M, %d x 4K), %s mapped, %d table pages walked%n",
                        raw ? "" : sum.ranges() + " ranges, ", sum.leaves(), sum.leaves1G(), sum.leaves2M(), sum.leaves4K(),
                        Fmt.size(sum.mappedBytes()), sum.tablePages());
                w.flush();
                for (Finding f : problems) {
                    err().println(f.line());
                }
            }
            boolean errors = problems.stream().anyMatch(Finding::isError);
            return errors ? ExitCodes.FOUND : ExitCodes.OK;
        }
    }

    static RangeOut rangeOut(RangeList r, int i) {
        return new RangeOut(Fmt.hex(r.iova(i)), Fmt.hex(r.end(i)), Fmt.hex(r.pa(i)), r.bytes(i), Fmt.pageName(r.level(i)),
                r.leaves(i), Prot.toString(r.prot(i)));
    }

    static Summary summary(DomainScan s) {
        return new Summary(s.ranges == null ? s.leaves() : s.ranges.size(), s.leaves(), s.mappedBytes, s.leavesByLevel[1],
                s.leavesByLevel[2], s.leavesByLevel[3], s.tablePages());
    }

    private static void rawJson(JsonGenerator g, PageTableFormat fmt, int level, long iova, long d, long[] path) {
        try {
            g.writeStartObject();
            g.writeStringField("iova", Fmt.hex(iova));
            g.writeNumberField("level", level);
            g.writeStringField("pageSize", Fmt.pageName(level));
            g.writeStringField("pa", Fmt.hex(fmt.outputAddress(d, level)));
            g.writeStringField("prot", Prot.toString(fmt.protOf(d, level)));
            g.writeArrayFieldStart("descriptors");
            for (int l = 0; l <= level; l++) {
                g.writeString(Fmt.hex16(path[l]));
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fixed-width columns (every address is printed with 12 hex digits), streamed: a million rows cost no table in memory. */
    static void printRanges(PrintWriter w, RangeList r) {
        w.println(pad("IOVA [START, END)", 29) + "  " + pad("PA [START, END)", 29) + "  " + lpad("SIZE", 10) + "  "
                + pad("PAGE", 4) + "  " + lpad("LEAVES", 8) + "  PROT");
        StringBuilder sb = new StringBuilder(128);
        for (int i = 0; i < r.size(); i++) {
            sb.setLength(0);
            Fmt.appendHex(sb, r.iova(i), 12);
            sb.append('-');
            Fmt.appendHex(sb, r.end(i), 12);
            sb.append("  ");
            Fmt.appendHex(sb, r.pa(i), 12);
            sb.append('-');
            Fmt.appendHex(sb, r.pa(i) + r.bytes(i), 12);
            sb.append("  ").append(lpad(Fmt.size(r.bytes(i)), 10));
            sb.append("  ").append(pad(Fmt.pageName(r.level(i)), 4));
            sb.append("  ").append(lpad(Long.toString(r.leaves(i)), 8));
            sb.append("  ").append(Prot.toString(r.prot(i))).append('\n');
            w.append(sb);
        }
    }

    static String pad(String s, int n) {
        return s.length() >= n ? s : s + " ".repeat(n - s.length());
    }

    static String lpad(String s, int n) {
        return s.length() >= n ? s : " ".repeat(n - s.length()) + s;
    }
}
