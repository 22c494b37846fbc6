package org.pkstore.rehearse.protocol;

/**
 * {@link DeviceCommand.Series}: the closed intervals of the device's DMA time series, on the
 * device's clock: {@code nowMs} is its clock at the reply (ms since the device started), so the
 * driver can place the samples on its own; one entry per interval of {@code intervalMs} in each array.
 */
public record DeviceSeries(double nowMs, double intervalMs, long[] dmas, long[] maxGapMicros, long[] faults) {}
