package org.pkstore.bench;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.pkstore.bench.BenchMain.fmt;
import static org.pkstore.bench.BenchMain.secondary;
import static org.pkstore.bench.BenchMain.shortName;

/** The markdown summary BenchMain prints and writes: every figure, then ratios against the targets. */
final class Summary {
    private Summary() {}

    private static final String[] FORMATS = {"vtd-sl", "arm-lpae-s2"};

    static String render(String profile, String stamp, List<String> flags, Map<BenchMain.Group, Collection<RunResult>> results,
                         Path memoryFile) throws IOException {
        List<RunResult> all = new ArrayList<>();
        results.values().forEach(all::addAll);
        StringBuilder sb = new StringBuilder();
        sb.append("## pkstore bench, profile ").append(profile).append('\n');
        sb.append('\n').append("- date: ").append(stamp).append('\n');
        sb.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ').append(Runtime.version()).append('\n');
        sb.append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
                .append(Runtime.getRuntime().maxMemory() >> 20).append(" MiB max heap in the runner; ")
                .append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.arch")).append('\n');
        sb.append('\n');
        sb.append("| benchmark | format | mappings | score | ± error (99.9%) | unit | gc.alloc.rate.norm (B/op) |\n");
        sb.append("| --- | --- | --- | ---: | ---: | --- | ---: |\n");
        for (RunResult r : all) {
            Result<?> p = r.getPrimaryResult();
            Result<?> alloc = secondary(r, "gc.alloc.rate.norm");
            String f = param(r, "format");
            String m = param(r, "mappings");
            sb.append("| ").append(shortName(r)).append(" | ").append(f == null ? "" : f).append(" | ")
                    .append(m == null ? "" : m).append(" | ").append(fmt(p.getScore())).append(" | ")
                    .append(fmt(p.getScoreError())).append(" | ").append(p.getScoreUnit()).append(" | ")
                    .append(alloc == null ? "" : fmt(alloc.getScore())).append(" |\n");
        }

        sb.append("\n### Ratios against the targets\n\n");
        for (String f : FORMATS) {
            sb.append("**").append(f).append("**\n\n");
            ratio(sb, "translate: pkstore / heap radix (ns/op; target <= 2)",
                    score(all, "TranslateBench.translate_pkstore", f, null), score(all, "TranslateBench.translate_heap", f, null));
            ratio(sb, "translate (device path): pkstoreDevice / heap radix (ns/op)",
                    score(all, "TranslateBench.translate_pkstoreDevice", f, null), score(all, "TranslateBench.translate_heap", f, null));
            ratio(sb, "translate (diagnostic, plain loads): pkstorePlainReads / heap radix (ns/op)",
                    score(all, "TranslateBench.translate_pkstorePlainReads", f, null), score(all, "TranslateBench.translate_heap", f, null));
            ratio(sb, "translate: cmap / pkstore (ns/op)",
                    score(all, "TranslateBench.translate_cmap", f, null), score(all, "TranslateBench.translate_pkstore", f, null));
            ratio(sb, "map 4K per call: heap / pkstore (pages/s; target <= 2)",
                    score(all, "MapBench.map4k_heap", f, null), score(all, "MapBench.map4k_pkstore", f, null));
            ratio(sb, "map 1G split to 4K: heap / pkstore (pages/s; target <= 2)",
                    score(all, "MapBench.map1gAs4k_heap", f, null), score(all, "MapBench.map1gAs4k_pkstore", f, null));
            ratio(sb, "map 2M: heap / pkstore (pages/s)",
                    score(all, "MapBench.map2m_heap", f, null), score(all, "MapBench.map2m_pkstore", f, null));
            ratio(sb, "map 1G: heap / pkstore (pages/s)",
                    score(all, "MapBench.map1g_heap", f, null), score(all, "MapBench.map1g_pkstore", f, null));
            ratio(sb, "map 4K per call: pkstore / cmap (pages/s; target >= 5)",
                    score(all, "MapBench.map4k_pkstore", f, null), score(all, "MapBench.map4k_cmap", f, null));
            ratio(sb, "unmap 4K per call: heap / pkstore (pages/s)",
                    score(all, "UnmapBench.unmap4k_heap", f, null), score(all, "UnmapBench.unmap4k_pkstore", f, null));
            ratio(sb, "unmap 4K per call (diagnostic): descending / ascending pkstore (pages/s)",
                    score(all, "UnmapBench.unmap4kDescending_pkstore", f, null), score(all, "UnmapBench.unmap4k_pkstore", f, null));
            ratio(sb, "unmap 4K per call: pkstore / cmap (pages/s)",
                    score(all, "UnmapBench.unmap4k_pkstore", f, null), score(all, "UnmapBench.unmap4k_cmap", f, null));
            ratio(sb, "unmap 1G of 4K in one call: heap / pkstore (pages/s)",
                    score(all, "UnmapBench.unmap1gOf4k_heap", f, null), score(all, "UnmapBench.unmap1gOf4k_pkstore", f, null));
            ratio(sb, "unmap 2M: heap / pkstore (pages/s)",
                    score(all, "UnmapBench.unmap2m_heap", f, null), score(all, "UnmapBench.unmap2m_pkstore", f, null));
            ratio(sb, "unmap 1G: heap / pkstore (pages/s)",
                    score(all, "UnmapBench.unmap1g_heap", f, null), score(all, "UnmapBench.unmap1g_pkstore", f, null));
            ratio(sb, "reattach 1M / 1K (target <= 1.5)",
                    score(all, "ReattachBench.reattach_pkstore", f, "1000000"), score(all, "ReattachBench.reattach_pkstore", f, "1000"));
            ratio(sb, "attachOnly 1M / 1K",
                    score(all, "ReattachBench.attachOnly_pkstore", f, "1000000"), score(all, "ReattachBench.attachOnly_pkstore", f, "1000"));
            ratio(sb, "replay rebuild / reattach at 1M (target >= 100)",
                    score(all, "ReattachBench.replay_rebuild", f, "1000000"), score(all, "ReattachBench.reattach_pkstore", f, "1000000"));
            ratio(sb, "replayOnly / attachOnly at 1M",
                    score(all, "ReattachBench.replayOnly_rebuild", f, "1000000"), score(all, "ReattachBench.attachOnly_pkstore", f, "1000000"));
            ratio(sb, "kernel: replay boot / persistent boot at 1M",
                    score(all, "KernelReattachBench.kernelReplay_rebuild", f, "1000000"),
                    score(all, "KernelReattachBench.kernelReattach_pkstore", f, "1000000"));
            double worst = 0;
            String worstName = null;
            for (RunResult r : all) {
                String n = shortName(r);
                if (!f.equals(param(r, "format")) || !n.endsWith("_pkstore")
                        || !(n.startsWith("MapBench") || n.startsWith("UnmapBench") || n.startsWith("TranslateBench"))) {
                    continue;
                }
                Result<?> a = secondary(r, "gc.alloc.rate.norm");
                if (a != null && (worstName == null || a.getScore() > worst)) {
                    worst = a.getScore();
                    worstName = n;
                }
            }
            if (worstName != null) {
                sb.append("- largest gc.alloc.rate.norm of the pkstore map/unmap/translate benchmarks: ")
                        .append(fmt(worst)).append(" B/op (").append(worstName).append("; target ~0)\n");
            }
            sb.append('\n');
        }
        if (Files.exists(memoryFile)) {
            sb.append("### Page-table memory (from the benchmark setups)\n\n");
            Files.readAllLines(memoryFile).stream().distinct().forEach(l -> sb.append("- ").append(l).append('\n'));
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void ratio(StringBuilder sb, String what, double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b)) {
            return;
        }
        sb.append("- ").append(what).append(": ").append(String.format(Locale.ROOT, "%.2f", a / b))
                .append(" (").append(fmt(a)).append(" vs ").append(fmt(b)).append(")\n");
    }

    static String param(RunResult r, String name) {
        try {
            return r.getParams().getParam(name);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static double score(List<RunResult> all, String shortName, String format, String mappings) {
        for (RunResult r : all) {
            if (shortName(r).equals(shortName) && format.equals(param(r, "format"))
                    && (mappings == null || mappings.equals(param(r, "mappings")))) {
                return r.getPrimaryResult().getScore();
            }
        }
        return Double.NaN;
    }
}
