package org.pkstore.persist;

import net.openhft.posix.PosixAPI;

/**
 * Which native bindings Chronicle loads in this JVM. Chronicle Core's {@code Jvm} class, on its
 * first use, binds the POSIX API through JNR (net.openhft.posix), which generates its call stubs
 * with an in-process x86 assembler and ASM: about 170-190 ms in a fresh JVM on this machine, the
 * largest part of a host boot's mount before this class (docs/BENCHMARKS.md, "lean boot").
 * Chronicle uses that binding only for {@code msync} (MappedBytesStore, ChronicleMap.msync) and an
 * optional clock; pkstore calls neither: its durability is against the death of a process (the
 * page cache keeps every store, docs/FORMAT.md), not against power loss. So every pkstore JVM binds
 * Chronicle's no-op POSIX API instead, before the first mapping or Chronicle Map touches Chronicle.
 *
 * <p>{@code -Dpkstore.chronicle.posix=jnr} keeps Chronicle's own choice (to measure the difference).
 */
public final class ChronicleNativeBindings {
    private static final boolean NO_OP = !"jnr".equals(System.getProperty("pkstore.chronicle.posix"));

    static {
        if (NO_OP) {
            // must precede Chronicle's Jvm class initialisation, which calls PosixAPI.posix() to
            // preload the binding; the holder keeps the first one set
            PosixAPI.useNoOpPosixApi();
        }
    }

    private ChronicleNativeBindings() {}

    /** Binds the no-op POSIX API (once per JVM); call before the first use of any Chronicle class. */
    public static void select() {
        // the work is the static initialiser's: this call makes the class initialise
    }
}
