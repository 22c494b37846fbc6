package org.pkstore.persist;

import java.nio.file.Path;

/** A second read-write mount was refused because another process holds the writer lock. */
public final class MountLockedException extends PersistException {
    private final long holderPid;

    public MountLockedException(Path lockFile, long holderPid) {
        super("pkernfs mount " + lockFile.getParent() + " is held read-write by pid " + holderPid
                + " (lock file " + lockFile + "); open it read-only, or stop that process");
        this.holderPid = holderPid;
    }

    public long holderPid() { return holderPid; }
}
