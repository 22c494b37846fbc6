package org.pkstore.bench;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Runs the benchmarks: {@code java -jar bench/target/benchmarks.jar quick|full [--group G]...
 * [--only REGEX] [--out DIR]} (bench/run wraps it).
 *
 * <p>Three JMH invocations, one per group, because each group needs its own run configuration;
 * inside a group every figure and its baselines run in the same invocation with the same fork and
 * iteration settings:
 * <ul>
 *   <li>{@code hotpath}: map, unmap, translate, IOTLB, walk/verify, with the GC profiler
 *       ({@code gc.alloc.rate.norm} = bytes allocated per operation);</li>
 *   <li>{@code reattach}: reattach and replay rebuild at 1K/100K/1M, single-shot invocations;</li>
 *   <li>{@code startup}: JVM start, first and second Chronicle Map open, cold reattach: 0 warm-up,
 *       1 invocation per fork, many forks.</li>
 * </ul>
 * Forked JVMs get the Chronicle flags from the root pom's {@code pkstore.jvm.flags} (filtered into
 * {@code jvm.flags} in this jar at build time) through {@code jvmArgsAppend}, adjusted to the JDK
 * that runs: JDK 24+ adds {@code --enable-native-access=ALL-UNNAMED
 * --sun-misc-unsafe-memory-access=allow}; JDK &lt; 24 drops the latter (it rejects it).
 */
public final class BenchMain {
    private BenchMain() {}

    static final String PKG = "org.pkstore.bench.";

    enum Group {
        HOTPATH("hotpath", "(MapBench|UnmapBench|TranslateBench|IotlbBench|WalkBench)\\."),
        REATTACH("reattach", "(ReattachBench|KernelReattachBench)\\."),
        STARTUP("startup", "StartupBench\\.");

        final String name;
        final String regex;

        Group(String name, String regex) {
            this.name = name;
            this.regex = regex;
        }
    }

    public static void main(String[] args) throws RunnerException, IOException {
        if (args.length == 0 || !(args[0].equals("quick") || args[0].equals("full") || args[0].equals("smoke"))) {
            System.err.println("usage: BenchMain quick|full|smoke [--group hotpath|reattach|startup]... [--only REGEX] [--out DIR] [--param NAME=V1,V2] [--prof NAME[:OPTS]]");
            System.exit(2);
        }
        String profile = args[0];
        boolean quick = !profile.equals("full");
        boolean smoke = profile.equals("smoke");
        List<Group> groups = new ArrayList<>();
        String only = null;
        Map<String, String[]> params = new LinkedHashMap<>();
        List<String> profilers = new ArrayList<>();
        Path out = Path.of("bench", "target", "bench-results");
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--group":
                    String g = args[++i];
                    groups.add(Arrays.stream(Group.values()).filter(x -> x.name.equals(g)).findFirst()
                            .orElseThrow(() -> new IllegalArgumentException("unknown group " + g)));
                    break;
                case "--only":
                    only = args[++i];
                    break;
                case "--param": // diagnostics: NAME=V1,V2 overrides a @Param
                    String[] kv = args[++i].split("=", 2);
                    params.put(kv[0], kv[1].split(","));
                    break;
                case "--prof": // diagnostics: an extra JMH profiler, e.g. perfnorm
                    profilers.add(args[++i]);
                    break;
                case "--out":
                    out = Path.of(args[++i]);
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (groups.isEmpty()) {
            groups.addAll(Arrays.asList(Group.values()));
        }
        out = out.toAbsolutePath();
        Files.createDirectories(out);
        Files.deleteIfExists(out.resolve("memory.txt"));
        Path tmp = out.resolve("tmp");
        Files.createDirectories(tmp);

        List<String> flags = forkFlags();
        String stamp = ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
        System.out.println("# pkstore bench, profile " + profile + ", " + stamp);
        System.out.println("# JDK " + System.getProperty("java.vm.name") + " " + Runtime.version() + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch"));
        System.out.println("# fork flags: " + String.join(" ", flags));

        Map<Group, Collection<RunResult>> results = new LinkedHashMap<>();
        for (Group g : groups) {
            // --only narrows the group: both must match the benchmark's full name
            String include = (only != null ? "(?=.*(" + only + "))" : "") + Pattern.quote(PKG) + g.regex;
            List<String> forkArgs = new ArrayList<>(flags);
            forkArgs.add("-Dpkstore.bench.out=" + out);
            forkArgs.add("-Dpkstore.bench.tmp=" + tmp);
            ChainedOptionsBuilder o = new OptionsBuilder()
                    .include(include)
                    .jvmArgsAppend(forkArgs.toArray(new String[0])) // one call: a second one replaces the first
                    .shouldFailOnError(true)
                    .resultFormat(ResultFormatType.JSON)
                    .result(out.resolve(profile + "-" + g.name + (only != null ? "-only" : "") + ".json").toString());
            switch (g) {
                case HOTPATH:
                    o.addProfiler(GCProfiler.class)
                            .forks(quick ? 1 : 2)
                            .warmupIterations(quick ? 2 : 3).warmupTime(TimeValue.seconds(1))
                            .measurementIterations(quick ? 3 : 5).measurementTime(TimeValue.seconds(1));
                    break;
                case REATTACH:
                    o.forks(quick ? 1 : 2)
                            .warmupIterations(quick ? 10 : 20)
                            .measurementIterations(quick ? 10 : 20);
                    break;
                case STARTUP:
                    o.forks(quick ? 3 : 6).warmupIterations(0).measurementIterations(1);
                    break;
                default:
                    throw new AssertionError(g);
            }
            params.forEach(o::param);
            for (String p : profilers) {
                String[] pa = p.split(":", 2);
                if (pa.length == 2) {
                    o.addProfiler(pa[0], pa[1]);
                } else {
                    o.addProfiler(pa[0]);
                }
            }
            if (smoke) {
                // does every benchmark run and check itself? The numbers mean nothing.
                o.forks(1).warmupIterations(g == Group.STARTUP ? 0 : 1).measurementIterations(1)
                        .warmupTime(TimeValue.milliseconds(200)).measurementTime(TimeValue.milliseconds(200));
            }
            System.out.println("# group " + g.name + ": " + include);
            try {
                results.put(g, new Runner(o.build()).run());
            } catch (RunnerException | RuntimeException e) {
                if (String.valueOf(e.getMessage()).contains("No benchmarks to run")) {
                    System.out.println("# group " + g.name + ": no benchmark matches, skipped");
                    continue;
                }
                throw e;
            }
        }

        String summary = Summary.render(profile, stamp, flags, results, out.resolve("memory.txt"));
        StringBuilder tag = new StringBuilder(profile);
        if (groups.size() < Group.values().length) {
            groups.forEach(g -> tag.append('-').append(g.name));
        }
        Path summaryFile = out.resolve(tag + "-summary.md");
        Files.writeString(summaryFile, summary, StandardCharsets.UTF_8);
        PrintStream ps = System.out;
        ps.println();
        ps.println(summary);
        ps.println("# results: " + out);
    }

    /** The Chronicle flags for forks, from the jar's filtered jvm.flags, adjusted to this JDK. */
    static List<String> forkFlags() throws IOException {
        String raw;
        try (InputStream in = BenchMain.class.getResourceAsStream("jvm.flags")) {
            if (in == null) {
                throw new IllegalStateException("jvm.flags missing from the benchmarks jar: build with mvn");
            }
            raw = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        if (raw.contains("${")) {
            throw new IllegalStateException("jvm.flags was not filtered by the build: " + raw);
        }
        List<String> flags = new ArrayList<>();
        int feature = Runtime.version().feature();
        for (String f : raw.split("\\s+")) {
            if (f.isEmpty()) {
                continue;
            }
            if (feature < 24 && f.startsWith("--sun-misc-unsafe-memory-access")) {
                continue;
            }
            flags.add(f);
        }
        if (feature >= 24) {
            addIfAbsent(flags, "--enable-native-access=ALL-UNNAMED");
            addIfAbsent(flags, "--sun-misc-unsafe-memory-access=allow");
        }
        List<String> all = new ArrayList<>(flags);
        // child JVMs the benchmarks start (JavaCommand) read the same flags from this property
        all.add("-Dpkstore.jvm.flags=" + String.join(" ", flags));
        all.add("-Xms1g");
        all.add("-Xmx1g");
        return all;
    }

    private static void addIfAbsent(List<String> flags, String f) {
        String key = f.substring(0, f.indexOf('='));
        if (flags.stream().noneMatch(x -> x.startsWith(key))) {
            flags.add(f);
        }
    }

    static final Pattern NAME = Pattern.compile(".*\\.");

    static String shortName(RunResult r) {
        String b = r.getParams().getBenchmark();
        String cls = b.substring(0, b.lastIndexOf('.'));
        return cls.substring(cls.lastIndexOf('.') + 1) + "." + b.substring(b.lastIndexOf('.') + 1);
    }

    static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.3e", v);
        }
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static Result<?> secondary(RunResult r, String suffix) {
        for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
            if (e.getKey().endsWith(suffix)) {
                return e.getValue();
            }
        }
        return null;
    }
}
