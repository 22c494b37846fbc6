package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Who holds a VMID after an unclean end: every container record naming it holds one reference,
 * and a VMID still named only by a domain record or a present device-table entry (a cut-short
 * SET_IOMMU or SET_VMID the journal could not resolve) holds one more, so it is never handed out
 * to another VM while a device may still be tagged with it (issue 11: two VMs behind one DID).
 */
final class VmidOwners {
    private VmidOwners() {}

    /** The reference counts the allocator is rebuilt with at recovery. */
    static Map<Integer, Integer> counts(VfioKernel kernel) {
        Map<Integer, Integer> counts = new TreeMap<>();
        for (ContainerRecord c : kernel.registries.containers.values()) {
            if (c.vmid() != VfioContainer.VMID_INVALID) {
                counts.merge(c.vmid(), 1, Integer::sum);
            }
        }
        Set<Integer> named = new TreeSet<>();
        for (DomainRecord d : kernel.registries.domains.values()) {
            named.add(d.vmid());
        }
        for (IommuUnit u : kernel.units.values()) {
            for (Bdf b : u.devices()) {
                DeviceEntry e = u.deviceTable().lookup(b);
                if (e.present()) {
                    named.add(e.did());
                }
            }
        }
        for (int v : named) {
            if (v != VfioContainer.VMID_INVALID && !counts.containsKey(v)) {
                counts.put(v, 1);
                kernel.recovery.note("VMID " + v + " is named by a domain record or device-table entry but by no "
                        + "container: held so no other VM is given it");
            }
        }
        return counts;
    }

    /** True when a domain record on {@code unitId} carries the entry's DID. */
    static boolean backedByDomain(VfioKernel kernel, int unitId, DeviceEntry e) {
        return MountReachability.unbacked(unitId, e.did(), kernel.registries.domains.values(), v -> true) == null;
    }
}
