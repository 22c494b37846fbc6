package org.pkstore.rehearse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Faults a rehearsal can be told to inject ({@code pkstore rehearse --inject-fault}), so that a CI
 * can check that a broken live update makes every report fail, not only the exit status.
 */
public final class FaultInjection {
    /**
     * Before the first reattach, the VMM believes its 4 KiB mapping of the first container is one
     * page longer than what it mapped; the kernel must refuse the live-update MAP_DMA (docs/UAPI.md,
     * VFIO_IOMMU_MAP_DMA with the live-update flag) and the rehearsal fails at that step.
     */
    public static final String LIVE_UPDATE_MISMATCH = "live-update-mismatch";
    public static final List<String> ALL = List.of(LIVE_UPDATE_MISMATCH);

    private FaultInjection() {}

    static void liveUpdateMismatch(Path vmmStateFile) {
        try {
            VmmState vmm = VmmState.read(vmmStateFile);
            if (!vmm.containers.isEmpty()) {
                for (VmmState.Mapping m : vmm.containers.get(0).mappings) {
                    if ("ram-4k".equals(m.label)) {
                        m.size += 4096;
                        vmm.write(vmmStateFile);
                        return;
                    }
                }
            }
            throw new RehearsalException("no 4 KiB mapping in " + vmmStateFile + " to make longer");
        } catch (IOException e) {
            throw new RehearsalException("cannot inject a mismatch into " + vmmStateFile, e);
        }
    }
}
