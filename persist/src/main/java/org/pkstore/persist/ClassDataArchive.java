package org.pkstore.persist;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The class-data-sharing archive a child JVM (a host after kexec, the simulated device) starts
 * with, so that it maps the classes it loads instead of parsing and verifying them again: a
 * dynamic AppCDS archive on JDK 17 ({@code -XX:ArchiveClassesAtExit} on a first run, then
 * {@code -XX:SharedArchiveFile}), the AOT cache of JEP 483/514 on JDK 24+
 * ({@code -XX:AOTCacheOutput}, then {@code -XX:AOTCache}).
 *
 * <p>Created on first use, never by hand: a launch finds no archive (or one older than the jar)
 * and trains one; the JVM writes it to a private temporary name at its exit and {@link #exited}
 * moves it into place only after a clean exit, so a killed or concurrent trainer never leaves a
 * half-written archive under the real name. A stale or mismatched archive never breaks a run: the
 * JVM checks the class path and its own build and falls back to loading classes normally. Every
 * JVM log line (CDS's warnings included) goes to stderr, because a rehearsal child answers on
 * stdout.
 *
 * <p>Only a class path of jar files is archived (the launcher's {@code -jar pkstore.jar}); a class
 * path with directories (surefire, the IDE) gets no archive flags at all. {@code PKSTORE_CDS=off}
 * in the environment (or {@code -Dpkstore.cds=off}) turns archives off, to measure without them.
 */
public final class ClassDataArchive {
    private static final AtomicLong TRAINING_RUNS = new AtomicLong();

    /**
     * Map the archives at the address they were dumped for, relocating only when that range is
     * taken. JDK 17.0.15 and 25 default to {@code ArchiveRelocationMode=1}, which relocates every
     * pointer of the base and the dynamic archive on every start (address-space randomisation of
     * the archive): measured 200 → 110 ms to {@code java -version} with the 20 MB host archive,
     * pinned to one CPU (docs/BENCHMARKS.md, "Session 5"). The flag is diagnostic in both JDKs.
     */
    static final List<String> MAP_AT_REQUESTED_ADDRESS =
            List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0");

    private final Path archive;
    private final Path training;
    private final List<String> flags;

    private ClassDataArchive(Path archive, Path training, List<String> flags) {
        this.archive = archive;
        this.training = training;
        this.flags = flags;
    }

    /** What a JVM running {@code main} with this JVM's class path should start with. */
    public static ClassDataArchive forMain(Class<?> main) {
        return forMain(main, true);
    }

    /**
     * As {@link #forMain(Class)}; without {@code mayTrain} a launch that finds no current archive
     * starts without one and leaves the training to a later launch, one whose run loads what the
     * archive should hold (a rehearsal's first host only sets up and never reattaches).
     */
    public static ClassDataArchive forMain(Class<?> main, boolean mayTrain) {
        List<String> flags = new ArrayList<>(logToStderr());
        String classPath = System.getProperty("java.class.path", "");
        Path firstJar = jarsOnly(classPath);
        String switched = System.getProperty("pkstore.cds", System.getenv("PKSTORE_CDS"));
        if (firstJar == null || "off".equalsIgnoreCase(switched)) {
            return new ClassDataArchive(null, null, flags);
        }
        int feature = Runtime.version().feature();
        boolean aotCache = feature >= 24;
        String base = firstJar.getFileName().toString().replaceFirst("\\.jar$", "");
        Path archive = firstJar.resolveSibling(base + "-" + main.getSimpleName().toLowerCase(Locale.ROOT)
                + "-jdk" + feature + (aotCache ? ".aot" : ".jsa"));
        if (isCurrent(archive, classPath)) {
            flags.addAll(MAP_AT_REQUESTED_ADDRESS);
            flags.add(aotCache ? "-XX:AOTCache=" + archive : "-XX:SharedArchiveFile=" + archive);
            return new ClassDataArchive(archive, null, flags);
        }
        if (!mayTrain) {
            return new ClassDataArchive(null, null, flags);
        }
        Path training = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid()
                + "-" + TRAINING_RUNS.incrementAndGet() + ".tmp");
        flags.add(aotCache ? "-XX:AOTCacheOutput=" + training : "-XX:ArchiveClassesAtExit=" + training);
        return new ClassDataArchive(archive, training, flags);
    }

    /** The flags for the child's command line (before its class path). */
    public List<String> flags() {
        return List.copyOf(flags);
    }

    /** Whether this launch starts from an archive (false: none, or it trains one). */
    public boolean uses() {
        return archive != null && training == null;
    }

    /**
     * How much longer than usual the child may take to exit: a training JVM writes the archive at
     * its exit (JDK 24+ even starts a second JVM to assemble the AOT cache), seconds to a minute on
     * a loaded machine. Zero when not training.
     */
    public java.time.Duration exitAllowance() {
        return training == null ? java.time.Duration.ZERO : java.time.Duration.ofMinutes(3);
    }

    /**
     * The child ended with {@code exitStatus}: a training run that exited cleanly becomes the
     * archive; anything else (killed, failed, not written) is discarded.
     */
    public void exited(int exitStatus) {
        if (training == null) {
            return;
        }
        try {
            if (exitStatus == 0 && Files.size(training) > 0) {
                Files.move(training, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.deleteIfExists(training);
            }
            // JDK 24+'s one-step training keeps the recorded configuration beside the output
            Files.deleteIfExists(training.resolveSibling(training.getFileName() + ".config"));
        } catch (IOException e) {
            // no archive this time: the next launch trains again
            try {
                Files.deleteIfExists(training);
            } catch (IOException ignored) {
                // a stray temporary file; it has a name no launch uses
            }
        }
    }

    /** JVM logging (CDS and AOT warnings included) to stderr only; stdout is the child's protocol. */
    private static List<String> logToStderr() {
        // DisplayVMOutputToStderr: the VM's own messages (an initialization error) too
        return List.of("-XX:+DisplayVMOutputToStderr", "-Xlog:disable", "-Xlog:all=warning:stderr");
    }

    /** The first jar when every class path entry is a jar, else null. */
    private static Path jarsOnly(String classPath) {
        if (classPath.isBlank()) {
            return null;
        }
        Path first = null;
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            if (!entry.endsWith(".jar") || !Files.isRegularFile(Path.of(entry))) {
                return null;
            }
            if (first == null) {
                first = Path.of(entry).toAbsolutePath();
            }
        }
        return first;
    }

    /** The archive exists and is newer than every jar on the class path (the JVM checks the rest). */
    private static boolean isCurrent(Path archive, String classPath) {
        try {
            if (!Files.isRegularFile(archive) || Files.size(archive) == 0) {
                return false;
            }
            FileTime made = Files.getLastModifiedTime(archive);
            for (String entry : classPath.split(java.io.File.pathSeparator)) {
                if (Files.getLastModifiedTime(Path.of(entry)).compareTo(made) > 0) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
