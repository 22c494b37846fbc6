package org.pkstore.rehearse;

import org.junit.jupiter.api.Test;
import org.pkstore.rehearse.protocol.DeviceSeries;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The device's DMA time series: per-interval counts, gaps where they end, merging when full. */
class DmaSeriesTest {
    private static final long MS = 1_000_000L;

    @Test
    void countsPerIntervalAndAGapInTheIntervalWhereItEnds() {
        DmaSeries s = new DmaSeries(0);
        s.dma(10 * MS, 0);
        s.dma(20 * MS, 10 * MS);
        // a 350 ms stall: nothing in the intervals it spans, the whole gap where DMA resumes
        s.dma(370 * MS, 350 * MS);
        s.fault(380 * MS);
        s.dma(410 * MS, 40 * MS);
        DeviceSeries m = s.snapshot(420 * MS);
        assertEquals(100.0, m.intervalMs());
        assertEquals(420.0, m.nowMs());
        assertArrayEquals(new long[] {2, 0, 0, 1}, m.dmas(), "the open interval is not reported");
        assertArrayEquals(new long[] {10_000, 0, 0, 350_000}, m.maxGapMicros());
        assertArrayEquals(new long[] {0, 0, 0, 1}, m.faults());
    }

    @Test
    void aLongRunMergesPairsOfIntervalsAndKeepsEveryDmaAndTheLongestGap() {
        DmaSeries s = new DmaSeries(0);
        long intervals = DmaSeries.CAPACITY + 10;
        for (long i = 0; i < intervals; i++) {
            s.dma(i * 100 * MS + 50 * MS, i == 7 ? 900 * MS : MS);
        }
        s.dma(intervals * 100 * MS + MS, MS); // closes the last full interval
        DeviceSeries m = s.snapshot(intervals * 100 * MS + 2 * MS);
        long[] dmas = m.dmas();
        assertEquals(200.0, m.intervalMs());
        assertEquals(DmaSeries.CAPACITY / 2 + 5, dmas.length);
        assertEquals(intervals, Arrays.stream(dmas).sum(), "no DMA lost in the merge");
        assertEquals(900_000, (m.maxGapMicros())[3], "interval 7 is in merged interval 3");
    }
}
