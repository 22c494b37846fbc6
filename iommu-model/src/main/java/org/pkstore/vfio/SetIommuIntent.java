package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.ByteBuffer;

/**
 * The SET_IOMMU intent (journal op {@link KernelIntent#SET_IOMMU}): VFIO_SET_IOMMU's persistent
 * steps and what recovery does with them. The VMID is chosen before the intent begins (a count
 * taken for it is rebuilt at recovery from its holders, {@link VmidOwners}).
 *
 * <pre>
 *  step                                               a kill after it: recovery
 *  begin SET_IOMMU {container, domain id, vmid}
 *  1 attach each device (one store per entry)         no domain record: undo (detach them)
 *  2 put the domain record                            domain record present: finish (step 3)
 *  3 put the container record (type, vmid, domain)
 *  end
 * </pre>
 *
 * Undo takes down only entries this intent made: present, on the container's devices, tagged with
 * the intent's VMID, and not backed by a domain record (a preserved domain being adopted has its
 * record, so its live entries are never touched).
 */
final class SetIommuIntent {
    private SetIommuIntent() {}

    static byte[] payload(int container, long domainId, int vmid) {
        return KernelIntent.buf(16).putInt(container).putLong(domainId).putInt(vmid).array();
    }

    static String recover(VfioKernel kernel, ByteBuffer payload) {
        int container = payload.getInt();
        long domainId = payload.getLong();
        int vmid = payload.getInt();
        DomainRecord d = kernel.registries.domains.get(domainId);
        ContainerRecord c = kernel.registries.containers.get(container);
        if (d != null && d.containerId() == container) {
            if (c != null) {
                int type = d.stage() == IommuDomain.STAGE_NESTED ? VfioUapi.VFIO_TYPE1_NESTING_IOMMU
                        : VfioUapi.VFIO_TYPE1v2_IOMMU;
                kernel.registries.containers.put(container, new ContainerRecord(container, type, d.vmid(),
                        c.pgtableFile(), d.domainId(), c.pasidQuota(), c.flags()));
            }
            return "finished";
        }
        for (GroupRecord g : kernel.registries.groups.values()) {
            if (g.containerId() != container || kernel.topology.group(g.groupId()) == null) {
                continue;
            }
            for (Bdf b : kernel.topology.group(g.groupId()).devices()) {
                for (IommuUnit u : kernel.units.values()) {
                    if (!u.devices().contains(b)) {
                        continue;
                    }
                    DeviceEntry e = u.deviceTable().lookup(b);
                    if (e.present() && e.did() == vmid && !VmidOwners.backedByDomain(kernel, u.id(), e)) {
                        u.deviceTable().detach(b);
                    }
                }
            }
        }
        return "undone";
    }
}
