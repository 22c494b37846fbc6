package org.pkstore.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The single-writer lock of a mount: an OS advisory lock on {@code pkernfs.lock}, whose content is
 * the holder's pid. The OS drops the lock when the holder dies, so a SIGKILLed writer never blocks
 * the next boot; a live holder makes a second read-write mount fail at once, naming its pid.
 */
public final class MountLock implements AutoCloseable {
    public static final String FILE_NAME = "pkernfs.lock";

    /**
     * Locks this JVM holds, by canonical lock-file path. POSIX record locks belong to the process,
     * and closing any descriptor of the file releases them all, so within one JVM the lock file is
     * never opened a second time while it is held: a second mount is refused from this table.
     */
    private static final Map<Path, MountLock> HELD = new HashMap<>();
    /** Channels that must stay open because closing them would drop a lock held elsewhere in this JVM. */
    private static final List<FileChannel> PARKED = new ArrayList<>();

    private final Path file;
    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private MountLock(Path file, Path key, FileChannel channel, FileLock lock) {
        this.file = file;
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the writer lock and records this process's pid in the lock file. */
    public static MountLock acquire(Path mountDir) {
        MountLock l = acquireUnrecorded(mountDir);
        try {
            l.recordHolder();
        } catch (RuntimeException e) {
            l.close();
            throw e;
        }
        return l;
    }

    /**
     * Takes the writer lock without touching the lock file's content, so that a mount that is then
     * refused (a corrupt file) modifies nothing; the caller calls {@link #recordHolder()} once it
     * has decided to go on. Until then a competitor is told the pid of the previous holder.
     */
    static MountLock acquireUnrecorded(Path mountDir) {
        Path file = mountDir.resolve(FILE_NAME);
        synchronized (HELD) {
            Path key = keyOf(file);
            if (key != null && HELD.containsKey(key)) {
                // Held by this very JVM. Never open a second channel on the file here: on Linux,
                // closing ANY descriptor of a file drops every POSIX lock the process holds on it.
                throw new MountLockedException(file, ProcessHandle.current().pid());
            }
            FileChannel ch = null;
            try {
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    // locked by this JVM through some other path to the same file: keep the channel
                    // open (closing it would drop that lock) and refuse
                    PARKED.add(ch);
                    throw new MountLockedException(file, ProcessHandle.current().pid());
                }
                if (l == null) {
                    long pid = readPid(ch);
                    ch.close(); // this JVM holds no lock on the file, so closing drops nothing
                    throw new MountLockedException(file, pid);
                }
                MountLock m = new MountLock(file, keyOf(file), ch, l);
                HELD.put(m.key, m);
                return m;
            } catch (IOException e) {
                closeQuietly(ch);
                throw new PersistException("cannot lock " + file + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Writes this process's pid into the lock file (which this process holds): written over the
     * old pid, then cut to its length (a no-op when the length is the same, the usual case), no
     * fdatasync: the content is informational and, like every pkstore file, durable against
     * process death only (FORMAT.md 2.3, 4); the two syscalls cost milliseconds on the boot's path.
     */
    void recordHolder() {
        try {
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
            ByteBuffer b = ByteBuffer.wrap(pid);
            while (b.hasRemaining()) {
                channel.write(b, b.position());
            }
            channel.truncate(pid.length);
        } catch (IOException e) {
            throw new PersistException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The pid recorded by the last holder, or -1; whether it still holds the lock is another matter. */
    public static long recordedHolder(Path mountDir) {
        Path file = mountDir.resolve(FILE_NAME);
        synchronized (HELD) {
            MountLock mine = HELD.get(keyOf(file));
            if (mine != null) {
                try {
                    return readPid(mine.channel); // through the holder's own channel: see acquireUnrecorded
                } catch (IOException e) {
                    return -1;
                }
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                return readPid(ch);
            } catch (IOException e) {
                return -1;
            }
        }
    }

    /** True when some process holds the writer lock right now (tested without taking it for long). */
    public static boolean isHeld(Path mountDir) {
        Path file = mountDir.resolve(FILE_NAME);
        if (!file.toFile().exists()) {
            return false;
        }
        synchronized (HELD) {
            if (HELD.containsKey(keyOf(file))) {
                return true;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    return true;
                }
                if (l == null) {
                    return true;
                }
                l.release();
                return false;
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** The canonical path of an existing lock file, or null if it does not exist. */
    private static Path keyOf(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException e) {
            return null;
        }
    }

    private static long readPid(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(32);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }

    @Override
    public void close() {
        synchronized (HELD) {
            if (closed) {
                return;
            }
            closed = true;
            HELD.remove(key, this);
            try {
                lock.release();
            } catch (IOException ignored) {
                // the channel close below drops it anyway
            }
            closeQuietly(channel);
        }
    }
}
