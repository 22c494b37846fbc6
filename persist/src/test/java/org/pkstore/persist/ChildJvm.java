package org.pkstore.persist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A child JVM started from a test: same java, class path and Chronicle flags (via {@link JavaCommand}),
 * output redirected to files (never inheritIO: it corrupts surefire's channel). The child reports
 * progress by appending lines to an ack file; only complete lines count.
 */
public final class ChildJvm implements AutoCloseable {
    /** Child JVMs open Chronicle Maps, which compile code for seconds on first use. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(45);

    private final Process process;
    private final Path ack;
    private final Path out;
    private final Path err;
    private final List<String> command;

    private ChildJvm(Process process, Path ack, Path out, Path err, List<String> command) {
        this.process = process;
        this.ack = ack;
        this.out = out;
        this.err = err;
        this.command = command;
    }

    /** Starts {@code main} with {@code args}; files go to {@code workDir} with the given prefix. */
    public static ChildJvm start(Path workDir, String prefix, Class<?> main, String... args) {
        try {
            Files.createDirectories(workDir);
            Path ack = workDir.resolve(prefix + ".ack");
            Path out = workDir.resolve(prefix + ".out");
            Path err = workDir.resolve(prefix + ".err");
            Files.deleteIfExists(ack);
            List<String> a = new ArrayList<>(List.of(args));
            a.add(0, ack.toString());
            List<String> cmd = JavaCommand.forMain(main, a.toArray(new String[0]));
            Process p = new ProcessBuilder(cmd)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            return new ChildJvm(p, ack, out, err, cmd);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Process process() { return process; }
    public long pid() { return process.pid(); }
    public Path ackFile() { return ack; }

    /** Complete (newline-terminated) ack lines so far. */
    public List<String> acks() {
        try {
            if (!Files.exists(ack)) {
                return List.of();
            }
            String s = Files.readString(ack, StandardCharsets.UTF_8);
            int end = s.lastIndexOf('\n');
            if (end < 0) {
                return List.of();
            }
            return List.of(s.substring(0, end).split("\n"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits (Awaitility) until at least {@code n} acks are in; fails at once, with its output, if the child dies. */
    public List<String> awaitAcks(int n, Duration timeout) {
        await("child " + pid() + " to acknowledge " + n + " steps")
                .atMost(timeout)
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(10))
                .until(() -> {
                    if (acks().size() >= n) {
                        return true;
                    }
                    if (!process.isAlive()) {
                        throw new AssertionError("child exited with " + process.exitValue() + " after " + acks().size()
                                + " acks\n" + describe());
                    }
                    return false;
                });
        return acks();
    }

    /** Waits (Awaitility) until an ack line equals {@code line}. */
    public void awaitAck(String line, Duration timeout) {
        await("child " + pid() + " to acknowledge '" + line + "'")
                .atMost(timeout)
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(10))
                .until(() -> {
                    if (acks().contains(line)) {
                        return true;
                    }
                    if (!process.isAlive()) {
                        throw new AssertionError("child exited with " + process.exitValue() + "\n" + describe());
                    }
                    return false;
                });
    }

    /** SIGKILL (destroyForcibly on Linux) and wait until the process is gone, so its locks are dropped. */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(30));
    }

    public int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("child " + pid() + " still running after " + timeout + "\n" + describe());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public String stdout() { return readQuietly(out); }
    public String stderr() { return readQuietly(err); }

    public String describe() {
        return "command: " + String.join(" ", command) + "\n--- stdout\n" + stdout() + "\n--- stderr\n" + stderr()
                + "\n--- acks\n" + String.join("\n", acks());
    }

    private static String readQuietly(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
