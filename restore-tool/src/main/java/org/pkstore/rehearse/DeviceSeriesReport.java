package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.DeviceSeries;

/**
 * The device's DMA over the whole run as the report's {@code deviceSeries} holds it (docs/REPORT.md):
 * per interval of {@code intervalMs}, successful DMAs, the longest gap that ended in it and faults;
 * the first interval began at {@code startMs} on the rehearsal's clock.
 */
public record DeviceSeriesReport(double startMs, double intervalMs, long[] dmas, long[] maxGapMicros, long[] faults) {
    /**
     * The device's {@code series} reply placed on the rehearsal's clock: the device gives its samples
     * in ms since its own start and its clock at the reply ({@code nowMs}); {@code atMs} is the
     * rehearsal's clock when the reply came, so the first interval began at {@code atMs - nowMs}
     * (off by the reply's latency, well under one interval).
     */
    static DeviceSeriesReport placed(DeviceSeries reply, double atMs) {
        return new DeviceSeriesReport(Math.round((atMs - reply.nowMs()) * 100) / 100.0, reply.intervalMs(),
                reply.dmas(), reply.maxGapMicros(), reply.faults());
    }
}
