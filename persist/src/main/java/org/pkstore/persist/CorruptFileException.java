package org.pkstore.persist;

import java.nio.file.Path;

/**
 * A pkernfs file was refused: wrong magic, unknown version, bad checksum, truncated, or a value that
 * cannot be. Always names the file, the byte offset of the offending field and the reason, so that a
 * user can look at the bytes with a hex dump. Nothing is modified when this is thrown.
 */
public final class CorruptFileException extends PersistException {
    private final transient Path file;
    private final long offset;
    private final String reason;

    public CorruptFileException(Path file, long offset, String reason) {
        super(file + " @ offset 0x" + Long.toHexString(offset) + " (" + offset + "): " + reason);
        this.file = file;
        this.offset = offset;
        this.reason = reason;
    }

    public Path file() { return file; }
    public long offset() { return offset; }
    public String reason() { return reason; }
}
