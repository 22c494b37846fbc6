package org.pkstore.vfio.engine;

/**
 * A record that is well formed (docs/TRACE.md) but contradicts the records before it, so no
 * kernel could have produced it: an {@code OPEN_*} that returns a trace fd which is still open.
 * Running it anyway would silently shadow the open fd, so {@link TraceEngine} refuses the record
 * (nothing of it runs) and replay stops there.
 */
public final class InconsistentTraceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int index;
    private final int fd;

    InconsistentTraceException(int index, int fd, String message) {
        super(message);
        this.index = index;
        this.fd = fd;
    }

    /** Position of the refused record in the trace (0-based, as {@link TraceEngine.StepResult#index()}). */
    public int index() {
        return index;
    }

    /** The trace fd the record reuses. */
    public int fd() {
        return fd;
    }
}
