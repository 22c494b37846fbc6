package org.pkstore.rehearse;

import org.pkstore.persist.ClassDataArchive;
import org.pkstore.persist.JavaCommand;
import org.pkstore.rehearse.protocol.Command;
import org.pkstore.rehearse.protocol.MessageCodec;
import org.pkstore.rehearse.protocol.ReplyLine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A child JVM (a host kernel, a simulated device) driven through its stdin/stdout pipes with the
 * rehearsal protocol ({@link Command}): one command line in, one reply line out; its stderr goes to
 * a log file. Killing it with {@link #sigkill()} is a real SIGKILL: no shutdown hook, no finally
 * block runs. (Not persist's test {@code ChildJvm}, which reports through an ack file.)
 */
public final class PipedJvm implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Writer in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Path log;
    private final long startNanos;
    private final ClassDataArchive archive;

    private PipedJvm(String name, Process process, Path log, long startNanos, ClassDataArchive archive) {
        this.name = name;
        this.archive = archive;
        this.process = process;
        this.log = log;
        this.startNanos = startNanos;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the child died; waiters see the end below
            }
            lines.add(EOF);
        }, name + "-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    private static final String EOF = "\u0000EOF";

    public static PipedJvm start(String name, Class<?> main, Path log, String... args) {
        return start(name, main, List.of(), log, UnaryOperator.identity(), args);
    }

    /** As {@link #start(String, Class, Path, String...)}, the command line passed through {@code wrap} (a CPU pinning's taskset prefix). */
    public static PipedJvm start(String name, Class<?> main, Path log, UnaryOperator<List<String>> wrap, String... args) {
        return start(name, main, List.of(), log, wrap, args);
    }

    /** As {@link #start(String, Class, Path, String...)} with more JVM flags (e.g. {@link JavaCommand#SHORT_LIVED_FLAGS}). */
    public static PipedJvm start(String name, Class<?> main, List<String> flags, Path log, String... args) {
        return start(name, main, flags, log, UnaryOperator.identity(), args);
    }

    /** With more JVM flags and the command line passed through {@code wrap}. */
    public static PipedJvm start(String name, Class<?> main, List<String> flags, Path log, UnaryOperator<List<String>> wrap,
                                 String... args) {
        // the class-data archive: used when current, else trained by this child's clean exit
        return start(name, main, ClassDataArchive.forMain(main), flags, log, wrap, args);
    }

    /** As {@link #start(String, Class, List, Path, UnaryOperator, String...)} with the child's class-data archive chosen by the caller. */
    public static PipedJvm start(String name, Class<?> main, ClassDataArchive archive, List<String> flags, Path log,
                                 UnaryOperator<List<String>> wrap, String... args) {
        List<String> all = new ArrayList<>(archive.flags());
        all.addAll(flags);
        ProcessBuilder pb = new ProcessBuilder(wrap.apply(JavaCommand.forMain(main, all, args)));
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        try {
            long t0 = System.nanoTime();
            return new PipedJvm(name, pb.start(), log, t0, archive);
        } catch (IOException e) {
            throw new RehearsalException("cannot start " + name + ": " + e.getMessage(), e);
        }
    }

    public String name() { return name; }
    public long pid() { return process.pid(); }
    public Path log() { return log; }
    public long startNanos() { return startNanos; }
    public boolean isAlive() { return process.isAlive(); }
    /** Whether this JVM started from a class-data archive (false: none, or it is training one). */
    public boolean classDataArchive() { return archive.uses(); }

    /** Whether this JVM writes a class-data archive when it exits (the first run after a build). */
    public boolean trainsClassDataArchive() { return !archive.exitAllowance().isZero(); }

    /** Waits for the next line the child prints; null when it ended or on time-out. */
    public String readLine(Duration timeout) {
        try {
            String s = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (s == null || s.equals(EOF)) {
                if (s != null) {
                    lines.add(EOF); // keep the end visible to later readers
                }
                return null;
            }
            return s;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Sends a command and decodes its reply.
     *
     * @throws RehearsalException when the child refuses ({@code ERR}: the message has its reason),
     *                            dies, or does not answer within {@code timeout}
     */
    public <R> R call(Command<R> command, Duration timeout) {
        String reply = callRaw(MessageCodec.encodeCommand(command), Command.nameOf(command), timeout);
        if (!ReplyLine.isOk(reply)) {
            throw new RehearsalException(name + " refused '" + Command.nameOf(command) + "': " + reply + " (log: " + log + ")");
        }
        try {
            return ReplyLine.decode(MessageCodec.of(command.replyType()), reply);
        } catch (IllegalArgumentException e) {
            throw new RehearsalException("bad reply from " + name + " to '" + Command.nameOf(command) + "': " + reply, e);
        }
    }

    /** Sends a line and waits for the one-line reply. */
    private String callRaw(String line, String commandName, Duration timeout) {
        send(line);
        String reply = readLine(timeout);
        if (reply == null) {
            String how;
            try {
                // an output that ended means the JVM is going: give it a moment to say how
                how = process.waitFor(5, TimeUnit.SECONDS) ? "exited with status " + process.exitValue()
                        : "gave no reply within " + timeout.toSeconds() + " s";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                how = "interrupted";
            }
            throw new RehearsalException(name + " (pid " + pid() + ") " + how + " on '" + commandName
                    + "'; see " + log);
        }
        return reply;
    }

    /** Sends a command without waiting for its reply (the child may be about to freeze or end). */
    public void send(Command<?> command) {
        send(MessageCodec.encodeCommand(command));
    }

    private void send(String line) {
        try {
            in.write(line);
            in.write('\n');
            in.flush();
        } catch (IOException e) {
            throw new RehearsalException(name + " (pid " + pid() + ") is gone: " + e.getMessage() + "; see " + log, e);
        }
    }

    /**
     * SIGKILL, as a crash kexec does: the JVM gets no chance to clean up. Returns the exit status,
     * 137 (128 + SIGKILL) when the signal is what ended it.
     */
    public int sigkill() {
        process.destroyForcibly();
        return waitFor(Duration.ofSeconds(30));
    }

    /** Waits for the exit; a JVM training its class-data archive gets that archive's extra time. */
    public int waitFor(Duration timeout) {
        timeout = timeout.plus(archive.exitAllowance());
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new RehearsalException(name + " (pid " + pid() + ") did not exit within " + timeout.toSeconds() + " s");
            }
            int status = process.exitValue();
            archive.exited(status);
            return status;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RehearsalException("interrupted waiting for " + name, e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!process.isAlive()) {
            archive.exited(process.exitValue());
        }
    }
}
