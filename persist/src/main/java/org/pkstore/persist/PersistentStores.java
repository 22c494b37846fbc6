package org.pkstore.persist;

import java.util.EnumMap;
import java.util.Map;

/**
 * The one counted choke point every store to persistent state passes through just before it is
 * made: a descriptor or device-table word, a bitmap CAS, a table header word (root publish,
 * clean/mutation marks), a registry put or remove, an intent-journal write, a superblock word, a
 * file's publication (create-by-rename, seal, handover). Reads never pass here.
 *
 * <p>Unarmed (the normal case) {@link #store} is one load of a static int and a compare: no
 * allocation, nothing else, so the map/unmap hot path pays nothing measurable. A crash-point test
 * ({@code CrashPointEnumerationTest}) arms it with a budget N: stores 1..N happen, and the call
 * for store N+1 throws {@link StoreCrash} instead, i.e. the process "dies" right after store N
 * completed. The Error unwinds without cleanup (ioctl boundaries catch only RuntimeException);
 * the test then abandons the mount ({@link PkernfsMount#abandon()}) as SIGKILL would.
 *
 * <p>Single-threaded by design: the writer is one thread (the kernel's ioctl lock), and only
 * tests arm it. Arming is for one JVM-wide writer at a time.
 */
public final class PersistentStores {
    /** What a store writes. */
    public enum Kind {
        /** An 8-byte page-table descriptor (IoPageTable map/unmap/split, PASID tables). */
        DESCRIPTOR,
        /** A device-table word (VT-d root/context/extension entry, SMMU STE/CD, PASID directory). */
        DEVICE_TABLE_WORD,
        /** A CAS on a table file's allocation bitmap (page taken or freed). */
        BITMAP,
        /** A table file's header word: root publish, in-use/clean mark, mutation or free sequence. */
        TABLE_HEADER,
        /** One registry put (Chronicle Map entry written). */
        REGISTRY_PUT,
        /** One registry remove. */
        REGISTRY_REMOVE,
        /** The intent journal's payload (length, CRC, op, sequence): invisible until the state word. */
        JOURNAL_PAYLOAD,
        /** The intent journal's state word (ACTIVE or IDLE). */
        JOURNAL_STATE,
        /** A superblock word (clean flag, generation, PA cursors, recovery count). */
        SUPERBLOCK,
        /** A file published under its live name by one rename (table, memory, registry file). */
        FILE_CREATE,
        /** A small metadata file replaced by rename (registry seal, handover record). */
        FILE_RENAME,
        /** The preserved record's operation word, or one of its slot's stores (body, sequence). */
        PRESERVED_RECORD
    }

    /** Stores left before the simulated death; negative when unarmed. The only hot-path read. */
    private static int budget = -1;
    private static long counted;
    private static final Map<Kind, Long> countsByKind = new EnumMap<>(Kind.class);

    private PersistentStores() {}

    /** The choke point: called just before a store of {@code kind} is made. */
    public static void store(Kind kind) {
        if (budget >= 0) {
            countOrDie(kind);
        }
    }

    private static void countOrDie(Kind kind) {
        if (counted == budget) {
            budget = -1; // a dead process stores nothing more; the next boot is unarmed until re-armed
            throw new StoreCrash(counted, kind);
        }
        counted++;
        countsByKind.merge(kind, 1L, Long::sum);
    }

    /** Counts stores from now on, and dies at store {@code n + 1} (right after store {@code n}). */
    public static void dieAfter(long n) {
        if (n < 0 || n >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("budget " + n);
        }
        counted = 0;
        countsByKind.clear();
        budget = (int) n;
    }

    /** Counts stores from now on without ever dying. */
    public static void count() {
        dieAfter(Integer.MAX_VALUE - 1);
    }

    /** Crash points are armed: stores are being counted (single-threaded work only). */
    public static boolean armed() {
        return budget >= 0;
    }

    /** Back to the unarmed hot path. */
    public static void disarm() {
        budget = -1;
    }

    /** Stores made since the last {@link #dieAfter} or {@link #count}. */
    public static long counted() {
        return counted;
    }

    /** The same, by kind. */
    public static Map<Kind, Long> countedByKind() {
        return new EnumMap<>(countsByKind);
    }

    /**
     * The simulated death right after store {@code index}: an Error, so that ioctl boundaries
     * (which turn exceptions into -EIO and replay the intent) let it through untouched.
     */
    public static final class StoreCrash extends Error {
        private static final long serialVersionUID = 1L;
        private final long index;
        private final Kind kind;

        StoreCrash(long index, Kind kind) {
            super("simulated crash after store " + index + ", before a " + kind + " store");
            this.index = index;
            this.kind = kind;
        }

        /** Stores that completed before the death. */
        public long index() { return index; }

        /** The kind of the store that did not happen. */
        public Kind kind() { return kind; }

        /** The first frame outside the store plumbing: the code whose store was cut. */
        public String location() {
            for (StackTraceElement e : getStackTrace()) {
                String c = e.getClassName();
                if (c.startsWith("org.pkstore.") && !c.equals(PersistentStores.class.getName())
                        && !c.endsWith(".MappedRegion") && !c.endsWith(".PageTableFile")
                        && !c.endsWith(".Registry") && !c.endsWith(".IntentJournal") && !c.endsWith(".Superblock")) {
                    return e.getClassName().substring(e.getClassName().lastIndexOf('.') + 1) + "." + e.getMethodName()
                            + ":" + e.getLineNumber();
                }
            }
            StackTraceElement[] t = getStackTrace();
            return t.length > 1 ? t[1].toString() : "?";
        }
    }
}
