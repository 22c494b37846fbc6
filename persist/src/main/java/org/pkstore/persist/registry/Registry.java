package org.pkstore.persist.registry;

import net.openhft.chronicle.hash.ChronicleHashCorruption;
import org.pkstore.persist.PersistentStores;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import org.pkstore.persist.PersistException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A typed registry: a persisted Chronicle Map from a {@code long} key to a record encoded by a
 * {@link RecordCodec}. Used for the kernel's bookkeeping (containers, domains, VMIDs, PASIDs,
 * bindings, faults, DMA mappings), never for anything a device walks.
 *
 * <h2>Locks and crashes</h2>
 * Chronicle Map keeps per-segment locks inside the file; a process killed mid-update leaves one
 * held and the next access blocks for 60 s. Chronicle also marks a file NOT_COMPLETE while it
 * creates or recovers it, and every later open of such a file first waits 60 s
 * ({@link ChronicleMapFileHeader}). Hence:
 * <ul>
 *   <li>{@link #open} with {@code recover = false}: after a clean unmount;</li>
 *   <li>{@link #open} with {@code recover = true}: after an unclean end. The live file is copied to
 *       {@code NAME.cmap.recovering}, the copy is recovered ({@code recoverPersistedTo}, which clears
 *       the dead writer's locks and needs exclusive access: only the mount's single writer, holding
 *       the mount lock, ever opens the live file) and renamed over the live file. Recovery never
 *       writes the live file, so a kill during it leaves the live file as the dead writer left it
 *       and the next boot simply recovers again;</li>
 *   <li>a new registry is created as {@code NAME.cmap.creating} and renamed when complete, so the
 *       live name only ever holds a complete file;</li>
 *   <li>{@link #openSnapshot}: for tools and read-only observers, a private copy, recovered, so
 *       that no reader ever touches a lock in the live file.</li>
 * </ul>
 * Leftover {@code .creating} and {@code .recovering} files are a killed writer's and are deleted
 * (docs/FORMAT.md, 8.2).
 */
public final class Registry<V> implements AutoCloseable {
    static {
        org.pkstore.persist.ChronicleNativeBindings.select(); // before Chronicle Map initialises Chronicle Core
    }

    public static final String CREATING_SUFFIX = ".creating";
    public static final String RECOVERING_SUFFIX = ".recovering";

    /** The points of {@link #open} between which a kill leaves a different state on disk. */
    public enum OpenStep {
        /** {@code NAME.cmap.creating} complete, not yet renamed. */
        CREATED,
        /** a new registry renamed to its live name. */
        CREATE_PUBLISHED,
        /** the live file copied to {@code NAME.cmap.recovering}, Chronicle recovery not started. */
        COPIED,
        /** inside Chronicle's recovery of the copy (NOT_COMPLETE set), at each damage it repairs. */
        RECOVERING,
        /** the copy recovered and closed, not yet renamed. */
        RECOVERED,
        /** the recovered copy renamed over the live file. */
        RECOVERY_PUBLISHED
    }

    private static final Logger LOG = LoggerFactory.getLogger(Registry.class);

    /** Told of each {@link OpenStep} reached; the kill tests park a child JVM there and SIGKILL it. */
    static volatile BiConsumer<OpenStep, Path> openSteps = (step, file) -> { };

    /**
     * Test hook for harnesses in other modules (the rehearsal's recovery kill points): tells
     * {@code observer} of each {@link OpenStep} reached in this JVM; null: nobody.
     */
    public static void onOpenStep(BiConsumer<OpenStep, Path> observer) {
        openSteps = observer == null ? (step, file) -> { } : observer;
    }

    private final String name;
    private final Path file;
    private final ChronicleMap<Long, byte[]> map;
    private final RecordCodec<V> codec;
    private final Path privateCopy;

    private Registry(String name, Path file, ChronicleMap<Long, byte[]> map, RecordCodec<V> codec, Path privateCopy) {
        this.name = name;
        this.file = file;
        this.map = map;
        this.codec = codec;
        this.privateCopy = privateCopy;
    }

    private static ChronicleMapBuilder<Long, byte[]> builder(String name, long maxEntries, int averageValueSize) {
        return ChronicleMap.of(Long.class, byte[].class)
                .name(name)
                .entries(maxEntries)
                .averageValueSize(averageValueSize);
    }

    static Path creatingPath(Path file) {
        return file.resolveSibling(file.getFileName() + CREATING_SUFFIX);
    }

    static Path recoveringPath(Path file) {
        return file.resolveSibling(file.getFileName() + RECOVERING_SUFFIX);
    }

    public static <V> Registry<V> open(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                       int averageValueSize, boolean recover) {
        return open(file, name, codec, maxEntries, averageValueSize, recover, repair -> { });
    }

    /** As above, telling {@code repaired} each damage Chronicle's recovery of the file repaired. */
    public static <V> Registry<V> open(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                       int averageValueSize, boolean recover, Consumer<String> repaired) {
        var builder = builder(name, maxEntries, averageValueSize);
        try {
            Files.createDirectories(file.getParent());
            // a killed creation or recovery never wrote the live file: its temporary is discarded
            Files.deleteIfExists(creatingPath(file));
            Files.deleteIfExists(recoveringPath(file));
            int sizeWord = Files.exists(file) ? ChronicleMapFileHeader.sizeWord(file) : 0;
            if (ChronicleMapFileHeader.hasNoHeader(sizeWord)) {
                create(file, builder);
            } else if (recover || !ChronicleMapFileHeader.isComplete(sizeWord)) {
                recover(file, builder, repaired);
            }
            // the live file is complete now: Chronicle opens it without waiting
            ChronicleMap<Long, byte[]> m = builder.createPersistedTo(file.toFile());
            return new Registry<>(name, file, m, codec, null);
        } catch (IOException | RuntimeException e) {
            throw new PersistException("cannot open registry " + file + ": " + e.getMessage(), e);
        }
    }

    /** Creates the file under its temporary name, then gives it the live name (one rename). */
    private static void create(Path file, ChronicleMapBuilder<Long, byte[]> builder) throws IOException {
        Path creating = creatingPath(file);
        builder.createPersistedTo(creating.toFile()).close();
        openSteps.accept(OpenStep.CREATED, creating);
        PersistentStores.store(PersistentStores.Kind.FILE_CREATE);
        Files.move(creating, file, StandardCopyOption.ATOMIC_MOVE);
        openSteps.accept(OpenStep.CREATE_PUBLISHED, file);
    }

    /** Recovers a copy of the live file and renames it over the live file. */
    private static void recover(Path file, ChronicleMapBuilder<Long, byte[]> builder, Consumer<String> repaired)
            throws IOException {
        Path recovering = recoveringPath(file);
        Files.copy(file, recovering);
        openSteps.accept(OpenStep.COPIED, recovering);
        recoverCopy(recovering, builder, message -> {
            openSteps.accept(OpenStep.RECOVERING, recovering);
            repaired.accept(message);
        });
        openSteps.accept(OpenStep.RECOVERED, recovering);
        PersistentStores.store(PersistentStores.Kind.FILE_RENAME);
        Files.move(recovering, file, StandardCopyOption.ATOMIC_MOVE);
        openSteps.accept(OpenStep.RECOVERY_PUBLISHED, file);
    }

    /**
     * Chronicle recovery of a private copy, left closed. A NOT_COMPLETE mark (left in place by a
     * kill under earlier versions of this code, which recovered the live file itself) is cleared
     * first, so that Chronicle does not wait 60 s for a writer that is dead.
     */
    private static void recoverCopy(Path copy, ChronicleMapBuilder<Long, byte[]> builder, Consumer<String> onDamage)
            throws IOException {
        int sizeWord = ChronicleMapFileHeader.sizeWord(copy);
        if (!ChronicleMapFileHeader.isComplete(sizeWord)) {
            ChronicleMapFileHeader.clearNotComplete(copy, sizeWord);
        }
        builder.recoverPersistedTo(copy.toFile(), true, damage -> {
            LOG.warn("{}: recovery repaired: {}", copy, damage.message());
            onDamage.accept(damage.message());
        }).close();
    }

    /**
     * Opens a private, recovered copy of {@code file}: what a reader sees is a point-in-time view,
     * and the live file's locks are never taken. The copy is deleted on close.
     */
    public static <V> Registry<V> openSnapshot(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                               int averageValueSize) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("pkstore-" + name + "-", ".cmap");
            Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
            var builder = builder(name, maxEntries, averageValueSize);
            recoverCopy(tmp, builder, message -> { });
            ChronicleMap<Long, byte[]> m = builder.createPersistedTo(tmp.toFile());
            return new Registry<>(name, file, m, codec, tmp);
        } catch (IOException | RuntimeException e) {
            if (tmp != null) {
                tmp.toFile().delete();
            }
            throw new PersistException("cannot read registry " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * As {@link #openSnapshot(Path, String, RecordCodec, long, int)}, telling {@code corruptions}
     * everything the recovery of the copy met (entries dropped, counters rewritten, locks cleared).
     */
    public static <V> Registry<V> openSnapshot(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                               int averageValueSize, ChronicleHashCorruption.Listener corruptions) {
        try {
            Path tmp = Files.createTempFile("pkstore-" + name + "-", ".cmap");
            Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
            try {
                ChronicleMap<Long, byte[]> m = ChronicleMap.of(Long.class, byte[].class)
                        .name(name).entries(maxEntries).averageValueSize(averageValueSize)
                        .recoverPersistedTo(tmp.toFile(), true, corruptions);
                return new Registry<>(name, file, m, codec, tmp);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            throw new PersistException("cannot read registry " + file + ": " + e.getMessage(), e);
        }
    }

    public String name() { return name; }

    /** The underlying map, for tests in this package (e.g. to hold a segment lock on purpose). */
    ChronicleMap<Long, byte[]> chronicleMap() { return map; }
    public Path file() { return file; }

    public V get(long key) {
        byte[] b = map.get(key);
        return b == null ? null : decode(key, b);
    }

    public boolean containsKey(long key) { return map.containsKey(key); }

    public void put(long key, V value) {
        PersistentStores.store(PersistentStores.Kind.REGISTRY_PUT);
        map.put(key, codec.encode(value));
    }

    /** Inserts only if absent; returns false when the key was taken. */
    public boolean putIfAbsent(long key, V value) {
        PersistentStores.store(PersistentStores.Kind.REGISTRY_PUT);
        return map.putIfAbsent(key, codec.encode(value)) == null;
    }

    public boolean remove(long key) {
        PersistentStores.store(PersistentStores.Kind.REGISTRY_REMOVE);
        return map.remove(key) != null;
    }

    public int size() { return map.size(); }

    public List<Long> keys() {
        List<Long> keys = new ArrayList<>(map.keySet());
        Collections.sort(keys);
        return keys;
    }

    /** Visits every entry in key order. */
    public void forEach(BiConsumer<Long, V> action) {
        for (Long k : keys()) {
            byte[] b = map.get(k);
            if (b != null) {
                action.accept(k, decode(k, b));
            }
        }
    }

    public List<V> values() {
        List<V> out = new ArrayList<>();
        forEach((k, v) -> out.add(v));
        return out;
    }

    public void clear() {
        PersistentStores.store(PersistentStores.Kind.REGISTRY_REMOVE);
        map.clear();
    }

    private V decode(long key, byte[] b) {
        try {
            return codec.decode(b);
        } catch (IllegalArgumentException e) {
            throw new PersistException(file + ": entry " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        map.close();
        if (privateCopy != null) {
            File f = privateCopy.toFile();
            if (!f.delete()) {
                f.deleteOnExit();
            }
        }
    }
}
