package org.pkstore.vfio;

import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ReattachState;

/**
 * How the kernel keeps the preserved record (docs/FORMAT.md 8.6) following the registries: the
 * operation word set before an ioctl that may change what a reattach needs, the record rewritten
 * before the next other operation, at the end of a boot (or of record mode's catch-up) and at a
 * planned stop. Called under the kernel's lock.
 */
final class PreservedRecordKeeping {
    private static final System.Logger LOG = DeferredLogger.of(PreservedRecordKeeping.class);

    private final VfioKernel kernel;
    /** An operation may have changed what the preserved record holds since it was last written. */
    private boolean pending;

    PreservedRecordKeeping(VfioKernel kernel) {
        this.kernel = kernel;
    }

    private PreservedRecord record() {
        return kernel.isClosed() ? null : kernel.mount.preservedRecord();
    }

    /** Rewrites the record from the registries and clears its operation word. */
    void write() {
        pending = false;
        PreservedRecord r = record();
        if (r == null) {
            return;
        }
        try {
            r.write(ReattachState.of(kernel.registries), kernel.mount.generation());
        } catch (RuntimeException e) {
            // the operation word stays set: the next boot reads the registries instead
            LOG.log(System.Logger.Level.ERROR, "preserved record not rewritten", e);
        }
    }

    void writeIfPending() {
        if (pending) {
            write();
        }
    }

    /**
     * Before an operation, never after it: a change left pending by the previous operations is
     * written into the record first unless this operation changes it again, and if this operation
     * may change what a reattach needs, the operation word is set. So every store of the record
     * precedes the operation's own stores, and a death at one of them leaves the state as it was
     * before the operation; the map path stores nothing unless a change is pending (once after each change).
     */
    void before(int request, boolean changes) {
        PreservedRecord r = record();
        if (r == null) {
            return;
        }
        if (pending && !changes) {
            write();
        }
        if (changes) {
            // consecutive changes (an attach: SET_PERSISTENT_PGTABLES, GROUP_SET_CONTAINER, SET_IOMMU)
            // leave the record behind, flagged, and it is written once, before the next other operation
            r.beginOperation(request);
            pending = true;
        }
    }

    /** The ioctls that may change what the preserved record holds (all but the map path and pure queries). */
    static boolean changesReattachState(int request) {
        return request != VfioKernel.VFIO_IOMMU_MAP_DMA && request != VfioKernel.VFIO_IOMMU_UNMAP_DMA
                && request != VfioKernel.VFIO_GET_API_VERSION && request != VfioKernel.VFIO_CHECK_EXTENSION
                && request != VfioKernel.VFIO_GROUP_GET_STATUS && request != VfioKernel.VFIO_IOMMU_GET_INFO
                && request != VfioKernel.VFIO_IOMMU_GET_VMID && request != VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE;
    }
}
