package org.pkstore.vfio.uapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test helper: compile and run the C programs in {@code src/test/c} with gcc. Tests that use it
 * are skipped (JUnit assumption) when gcc is not installed; any other failure fails the test.
 */
public final class CTestTool {
    private CTestTool() {}

    private static Boolean gccPresent;

    /** {@code iommu-model/src/test/c}. */
    public static Path cDir() {
        Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Path dir = base.resolve("src/test/c");
        if (!Files.isDirectory(dir)) {
            dir = base.resolve("iommu-model/src/test/c");
        }
        assertTrue(Files.isDirectory(dir), "C sources not found from " + base.toAbsolutePath());
        return dir;
    }

    /** Skip the calling test unless {@code gcc --version} runs. */
    public static synchronized void assumeGcc() {
        if (gccPresent == null) {
            try {
                Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                gccPresent = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                gccPresent = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                gccPresent = false;
            }
        }
        assumeTrue(gccPresent, "gcc not installed: C cross-check skipped");
    }

    /** Compile {@code src/test/c/<source>} to {@code outDir/<exe>}; fails the test on compiler errors. */
    public static Path compile(Path outDir, String source, String exe, String... extraFlags) throws Exception {
        assumeGcc();
        Path src = cDir().resolve(source);
        Path out = outDir.resolve(exe);
        List<String> cmd = new ArrayList<>(List.of("gcc", "-std=c11", "-O0", "-Wall", "-Wextra", "-Werror",
                "-I" + cDir().toAbsolutePath()));
        cmd.addAll(List.of(extraFlags));
        cmd.addAll(List.of(src.toAbsolutePath().toString(), "-o", out.toAbsolutePath().toString()));
        Result r = run(cmd);
        assertEquals(0, r.exit, "gcc failed: " + String.join(" ", cmd) + "\n" + r.output);
        return out;
    }

    /** Run a command, return exit code and combined output. */
    public static Result run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** Exit code and output of a process. */
    public static final class Result {
        public final int exit;
        public final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }
}
