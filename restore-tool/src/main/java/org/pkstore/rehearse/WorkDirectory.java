package org.pkstore.rehearse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * What a rehearsal keeps in its work directory, shared by the driver and the host JVMs:
 * <pre>
 * WORK/pkernfs/            the pkernfs mount (the hosts' kernel state)
 * WORK/vmm-state.json      the VMM's own preserved state (outside pkernfs)
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
    static final String VMM_STATE = "vmm-state.json";
    static final String DMA_TARGETS = "dma-targets.txt";
    static final String FROZEN_MARKER = "frozen-at";
    static final String CHURN_ACKS = "churn-acks.txt";
    static final String HOTPLUG_ACKS = "hotplug-acks.txt";
    static final String LOGS = "logs";

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
