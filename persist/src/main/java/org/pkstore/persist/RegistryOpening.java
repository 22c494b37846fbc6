package org.pkstore.persist;

import org.pkstore.persist.registry.Registries;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ExecutionException;

/**
 * The writer's opening of the Chronicle Map registries (recovering them after an unclean end):
 * inline, or on a background thread made by the mount and started once the open is released: by the
 * first caller that needs them ({@link #await}, {@link #settle}) or by {@link #release} (the
 * kernel's record mode releases it when the VMM's reattach is done, so that the open does not take
 * the CPU the reattach needs). {@link #await} is where a caller that
 * needs a registry waits; the span of the open itself is kept for the report (docs/LIVE-UPDATE.md,
 * boot order). The thread is started by the release, not by the mount: its start (a clone, a
 * stack) is then off the mount's path too.
 *
 * <p>When crash points are armed ({@link PersistentStores}, single-threaded by design) the open is
 * always inline, so that the counted stores keep one order.
 */
final class RegistryOpening {
    private final CompletableFuture<Registries> opened = new CompletableFuture<>();
    /** A background open starts once released: by {@link #release}, or by the first {@link #await} or {@link #settle}. */
    private final AtomicBoolean released = new AtomicBoolean();
    private final boolean background;
    /** The background open's thread, not started until released; null for an inline open. */
    private volatile Thread thread;
    private volatile long startNanos;
    private volatile long endNanos;
    private volatile long waitedNanos;

    private RegistryOpening(boolean background) {
        this.background = background;
    }

    /** Whether a mount that asks for a background open gets one (crash points armed: never). */
    static boolean inBackground(boolean requested) {
        return requested && !PersistentStores.armed();
    }

    /**
     * @param sealsToCheck registries whose content the boot's check left to this open
     *                     ({@link MountAcceptance#assessForBoot}): checked before any registry is opened
     */
    static RegistryOpening start(Path dir, boolean recover, long generation, boolean background,
                                 List<MountAcceptance.DeferredSeal> sealsToCheck) {
        RegistryOpening o = new RegistryOpening(inBackground(background));
        if (o.background) {
            o.thread = new Thread(() -> o.open(dir, recover, generation, sealsToCheck), "pkstore-registry-open");
            o.thread.setDaemon(true);
        } else {
            o.open(dir, recover, generation, sealsToCheck);
            Throwable failure = o.failure();
            if (failure instanceof RuntimeException) {
                throw (RuntimeException) failure;
            }
            if (failure instanceof Error) {
                throw (Error) failure;
            }
        }
        return o;
    }

    /** Lets a background open start (idempotent); a caller that waits for the registries releases it too. */
    void release() {
        if (thread != null && released.compareAndSet(false, true)) {
            thread.start();
        }
    }

    private void open(Path dir, boolean recover, long generation, List<MountAcceptance.DeferredSeal> sealsToCheck) {
        startNanos = System.nanoTime();
        try {
            checkContent(sealsToCheck);
            opened.complete(Registries.openLive(dir, recover, generation));
        } catch (RuntimeException | Error e) {
            opened.completeExceptionally(e);
        } finally {
            endNanos = System.nanoTime();
        }
    }

    /**
     * The registries' content against their seals, before the first registry write. A registry
     * that differs is refused (file, offset of the first differing 64 KiB chunk, reason) and none
     * is opened, so nothing is written: the seals stay (Registries.openLive consumes them only when
     * it opens), and every later boot, which finds this one's unclean end, and {@code verify}
     * check the registries against them again and refuse them again (FORMAT.md 8.2).
     */
    private static void checkContent(List<MountAcceptance.DeferredSeal> sealsToCheck) {
        for (MountAcceptance.DeferredSeal d : sealsToCheck) {
            d.seal().check(d.registry());
        }
    }

    private Throwable failure() {
        try {
            opened.getNow(null);
            return null;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause();
        }
    }

    /** The registries, once open: waits for the background open (the wait is counted), rethrows its failure. */
    Registries await() {
        release();
        if (!opened.isDone()) {
            long t0 = System.nanoTime();
            try {
                opened.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PersistException("interrupted while the registries were opening", e);
            } catch (ExecutionException e) {
                // reported below, from the future, with its own type
            } finally {
                waitedNanos += System.nanoTime() - t0;
            }
        }
        Throwable failure = failure();
        if (failure instanceof RuntimeException) {
            throw (RuntimeException) failure;
        }
        if (failure instanceof Error) {
            throw (Error) failure;
        }
        return opened.getNow(null);
    }

    /** The registries if the open finished and succeeded, else null; never waits. */
    Registries ifOpen() {
        return opened.isDone() && failure() == null ? opened.getNow(null) : null;
    }

    /** Waits for a background open to end, whatever its outcome (before closing or abandoning). */
    void settle() {
        release();
        try {
            opened.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException ignored) {
            // nothing was left open: Registries closes what it opened when it fails
        }
    }

    boolean background() { return background; }
    long startNanos() { return startNanos; }
    long endNanos() { return endNanos; }
    long waitedNanos() { return waitedNanos; }
}
