package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceSeries;

import java.util.Arrays;

/**
 * The device's DMA over the whole run, per interval: successful DMAs, the longest gap between two
 * successful translations that ended in the interval, and faults. Written by the DMA thread only
 * (no allocation: the arrays are sized once, and when they are full every two intervals are merged
 * into one of twice the length, so a run of any length stays at most {@link #CAPACITY} samples);
 * read by the command thread under the same lock, taken once per interval.
 *
 * <p>A gap is counted in the interval where it ends: during a stall the intervals show 0 DMAs and
 * the interval where DMA resumes shows the whole gap.
 */
final class DmaSeries {
    /** Samples kept; 1,200 intervals of 100 ms cover two minutes before the first merge. */
    static final int CAPACITY = 1_200;
    static final long FIRST_INTERVAL_NANOS = 100_000_000L;

    private final long originNanos;
    private final long[] dmas = new long[CAPACITY];
    private final long[] maxGapMicros = new long[CAPACITY];
    private final long[] faults = new long[CAPACITY];
    private long intervalNanos = FIRST_INTERVAL_NANOS;
    /** Closed intervals in the arrays. */
    private int closed;
    /** The open interval (DMA thread only until it is closed). */
    private long openEnd;
    private long openDmas;
    private long openMaxGapNanos;
    private long openFaults;

    DmaSeries(long originNanos) {
        this.originNanos = originNanos;
        this.openEnd = originNanos + intervalNanos;
    }

    /** A successful DMA at {@code now}, {@code gapNanos} after the previous one. */
    void dma(long now, long gapNanos) {
        advance(now);
        openDmas++;
        if (gapNanos > openMaxGapNanos) {
            openMaxGapNanos = gapNanos;
        }
    }

    void fault(long now) {
        advance(now);
        openFaults++;
    }

    private void advance(long now) {
        while (now >= openEnd) {
            close();
        }
    }

    private synchronized void close() {
        if (closed == CAPACITY) {
            halve();
            long end = originNanos + (closed + 1) * intervalNanos;
            if (end > openEnd) {
                // the open interval is now the first half of a longer one: it stays open
                openEnd = end;
                return;
            }
        }
        dmas[closed] = openDmas;
        maxGapMicros[closed] = openMaxGapNanos / 1_000;
        faults[closed] = openFaults;
        closed++;
        openDmas = 0;
        openMaxGapNanos = 0;
        openFaults = 0;
        openEnd = originNanos + (closed + 1) * intervalNanos;
    }

    /** Every two intervals become one of twice the length: sums of DMAs and faults, the longer gap. */
    private void halve() {
        for (int k = 0; k < CAPACITY / 2; k++) {
            dmas[k] = dmas[2 * k] + dmas[2 * k + 1];
            maxGapMicros[k] = Math.max(maxGapMicros[2 * k], maxGapMicros[2 * k + 1]);
            faults[k] = faults[2 * k] + faults[2 * k + 1];
        }
        closed = CAPACITY / 2;
        intervalNanos *= 2;
    }

    /**
     * The closed intervals, for the {@code series} command: times in ms since the device's origin,
     * with the device's own clock at the reply ({@code nowMs}) so the caller can place it on its own.
     */
    synchronized DeviceSeries snapshot(long now) {
        return new DeviceSeries((now - originNanos) / 1_000_000.0, intervalNanos / 1_000_000.0,
                Arrays.copyOf(dmas, closed), Arrays.copyOf(maxGapMicros, closed), Arrays.copyOf(faults, closed));
    }
}
