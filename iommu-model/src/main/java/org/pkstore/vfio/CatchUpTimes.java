package org.pkstore.vfio;

import java.util.List;

/**
 * Record mode's catch-up ({@link RecordReattach}): when it ran, on which thread, and every
 * operation that had to wait for it, with how long (docs/LIVE-UPDATE.md, boot order).
 *
 * @param startNanos  System.nanoTime when the catch-up began (after the registries were open), 0: not yet
 * @param nanos       how long it held the kernel's lock (recovery's registry part, the records, the
 *                    preserved record rewritten), 0: not yet
 * @param prepareNanos before that, on the registry thread and outside the lock: the registries' first
 *                    reads and, after a crash, the sweep's walk (0 when a waiting operation caught up)
 * @param owner       "background" (when the registries opened) or the operation that needed it first
 * @param waits       each operation that waited for the registries and the catch-up
 * @param difference  how the preserved record differed from the registries at the catch-up, or null
 * @param parts       where the locked part went (recovery, record check, records, record rewrite)
 */
public record CatchUpTimes(long startNanos, long nanos, long prepareNanos, String owner, List<Wait> waits,
                           String difference, String parts) {
    /** One operation that waited: its name and how long, in nanoseconds. */
    public record Wait(String operation, long nanos) {}

    public boolean done() {
        return nanos > 0;
    }
}
