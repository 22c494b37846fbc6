package org.pkstore.persist.registry;

import net.openhft.chronicle.hash.ChronicleHashCorruption;
import net.openhft.chronicle.map.ChronicleMap;
import org.pkstore.persist.PersistException;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * A typed registry: a persisted Chronicle Map from a {@code long} key to a record encoded by a
 * {@link RecordCodec}. Used for the kernel's bookkeeping (containers, domains, VMIDs, PASIDs,
 * bindings, faults, DMA mappings), never for anything a device walks.
 *
 * <h2>Locks and crashes</h2>
 * Chronicle Map keeps per-segment locks inside the file; a process killed mid-update leaves one
 * held and the next access blocks for 60 s. Hence three ways to open:
 * <ul>
 *   <li>{@link #open} with {@code recover = false}: after a clean unmount;</li>
 *   <li>{@link #open} with {@code recover = true}: after an unclean end, through
 *       {@code recoverPersistedTo}, which needs exclusive access: only the mount's single writer,
 *       holding the mount lock, ever opens the live file;</li>
 *   <li>{@link #openSnapshot}: for tools and read-only observers, a private copy, recovered, so
 *       that no reader ever touches a lock in the live file.</li>
 * </ul>
 */
public final class Registry<V> implements AutoCloseable {
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

    public static <V> Registry<V> open(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                       int averageValueSize, boolean recover) {
        try {
            Files.createDirectories(file.getParent());
            var builder = ChronicleMap.of(Long.class, byte[].class)
                    .name(name)
                    .entries(maxEntries)
                    .averageValueSize(averageValueSize);
            ChronicleMap<Long, byte[]> m = recover && Files.exists(file)
                    ? builder.recoverPersistedTo(file.toFile(), true)
                    : builder.createPersistedTo(file.toFile());
            return new Registry<>(name, file, m, codec, null);
        } catch (IOException | RuntimeException e) {
            throw new PersistException("cannot open registry " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens a private, recovered copy of {@code file}: what a reader sees is a point-in-time view,
     * and the live file's locks are never taken. The copy is deleted on close.
     */
    public static <V> Registry<V> openSnapshot(Path file, String name, RecordCodec<V> codec, long maxEntries,
                                               int averageValueSize) {
        try {
            Path tmp = Files.createTempFile("pkstore-" + name + "-", ".cmap");
            Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
            ChronicleMap<Long, byte[]> m = ChronicleMap.of(Long.class, byte[].class)
                    .name(name).entries(maxEntries).averageValueSize(averageValueSize)
                    .recoverPersistedTo(tmp.toFile(), true);
            return new Registry<>(name, file, m, codec, tmp);
        } catch (IOException | RuntimeException e) {
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

    public void put(long key, V value) { map.put(key, codec.encode(value)); }

    /** Inserts only if absent; returns false when the key was taken. */
    public boolean putIfAbsent(long key, V value) { return map.putIfAbsent(key, codec.encode(value)) == null; }

    public boolean remove(long key) { return map.remove(key) != null; }

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

    public void clear() { map.clear(); }

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
