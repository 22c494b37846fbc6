package org.pkstore.vfio.trace;

import java.util.Optional;

/** The {@code kind} of a KEXEC trace record. */
public enum KexecKind {
    /** kexec -e after the VMM has quiesced: a live update. */
    PLANNED(1),
    /** kexec on panic: nothing was quiesced. */
    CRASH(2);

    private final int code;

    KexecKind(int code) {
        this.code = code;
    }

    /** The u32 value in the trace. */
    public int code() {
        return code;
    }

    public static Optional<KexecKind> fromCode(int code) {
        for (KexecKind k : values()) {
            if (k.code == code) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
