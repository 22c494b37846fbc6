package org.pkstore.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Something wrong (an {@code error}) or worth knowing ({@code note}) about a mount: where it is
 * (file relative to the mount, byte offset in that file, or the key of a registry entry) and why.
 * {@code kind} is a stable keyword scripts can match (docs/CLI.md lists them).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record Finding(@JsonProperty("severity") String severity,
               @JsonProperty("kind") String kind,
               @JsonProperty("file") String file,
               @JsonProperty("offset") String offset,
               @JsonProperty("key") Long key,
               @JsonProperty("reason") String reason) {
    static final String ERROR = "error";
    static final String NOTE = "note";

    static Finding error(String kind, String file, long offset, String reason) {
        return new Finding(ERROR, kind, file, offset < 0 ? null : Fmt.hex(offset), null, reason);
    }

    static Finding note(String kind, String file, long offset, String reason) {
        return new Finding(NOTE, kind, file, offset < 0 ? null : Fmt.hex(offset), null, reason);
    }

    static Finding registryError(String kind, String file, Long key, String reason) {
        return new Finding(ERROR, kind, file, null, key, reason);
    }

    boolean isError() {
        return ERROR.equals(severity);
    }

    /** Byte offset as a number, -1 when there is none. */
    long offsetValue() {
        return offset == null ? -1 : Long.parseUnsignedLong(offset.substring(2), 16);
    }

    /** "ERROR  pgtables/vm0.pt @ 0x3008  cycle: ..." */
    String line() {
        StringBuilder sb = new StringBuilder();
        sb.append(isError() ? "ERROR " : "note  ").append(' ');
        sb.append(file == null ? "(mount)" : file);
        if (offset != null) {
            sb.append(" @ ").append(offset);
        }
        if (key != null) {
            sb.append(" key ").append(key);
        }
        sb.append("  ").append(kind).append(": ").append(reason);
        return sb.toString();
    }
}
