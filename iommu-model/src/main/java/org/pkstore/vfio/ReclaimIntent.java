package org.pkstore.vfio;

import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.GroupRecord;

import java.nio.ByteBuffer;

/**
 * The RECLAIM intent (journal op {@link KernelIntent#RECLAIM}; payload
 * {@code i32 fresh container | i32 preserved container}): SET_PERSISTENT_PGTABLES on a file a
 * preserved container was bound to makes the fresh container that one ({@link KernelBoot#reclaim}).
 * Its persistent steps (the fresh container's record, PASIDs and faults dropped; its group records
 * moved to the preserved id, the preserved record saved with no IOMMU type until SET_IOMMU adopts
 * its domain) are finished by recovery, so no group record is left naming a container that no
 * longer exists.
 */
final class ReclaimIntent {
    private ReclaimIntent() {}

    static byte[] payload(int fresh, int preserved) {
        return KernelIntent.ints(fresh, preserved);
    }

    static String recover(VfioKernel kernel, ByteBuffer payload) {
        int fresh = payload.getInt();
        int preserved = payload.getInt();
        kernel.registries.containers.remove(fresh);
        kernel.pasids.freeAll(fresh);
        for (long key : kernel.registries.faults.keys()) {
            if (kernel.registries.faults.get(key).containerId() == fresh) {
                kernel.registries.faults.remove(key);
            }
        }
        for (GroupRecord g : kernel.registries.groups.values()) {
            if (g.containerId() == fresh) {
                kernel.registries.groups.put(g.groupId(), new GroupRecord(g.groupId(), preserved));
            }
        }
        ContainerRecord p = kernel.registries.containers.get(preserved);
        if (p != null && p.iommuType() != 0) {
            // as the reclaiming container saves itself: no IOMMU type until its SET_IOMMU adopts the domain
            kernel.registries.containers.put(preserved, new ContainerRecord(preserved, 0, p.vmid(), p.pgtableFile(),
                    p.domainId(), p.pasidQuota(), 0));
        }
        return "finished";
    }
}
