package org.pkstore.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.pkstore.persist.JavaCommand;
import org.pkstore.persist.registry.Registries;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The fixed costs of a boot that the warm {@link ReattachBench} figures leave out, each in a fresh
 * JMH fork (run with 0 warm-up and 1 measured invocation per fork, many forks: BenchMain's startup
 * group):
 * <ul>
 *   <li>{@code jvmStart}: start a child JVM with the same flags and class path (JavaCommand, as the
 *       project starts its hosts) running an empty main, and wait for it to exit;</li>
 *   <li>{@code registryFirstOpen}: the first {@link Registries#openLive} (9 Chronicle Maps) in a JVM
 *       that has not loaded Chronicle Map yet: Chronicle generates and compiles code at run time;</li>
 *   <li>{@code registrySecondOpen}: the same open after one open and close in this JVM;</li>
 *   <li>{@code coldReattach}: the whole ReattachBench sequence for a 1 Mi-mapping domain, as the
 *       first thing a fresh JVM does (the mount was prepared by a child JVM).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class StartupBench {
    static final long COLD_MAPPINGS = 1_000_000;

    private Path dir;
    private Path mountDir;
    private Registries opened;

    static void runChild(String... args) {
        List<String> cmd = JavaCommand.forMain(Child.class, args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException("child " + String.join(" ", args) + " exited " + rc);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot start child JVM: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        String m = params.getBenchmark();
        m = m.substring(m.lastIndexOf('.') + 1);
        dir = Fixtures.tempDir("startup");
        mountDir = dir.resolve("mount");
        switch (m) {
            case "registryFirstOpen":
                runChild("mount", mountDir.toString());
                break;
            case "registrySecondOpen":
                runChild("mount", mountDir.toString());
                Registries.openLive(mountDir, false).close();
                break;
            default:
                break;
        }
    }

    @TearDown(Level.Iteration)
    public void closeOpened() {
        if (opened != null) {
            opened.close();
            opened = null;
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        Fixtures.deleteTree(dir);
    }

    @Benchmark
    public void jvmStart() {
        runChild("noop");
    }

    @Benchmark
    public Registries registryFirstOpen() {
        opened = Registries.openLive(mountDir, false);
        return opened;
    }

    @Benchmark
    public Registries registrySecondOpen() {
        opened = Registries.openLive(mountDir, false);
        return opened;
    }

    /** The 1 Mi-mapping domain of coldReattach, per format, prepared by a child JVM. */
    @State(Scope.Thread)
    public static class Cold {
        @Param({"vtd-sl", "arm-lpae-s2"})
        public String format;

        Path dir;
        Path mountDir;

        @Setup(Level.Trial)
        public void setup() {
            dir = Fixtures.tempDir("cold");
            mountDir = dir.resolve("mount");
            runChild("domain", mountDir.toString(), format, Long.toString(COLD_MAPPINGS));
        }

        @TearDown(Level.Trial)
        public void close() {
            Fixtures.deleteTree(dir);
        }
    }

    @Benchmark
    public long coldReattach(Cold cold) {
        return Domains.reattach(cold.mountDir, Fixtures.format(cold.format), COLD_MAPPINGS);
    }
}
