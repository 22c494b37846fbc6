package org.pkstore.vfio.trace;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A trace file that is not a valid version-1 trace: wrong magic, truncated, a length beyond the
 * file or the 1 MiB limit, an unknown record type, an inconsistent length field, bad padding...
 * Carries the file, the byte offset (of the header field, or of the start of the offending
 * record) and a one-line reason, so a tool can print {@link #getMessage()} without a stack trace.
 */
public final class TraceFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final long offset;
    private final String reason;

    public TraceFormatException(Path path, long offset, String reason) {
        this(String.valueOf(path), offset, reason, null);
    }

    public TraceFormatException(String source, long offset, String reason) {
        this(source, offset, reason, null);
    }

    public TraceFormatException(String source, long offset, String reason, Throwable cause) {
        super(source + ": offset " + offset + " (0x" + Long.toHexString(offset) + "): " + reason, cause);
        this.source = source;
        this.offset = offset;
        this.reason = reason;
    }

    /** The file (or the name given for an in-memory trace). */
    public String source() {
        return source;
    }

    /** Byte offset in the file where the problem is. */
    public long offset() {
        return offset;
    }

    /** What is wrong, without the location. */
    public String reason() {
        return reason;
    }
}
