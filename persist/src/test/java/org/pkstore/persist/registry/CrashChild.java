package org.pkstore.persist.registry;

import net.openhft.chronicle.map.ChronicleMap;
import org.pkstore.persist.MountLockedException;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Main class of the child JVMs the kill tests start (and SIGKILL). Usage:
 * {@code CrashChild ACKFILE MODE MOUNTDIR [N]}. Every acknowledgement is one line appended to
 * ACKFILE with an unbuffered write, after the step it acknowledges is complete; a line is in the
 * page cache when write returns, so it survives SIGKILL.
 *
 * <ul>
 *   <li>{@code hold}: mount read-write, ack "mounted GEN", wait forever;</li>
 *   <li>{@code try-mount}: try to mount read-write; if refused, ack the exception's message and exit 3;</li>
 *   <li>{@code journal}: mount, begin an intent (op 0x77, payload "intent-payload"), ack "begun", wait;</li>
 *   <li>{@code steps N}: mount, do workload steps 1..N acking "STEP PA" after each (N = 0: until
 *       1,000,000), then ack "done" and wait;</li>
 *   <li>{@code holdlock N}: steps 1..N, then take the Chronicle segment write lock of container key 1
 *       and keep it, ack "locked", wait;</li>
 *   <li>{@code stop-at STEP FILE [cold]}: warm Chronicle up on a scratch directory (unless
 *       {@code cold}), ack "mounting", mount read-write, and when the registry open path reaches
 *       {@link Registry.OpenStep} STEP on the file named FILE, ack "at STEP PATH MS" (MS: since the
 *       mount started) and wait there; if the mount completes first, ack "mounted GEN MS" and wait;</li>
 *   <li>{@code legacy-recover}: what earlier versions did at a recovering boot, Chronicle recovery
 *       of the live {@code containers.cmap} in place; at the first damage it repairs, ack
 *       "repairing" and wait there (so the live file is left NOT_COMPLETE).</li>
 * </ul>
 */
public final class CrashChild {
    public static final int JOURNAL_OP = 0x77;
    public static final String JOURNAL_PAYLOAD = "intent-payload";

    private CrashChild() {}

    public static void main(String[] args) throws Exception {
        Path ackFile = Path.of(args[0]);
        String mode = args[1];
        Path dir = Path.of(args[2]);
        try (FileOutputStream ack = new FileOutputStream(ackFile.toFile(), true)) {
            switch (mode) {
                case "hold" -> {
                    PkernfsMount m = PkernfsMount.mountReadWrite(dir);
                    ack(ack, "mounted " + m.generation());
                    park();
                }
                case "try-mount" -> {
                    try {
                        PkernfsMount m = PkernfsMount.mountReadWrite(dir);
                        ack(ack, "mounted " + m.generation());
                        m.close();
                        System.exit(0);
                    } catch (MountLockedException e) {
                        ack(ack, e.getMessage());
                        System.exit(3);
                    }
                }
                case "journal" -> {
                    PkernfsMount m = PkernfsMount.mountReadWrite(dir);
                    m.journal().begin(JOURNAL_OP, JOURNAL_PAYLOAD.getBytes(StandardCharsets.UTF_8));
                    ack(ack, "begun " + m.journal().sequence());
                    park();
                }
                case "steps", "holdlock" -> {
                    long n = args.length > 3 ? Long.parseLong(args[3]) : 0;
                    PkernfsMount m = PkernfsMount.mountReadWrite(dir);
                    PageTableFile f = Workload.table(m);
                    long last = n > 0 ? n : 1_000_000;
                    for (long s = 1; s <= last; s++) {
                        long pa = Workload.step(m, f, s);
                        ack(ack, s + " " + pa);
                    }
                    if (mode.equals("holdlock")) {
                        try (var c = m.registries().containers.chronicleMap().queryContext(1L)) {
                            c.writeLock().lock();
                            ack(ack, "locked");
                            park();
                        }
                    }
                    ack(ack, "done");
                    park();
                }
                case "stop-at" -> {
                    Registry.OpenStep step = Registry.OpenStep.valueOf(args[3]);
                    String fileName = args[4];
                    if (!(args.length > 5 && args[5].equals("cold"))) {
                        warmUp(dir);
                    }
                    ack(ack, "mounting");
                    long t0 = System.nanoTime();
                    Registry.openSteps = (reached, file) -> {
                        if (reached == step && file.getFileName().toString().equals(fileName)) {
                            ackUnchecked(ack, "at " + reached + " " + file + " " + millisSince(t0));
                            parkUnchecked();
                        }
                    };
                    PkernfsMount m = PkernfsMount.mountReadWrite(dir);
                    ack(ack, "mounted " + m.generation() + " " + millisSince(t0));
                    park();
                }
                case "legacy-recover" -> {
                    Path live = Registries.fileOf(dir, "containers");
                    ChronicleMap.of(Long.class, byte[].class).name("containers").entries(1 << 12).averageValueSize(64)
                            .recoverPersistedTo(live.toFile(), true, damage -> {
                                ackUnchecked(ack, "repairing " + damage.message());
                                parkUnchecked();
                            }).close();
                    ack(ack, "no damage");
                    park();
                }
                default -> throw new IllegalArgumentException("unknown mode " + mode);
            }
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(2);
        }
    }

    private static void ack(FileOutputStream ack, String line) throws IOException {
        ack.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void ackUnchecked(FileOutputStream ack, String line) {
        try {
            ack(ack, line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void park() throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE); // until SIGKILLed
    }

    private static void parkUnchecked() {
        try {
            park();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /**
     * Chronicle generates and compiles code on the first map a JVM creates and the first it
     * recovers (seconds on a loaded machine); doing both on a scratch directory first leaves the
     * mount's own time to recovery.
     */
    static void warmUp(Path mountDir) throws IOException {
        Path scratch = Files.createTempDirectory(mountDir.getParent(), "warm-up");
        Registries.openLive(scratch, false).close();
        Registries.openLive(scratch, true).close(); // recovery generates code of its own
        try (var files = Files.walk(scratch)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
