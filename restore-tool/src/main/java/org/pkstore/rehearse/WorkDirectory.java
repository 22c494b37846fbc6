package org.pkstore.rehearse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * What a rehearsal keeps in its work directory, shared by the driver and the host JVMs:
 * <pre>
 * WORK/pkernfs/            the pkernfs mount (the hosts' kernel state)
 * WORK/vmm-state           the VMM's own preserved state (outside pkernfs; its format: VmmState)
 * WORK/dma-targets.txt     the device's targets, one "BDF IOVA" a line
 * WORK/frozen-at           written by a host that reached an armed kill point
 * WORK/churn-acks.txt      the churn's acknowledged MAP_DMA/UNMAP_DMA, one line each
 * WORK/hotplug-acks.txt    the further VM's acknowledged setup steps, one line each
 * WORK/logs/               stderr of every child JVM
 * </pre>
 */
final class WorkDirectory {
    private WorkDirectory() {}

    static final String MOUNT_DIR = "pkernfs";
    static final String VMM_STATE = VmmState.FILE;
    static final String DMA_TARGETS = "dma-targets.txt";
    static final String FROZEN_MARKER = "frozen-at";
    static final String CHURN_ACKS = "churn-acks.txt";
    static final String HOTPLUG_ACKS = "hotplug-acks.txt";
    static final String LOGS = "logs";

    /** Memory-backed file system the temporary work directory prefers: pkernfs is memory kexec preserves. */
    static final Path MEMORY_FS = Path.of("/dev/shm");
    /** Free space the memory file system must have to be used (sparse guest memory, two 64 MiB table files, registries, the rebuild's scratch). */
    static final long MEMORY_FS_MIN_FREE = 2L << 30;

    /**
     * A new temporary work directory: on {@link #MEMORY_FS} when it is a writable directory with at
     * least {@link #MEMORY_FS_MIN_FREE} free (a tmpfs, as pkernfs is memory: no writeback, so the
     * device's stores into guest memory never wait for a disk journal), else in java.io.tmpdir.
     * {@code PKSTORE_TMP} names another parent.
     */
    static Path createTemporary(String prefix) throws IOException {
        String chosen = System.getenv("PKSTORE_TMP");
        if (chosen != null && !chosen.isBlank()) {
            return Files.createTempDirectory(Path.of(chosen), prefix);
        }
        try {
            if (Files.isDirectory(MEMORY_FS) && Files.isWritable(MEMORY_FS)
                    && Files.getFileStore(MEMORY_FS).getUsableSpace() >= MEMORY_FS_MIN_FREE) {
                return Files.createTempDirectory(MEMORY_FS, prefix);
            }
        } catch (IOException | SecurityException e) {
            // not usable: the JVM's temporary directory below
        }
        return Files.createTempDirectory(prefix);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
