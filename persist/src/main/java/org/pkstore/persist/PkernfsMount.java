package org.pkstore.persist;

import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.RegistrySeal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pkernfs mount: a directory that models the filesystem over memory that kexec preserves.
 *
 * <pre>
 *  MOUNT/
 *    pkernfs.super          superblock: generation, clean flag, PA windows   ({@link Superblock})
 *    pkernfs.lock           single-writer OS lock holding the writer's pid   ({@link MountLock})
 *    intent.log             one-slot intent journal                           ({@link IntentJournal})
 *    iommu/UNIT.hw          IOMMU hardware tables (device table, PASID tables) ({@link PageTableFile})
 *    pgtables/NAME.pt       one domain's page tables                          ({@link PageTableFile})
 *    mem/NAME.gmem          guest memory                                      ({@link GuestMemoryFile})
 *    registry/NAME.cmap     kernel bookkeeping, Chronicle Maps                ({@link Registries})
 * </pre>
 *
 * <p>Read-write mount: takes the writer lock, validates the superblock, and starts a new generation.
 * If the previous writer did not unmount cleanly, the Chronicle Maps are opened through recovery
 * (which clears segment locks a killed process left held; it needs exclusive access, which the
 * writer lock guarantees because no reader opens the live maps) and {@link #recovering()} is true so
 * that the IOMMU layer replays the intent journal and sweeps leaked pages. Each registry is
 * recovered into a copy renamed over the live file ({@link org.pkstore.persist.registry.Registry}),
 * so a kill during this recovering mount leaves files the next mount recovers again at once.
 *
 * <p>Read-only mount: no lock, nothing written; registries are private recovered copies.
 */
public final class PkernfsMount implements AutoCloseable {
    public static final String IOMMU_DIR = "iommu";
    public static final String PGTABLES_DIR = "pgtables";
    public static final String MEM_DIR = "mem";
    public static final String PGTABLE_SUFFIX = ".pt";
    public static final String IOMMU_SUFFIX = ".hw";
    public static final String MEM_SUFFIX = ".gmem";

    private final Path dir;
    private final boolean readOnly;
    private final MountLock lock;
    private final Superblock superblock;
    private final long generation;
    private final boolean recovering;
    private final IntentJournal journal;
    /** The writer's registries, opening inline or in the background; null for read-only mounts. */
    private final RegistryOpening opening;
    /** Read-only mounts: private snapshots, opened on first use. */
    private Registries snapshots;
    private PreservedRecord preservedRecord;
    private PreservedRecord.Contents preservedAtMount;
    private String preservedRefusal;
    private long preservedReadNanos;
    private long mountStartNanos;
    private final Map<Path, PageTableFile> tableFiles = new LinkedHashMap<>();
    private final Map<Path, GuestMemoryFile> memoryFiles = new LinkedHashMap<>();
    private boolean closed;
    private MountAcceptance acceptance;

    private PkernfsMount(Path dir, boolean readOnly, MountLock lock, Superblock superblock, long generation,
                         boolean recovering, IntentJournal journal, RegistryOpening opening) {
        this.dir = dir;
        this.readOnly = readOnly;
        this.lock = lock;
        this.superblock = superblock;
        this.generation = generation;
        this.recovering = recovering;
        this.journal = journal;
        this.opening = opening;
    }

    /** Mounts for the single writer, creating an empty pkernfs if the directory has none; registries opened inline. */
    public static PkernfsMount mountReadWrite(Path dir) {
        return mountReadWrite(dir, false);
    }

    /**
     * As {@link #mountReadWrite(Path)}; with {@code registriesInBackground} the Chronicle Map
     * registries are opened (recovered after an unclean end) on a background thread, which starts
     * the open when the first caller of {@link #registries()} needs them (or whoever closes the
     * mount), and {@link #registries()} waits for them, so that what needs no registry proceeds meanwhile.
     * The preserved record ({@link PreservedRecord}) is read before the registries are opened.
     * The mount's own check then reads headers only ({@link MountAcceptance#assessForBoot}): the
     * registries' content against their seals is checked by the background open before it opens
     * any registry, and a registry that differs makes {@link #registries()} throw its refusal
     * (file, offset, reason) with no registry written.
     */
    public static PkernfsMount mountReadWrite(Path dir, boolean registriesInBackground) {
        long mountStart = System.nanoTime();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new PersistException("cannot create mount directory " + dir + ": " + e.getMessage(), e);
        }
        // the lock file's content (the holder's pid) is written only once the mount is accepted:
        // a refused mount modifies no file of the mount
        MountLock lock = MountLock.acquireUnrecorded(dir);
        Superblock sb = null;
        RegistryOpening regs = null;
        try {
            Path sbPath = dir.resolve(Superblock.FILE_NAME);
            boolean recovering;
            MountAcceptance acceptance = null;
            if (Files.exists(sbPath)) {
                // every file checked before anything is written: a refused mount modifies nothing.
                // With the registries opening in the background, their content (a CRC over whole
                // files) is checked by that open, before its first registry write: this path reads headers
                acceptance = RegistryOpening.inBackground(registriesInBackground)
                        ? MountAcceptance.assessForBoot(dir) : MountAcceptance.assess(dir);
                acceptance.requireAccepted();
                lock.recordHolder();
                sb = Superblock.openAccepted(sbPath);
                recovering = !sb.clean();
            } else {
                lock.recordHolder();
                sb = Superblock.create(sbPath);
                recovering = false;
            }
            long generation = sb.generation() + 1;
            sb.beginGeneration(generation, recovering);
            for (String d : new String[] {IOMMU_DIR, PGTABLES_DIR, MEM_DIR}) {
                Files.createDirectories(dir.resolve(d));
            }
            removeIncompleteCreations(dir);
            // what a reattach needs, before any Chronicle Map is touched
            long tRecord = System.nanoTime();
            PreservedRecord.Contents preserved = null;
            String refusal = null;
            boolean recordPresent = Files.exists(PreservedRecord.pathIn(dir));
            if (recordPresent) {
                try {
                    preserved = PreservedRecord.read(PreservedRecord.pathIn(dir));
                } catch (CorruptFileException e) {
                    refusal = e.getMessage();
                }
            }
            long recordNanos = System.nanoTime() - tRecord;
            regs = RegistryOpening.start(dir, recovering, generation, registriesInBackground,
                    acceptance == null ? List.of() : acceptance.deferredSeals());
            // what the acceptance validated and the record read above are mapped, not read again
            Path journalPath = dir.resolve(IntentJournal.FILE_NAME);
            IntentJournal journal = acceptance != null && Files.exists(journalPath)
                    ? IntentJournal.openAccepted(journalPath) : IntentJournal.openOrCreate(journalPath);
            PreservedRecord writer = recordPresent ? PreservedRecord.openAsRead(dir, preserved, refusal)
                    : PreservedRecord.openOrCreate(dir, generation);
            PkernfsMount m = new PkernfsMount(dir, false, lock, sb, generation, recovering, journal, regs);
            m.acceptance = acceptance;
            m.preservedAtMount = preserved;
            m.preservedRefusal = refusal;
            m.preservedReadNanos = recordNanos;
            m.mountStartNanos = mountStart;
            m.preservedRecord = writer;
            return m;
        } catch (IOException e) {
            closeAfterFailure(regs, sb, lock);
            throw new PersistException("cannot mount " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException | PersistentStores.StoreCrash e) {
            // a simulated death (crash-point tests) too: handles and lock go as the OS takes a dead process's
            closeAfterFailure(regs, sb, lock);
            throw e;
        }
    }

    /**
     * Removes the temporary files of creations a killed writer did not finish
     * ({@code NAME.creating}, see MappedRegion.create): they were never visible under a real name,
     * so nothing refers to them.
     */
    private static void removeIncompleteCreations(Path dir) throws IOException {
        for (Path d : new Path[] {dir, dir.resolve(IOMMU_DIR), dir.resolve(PGTABLES_DIR), dir.resolve(MEM_DIR)}) {
            for (Path p : list(d, MappedRegion.CREATING_SUFFIX)) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A mount that failed part-way leaves the superblock dirty (the next mount recovers) and holds nothing. */
    private static void closeAfterFailure(RegistryOpening regs, Superblock sb, MountLock lock) {
        if (regs != null) {
            regs.settle();
            if (regs.ifOpen() != null) {
                regs.ifOpen().close();
            }
        }
        if (sb != null) {
            sb.close();
        }
        lock.close();
    }

    /** Mounts for observers: validates the superblock, takes no lock, writes nothing. */
    public static PkernfsMount mountReadOnly(Path dir) {
        Path sbPath = dir.resolve(Superblock.FILE_NAME);
        if (!Files.isRegularFile(sbPath)) {
            throw new PersistException(dir + " is not a pkernfs mount (no " + Superblock.FILE_NAME + ")");
        }
        Superblock sb = Superblock.open(sbPath, true);
        Path jp = dir.resolve(IntentJournal.FILE_NAME);
        IntentJournal j = Files.exists(jp) ? IntentJournal.openReadOnly(jp) : null;
        return new PkernfsMount(dir, true, null, sb, sb.generation(), !sb.clean(), j, null);
    }

    public Path dir() { return dir; }
    public boolean readOnly() { return readOnly; }
    /** This boot's generation (read-write) or the last writer's (read-only). */
    public long generation() { return generation; }
    /** Read-write: the previous writer ended uncleanly and recovery ran. Read-only: the mount is not clean now. */
    public boolean recovering() { return recovering; }
    /** Read-write, after an unclean end: how long the registries' open (their recovery) took; else 0. Waits for the open. */
    public long registryRecoveryMillis() {
        if (opening == null || !recovering) {
            return 0;
        }
        registries();
        return (opening.endNanos() - opening.startNanos()) / 1_000_000;
    }

    /** Read-write: the registries' open (recovery included), as {start, end} on System.nanoTime; waits for it. */
    public long[] registryOpenNanos() {
        if (opening == null) {
            return new long[] {0, 0};
        }
        registries();
        return new long[] {opening.startNanos(), opening.endNanos()};
    }

    /** Read-write: the registries were opened on a background thread. */
    public boolean registriesInBackground() { return opening != null && opening.background(); }

    /** Read-write: how long callers of {@link #registries()} have waited for the background open so far. */
    public long registryWaitNanos() { return opening == null ? 0 : opening.waitedNanos(); }

    /** Read-write: System.nanoTime when {@link #mountReadWrite} began. */
    public long mountStartNanos() { return mountStartNanos; }

    /** The preserved record as this mount found it (before any registry was opened), or null: absent or refused. */
    public PreservedRecord.Contents preservedAtMount() { return preservedAtMount; }

    /** Why the preserved record found at mount was refused (file, offset, reason), or null. */
    public String preservedRefusal() { return preservedRefusal; }

    /** How long reading the preserved record took at mount. */
    public long preservedReadNanos() { return preservedReadNanos; }

    /** The writer's preserved record, kept current by the kernel (null for read-only mounts). */
    public PreservedRecord preservedRecord() { return preservedRecord; }
    /** What the read-write mount's check found (null for a new mount and for read-only mounts). */
    public MountAcceptance acceptance() { return acceptance; }
    public Superblock superblock() { return superblock; }
    /** Null on a read-only mount that never had one. */
    public IntentJournal journal() { return journal; }

    /** Live registries for the writer; private recovered copies (opened on first use) for observers. */
    public Registries registries() {
        if (opening != null) {
            return opening.await(); // the writer's: waits for a background open
        }
        synchronized (this) {
            if (snapshots == null) {
                snapshots = Registries.openSnapshot(dir);
            }
            return snapshots;
        }
    }

    /** The registries if they are open now (never waits): the writer's live ones or the observer's snapshots. */
    private Registries openRegistries() {
        if (opening != null) {
            opening.settle();
            return opening.ifOpen();
        }
        return snapshots;
    }

    public Path pageTablePath(String name) { return dir.resolve(PGTABLES_DIR).resolve(name + PGTABLE_SUFFIX); }
    public Path iommuTablePath(String name) { return dir.resolve(IOMMU_DIR).resolve(name + IOMMU_SUFFIX); }
    public Path guestMemoryPath(String name) { return dir.resolve(MEM_DIR).resolve(name + MEM_SUFFIX); }

    public synchronized PageTableFile createTableFile(Path path, int kind, int format, long capacityPages, long ownerId) {
        checkWritable();
        long pa = superblock.reservePa(false, capacityPages * PageTableFileDescriptor.PAGE_SIZE);
        PageTableFile f = PageTableFile.create(path, kind, format, capacityPages, pa, ownerId, generation);
        tableFiles.put(path, f);
        return f;
    }

    /**
     * The table files this mount has opened or created so far, by path, in that order (a snapshot):
     * what this JVM changed is in these, and finding them lists no directory.
     */
    public synchronized Map<Path, PageTableFile> openedTableFiles() {
        return new LinkedHashMap<>(tableFiles);
    }

    /** Opens (once; later calls return the same instance) a table file for this mount's role. */
    public synchronized PageTableFile openTableFile(Path path) {
        PageTableFile f = tableFiles.get(path);
        if (f == null) {
            if (readOnly) {
                f = PageTableFile.openReadOnly(path);
            } else {
                f = PageTableFile.openReadWrite(path, generation);
                f.resetMutation();
            }
            tableFiles.put(path, f);
        }
        return f;
    }

    public synchronized GuestMemoryFile createGuestMemory(String name, long size) {
        checkWritable();
        long pa = superblock.reservePa(true, size);
        GuestMemoryFile g = GuestMemoryFile.create(guestMemoryPath(name), pa, size, generation);
        memoryFiles.put(g.path(), g);
        return g;
    }

    public synchronized GuestMemoryFile openGuestMemory(String name) {
        Path p = guestMemoryPath(name);
        GuestMemoryFile g = memoryFiles.get(p);
        if (g == null) {
            g = readOnly ? GuestMemoryFile.openReadOnly(p) : GuestMemoryFile.open(p);
            memoryFiles.put(p, g);
        }
        return g;
    }

    public List<Path> pageTableFiles() { return list(dir.resolve(PGTABLES_DIR), PGTABLE_SUFFIX); }
    public List<Path> iommuTableFiles() { return list(dir.resolve(IOMMU_DIR), IOMMU_SUFFIX); }
    public List<Path> guestMemoryFiles() { return list(dir.resolve(MEM_DIR), MEM_SUFFIX); }

    public static String baseName(Path p, String suffix) {
        String n = p.getFileName().toString();
        return n.endsWith(suffix) ? n.substring(0, n.length() - suffix.length()) : n;
    }

    /** The files of {@code d} ending in {@code suffix}, in name order (none if {@code d} is absent). */
    public static List<Path> list(Path d, String suffix) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(d)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(d, "*" + suffix)) {
            for (Path p : s) {
                out.add(p);
            }
        } catch (IOException e) {
            throw new PersistException("cannot list " + d + ": " + e.getMessage(), e);
        }
        Collections.sort(out);
        return out;
    }

    private void checkWritable() {
        if (readOnly) {
            throw new PersistException(dir + " is mounted read-only");
        }
    }

    /**
     * What the OS does for a writer that dies: mappings and the lock go, nothing is marked clean,
     * nothing is flushed beyond what the page cache already holds. The next read-write mount sees
     * an unclean end and recovers. For in-JVM crash simulation (a trace's crash kexec, tests).
     */
    public synchronized void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        Registries registries = openRegistries();
        if (registries != null) {
            registries.close(); // Chronicle Map holds in-process file locks a dead process would not
        }
        if (preservedRecord != null) {
            preservedRecord.close();
        }
        tableFiles.values().forEach(PageTableFile::close);
        memoryFiles.values().forEach(GuestMemoryFile::close);
        if (journal != null) {
            journal.close();
        }
        superblock.close();
        if (lock != null) {
            lock.close();
        }
    }

    /**
     * Unmount (the planned-kexec path): every open file marked clean, then the superblock, then the
     * lock released. The superblock's flag is stored last, so a crash in between is seen as unclean.
     *
     * <p>If an intent is still active in the journal, or a table file is in the middle of an update
     * (odd mutation sequence), the unmount is not clean: the superblock stays dirty, so that the
     * next mount recovers (replays the intent, sweeps). Everything is closed and the writer lock is
     * released in every case.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            unmount(true);
        } catch (PersistentStores.StoreCrash death) {
            // a simulated death part-way through the unmount: what is still open goes as abandon() lets it go
            closed = false;
            abandon();
            throw death;
        }
    }

    /**
     * The unmount of a writer whose process ends right after it (the planned kexec's old host):
     * as {@link #close()}, the same stores in the same order, except that the Chronicle Map
     * registries are sealed while still mapped and are not closed. Closing them stores nothing
     * (their bytes are the page cache's, written as each put returned; Chronicle's close unmaps
     * and closes descriptors only, and runs cold: 5-15 ms of the blackout), so once no writer runs
     * their seals describe exactly what the next boot finds; the mappings go when the process ends,
     * as a killed writer's do. Nothing may write a registry afterwards: the caller's process only
     * replies and ends ({@code ExitBoundUnmountTest} checks seals taken so against the closed files).
     *
     * @return the registries left open (null if none was open), for a caller that does not end
     */
    public synchronized Registries closeLeavingRegistriesMapped() {
        if (closed) {
            return null;
        }
        closed = true;
        try {
            return unmount(false);
        } catch (PersistentStores.StoreCrash death) {
            closed = false;
            abandon();
            throw death;
        }
    }

    /** @return the registries left open: null when {@code closeRegistries}, else the open ones */
    private Registries unmount(boolean closeRegistries) {
        RuntimeException failure = null;
        boolean clean = !readOnly && (journal == null || !journal.active());
        Registries registries = openRegistries();
        if (opening != null && registries == null) {
            // the registries were refused (their content differs from their seals) or failed to open:
            // not a clean end, so the next boot checks them against the seals again, which no open consumed
            clean = false;
        }
        if (preservedRecord != null) {
            preservedRecord.close();
        }
        try {
            if (registries != null && closeRegistries) {
                registries.close();
            }
        } catch (RuntimeException e) {
            failure = e;
            clean = false;
        }
        for (PageTableFile f : tableFiles.values()) {
            try {
                if (!readOnly) {
                    if (f.mutationSeq() % 2 == 0) {
                        f.markClean();
                    } else {
                        clean = false; // an update under way: leave it to recovery
                    }
                }
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
                clean = false;
            } finally {
                f.close();
            }
        }
        for (GuestMemoryFile g : memoryFiles.values()) {
            g.close();
        }
        if (journal != null) {
            journal.close();
        }
        if (clean && registries != null) {
            try {
                // the registries are closed: seal their exact length and content for the planned boot
                RegistrySeal.sealAll(dir, generation);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
                clean = false;
            }
        }
        try {
            if (clean) {
                superblock.markClean();
            }
        } finally {
            superblock.close();
            if (lock != null) {
                lock.close();
            }
        }
        if (failure != null) {
            if (!closeRegistries && registries != null) {
                registries.close(); // a failed unmount is not the end of the process: nothing stays mapped
            }
            throw failure;
        }
        return closeRegistries ? null : registries;
    }
}
