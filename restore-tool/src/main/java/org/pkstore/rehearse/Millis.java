package org.pkstore.rehearse;

/** Nanosecond measurements as the rehearsal reports them. */
final class Millis {
    private Millis() {}

    /** Whole milliseconds. */
    static long whole(long nanos) {
        return nanos / 1_000_000;
    }

    /** Milliseconds rounded to 10 us, as the report gives every measured step. */
    static double exact(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
