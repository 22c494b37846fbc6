package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;

import java.nio.ByteBuffer;

/**
 * The GROUP_ATTACH and GROUP_DETACH intents (journal ops {@link KernelIntent#GROUP_ATTACH},
 * {@link KernelIntent#GROUP_DETACH}; payload {@code i32 container | i32 group}):
 * VFIO_GROUP_SET_CONTAINER and VFIO_GROUP_UNSET_CONTAINER (or closing the group fd) when the
 * container has a domain, and what recovery does with them.
 *
 * <pre>
 *  GROUP_ATTACH                                 a kill after it: recovery
 *  1 attach each device of the group            no group record for the group: undo (detach the
 *                                               entries tagged with the container's VMID)
 *  2 put the group record                       group record names the container: finished
 *
 *  GROUP_DETACH                                 a kill after it: recovery (always finish)
 *  1 detach each device of the group            detach what is still present
 *  2 remove the group record                    remove it
 *  3 last group gone: unmap everything, drop    the same code on the container rebuilt from its records
 *                                               ({@link ReleaseIntent#finishDomainRelease})
 *    the domain record, container record saved
 * </pre>
 */
final class GroupIntent {
    private GroupIntent() {}

    static byte[] payload(int container, int group) {
        return KernelIntent.ints(container, group);
    }

    static String recoverAttach(VfioKernel kernel, ByteBuffer payload) {
        int container = payload.getInt();
        int group = payload.getInt();
        GroupRecord g = kernel.registries.groups.get(group);
        if (g != null && g.containerId() == container) {
            return "finished";
        }
        if (g != null) {
            return "undone (the group record names container " + g.containerId() + ": its entries are left alone)";
        }
        ContainerRecord c = kernel.registries.containers.get(container);
        DomainRecord d = null;
        for (DomainRecord r : kernel.registries.domains.values()) {
            if (r.containerId() == container) {
                d = r;
            }
        }
        int vmid = d != null ? d.vmid() : c != null ? c.vmid() : VfioContainer.VMID_INVALID;
        HostTopology.Group hg = kernel.topology.group(group);
        if (hg == null || vmid == VfioContainer.VMID_INVALID) {
            return "undone";
        }
        for (Bdf b : hg.devices()) {
            DeviceTable t = tableOf(kernel, hg);
            DeviceEntry e = t == null ? null : t.lookup(b);
            if (e != null && e.present() && e.did() == vmid) {
                t.detach(b);
            }
        }
        return "undone";
    }

    static String recoverDetach(VfioKernel kernel, ByteBuffer payload) {
        int container = payload.getInt();
        int group = payload.getInt();
        HostTopology.Group hg = kernel.topology.group(group);
        DeviceTable t = hg == null ? null : tableOf(kernel, hg);
        if (t != null) {
            for (Bdf b : hg.devices()) {
                if (t.lookup(b).present()) {
                    t.detach(b);
                }
            }
        }
        GroupRecord g = kernel.registries.groups.get(group);
        if (g != null && g.containerId() == container) {
            kernel.registries.groups.remove(group);
        }
        boolean lastGroup = kernel.registries.groups.values().stream().noneMatch(r -> r.containerId() == container);
        if (lastGroup) {
            ReleaseIntent.finishDomainRelease(kernel, container);
        }
        return "finished";
    }

    private static DeviceTable tableOf(VfioKernel kernel, HostTopology.Group g) {
        IommuUnit u = kernel.units.get(g.unitId());
        return u == null ? null : u.deviceTable();
    }
}
