package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.PasidRecord;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Who holds a VMID or a PASID, from everything that can name one: container records, domain
 * records, binding and PASID records, and present device-table entries (their DID and their bound
 * PASIDs, read through {@link DeviceTableReader}'s public API, never raw offsets). The recovering
 * boot rebuilds both allocators from it ({@link #rebuild}), and the crash invariants and
 * {@code verify} compare the registries against the same answer, so an ID any holder still names
 * is never handed to another VM (issue 11: two VMs behind one DID).
 *
 * <ul>
 *   <li>VMID: one reference per container record naming it; a VMID named only by a domain record
 *       or a present device-table entry (a cut-short SET_IOMMU or SET_VMID the journal could not
 *       resolve) holds one more.</li>
 *   <li>PASID: a PASID record whose container has a record; a binding record's PASID (owned by the
 *       binding's container); a PASID bound on a present device-table entry (owned by the container
 *       whose domain carries the entry's DID, else by the record that named it). A PASID record of a
 *       container with no record, named by nothing else, is dropped.</li>
 * </ul>
 */
public final class VmidOwners {
    private VmidOwners() {}

    /** A present device-table entry as ownership sees it: its unit, device, DID and bound PASIDs. */
    public record DeviceHold(int unitId, Bdf bdf, int did, List<Integer> boundPasids) {}

    /** The holds of the present entries of {@code devices} in one unit's device table. */
    public static List<DeviceHold> deviceHolds(int unitId, DeviceTableReader reader, Collection<Bdf> devices) {
        List<DeviceHold> out = new ArrayList<>();
        for (Bdf b : devices) {
            DeviceEntry e = reader.lookup(b).entry();
            if (!e.present()) {
                continue;
            }
            // VT-d: the nested PASID-table entries. SMMUv3: none, the bound SSIDs are CDs in guest memory;
            // their owners come from the binding records (pasidOwners), within the STE's S1CDMax range
            List<Integer> pasids = new ArrayList<>();
            for (BoundPasidEntry p : reader.boundPasids(e)) {
                pasids.add(p.pasid());
            }
            out.add(new DeviceHold(unitId, b, e.did(), pasids));
        }
        return out;
    }

    /** VMID -> reference count; {@code note} hears of every VMID held only for a domain record or a device. */
    public static Map<Integer, Integer> vmidCounts(Collection<ContainerRecord> containers, Collection<DomainRecord> domains,
                                                   Collection<DeviceHold> devices, Consumer<String> note) {
        Map<Integer, Integer> counts = new TreeMap<>();
        for (ContainerRecord c : containers) {
            if (c.vmid() != VfioContainer.VMID_INVALID) {
                counts.merge(c.vmid(), 1, Integer::sum);
            }
        }
        Set<Integer> named = new TreeSet<>();
        for (DomainRecord d : domains) {
            named.add(d.vmid());
        }
        for (DeviceHold h : devices) {
            named.add(h.did());
        }
        for (int v : named) {
            if (v != VfioContainer.VMID_INVALID && !counts.containsKey(v)) {
                counts.put(v, 1);
                note.accept("VMID " + Integer.toUnsignedString(v) + " is named by a domain record or device-table entry "
                        + "but by no container: held so no other VM is given it");
            }
        }
        return counts;
    }

    /** PASID -> owning container. */
    public static Map<Integer, Integer> pasidOwners(Collection<ContainerRecord> containers, Collection<DomainRecord> domains,
                                                    Collection<PasidRecord> pasids, Collection<BindingRecord> bindings,
                                                    Collection<DeviceHold> devices, Consumer<String> note) {
        Set<Integer> live = new TreeSet<>();
        containers.forEach(c -> live.add(c.containerId()));
        Map<Integer, Integer> recorded = new TreeMap<>();
        pasids.forEach(p -> recorded.put(p.pasid(), p.containerId()));
        Map<Integer, Integer> owners = new TreeMap<>();
        recorded.forEach((p, c) -> {
            if (live.contains(c)) {
                owners.put(p, c);
            }
        });
        for (BindingRecord b : bindings) {
            if (owners.putIfAbsent(b.hpasid(), b.containerId()) == null && !recorded.containsKey(b.hpasid())) {
                note.accept("PASID " + b.hpasid() + " is bound by container " + b.containerId() + " but was not allocated: held");
            }
        }
        for (DeviceHold h : devices) {
            for (int p : h.boundPasids()) {
                if (owners.containsKey(p)) {
                    continue;
                }
                int owner = recorded.getOrDefault(p, VfioContainer.VMID_INVALID);
                for (DomainRecord d : domains) {
                    if (d.unitId() == h.unitId() && d.vmid() == h.did()) {
                        owner = d.containerId();
                        break;
                    }
                }
                owners.put(p, owner);
                note.accept("PASID " + p + " is still bound on " + h.bdf() + ": held for container " + owner);
            }
        }
        return owners;
    }

    /** The holds of every present entry of the kernel's units. */
    static List<DeviceHold> deviceHolds(VfioKernel kernel) {
        List<DeviceHold> out = new ArrayList<>();
        for (IommuUnit u : kernel.units.values()) {
            out.addAll(deviceHolds(u.id(), u.deviceTable().reader(), u.devices()));
        }
        return out;
    }

    /** Recovery: both allocators made exactly what their holders say (no store when they agree). */
    static void rebuild(VfioKernel kernel) {
        List<DeviceHold> devices = deviceHolds(kernel);
        Collection<ContainerRecord> containers = kernel.registries.containers.values();
        Collection<DomainRecord> domains = kernel.registries.domains.values();
        kernel.vmids.rebuild(vmidCounts(containers, domains, devices, kernel.recovery::note));
        kernel.pasids.rebuild(pasidOwners(containers, domains, kernel.registries.pasids.values(),
                kernel.registries.bindings.values(), devices, kernel.recovery::note));
    }

    /** True when a domain record on {@code unitId} carries the entry's DID. */
    static boolean backedByDomain(VfioKernel kernel, int unitId, DeviceEntry e) {
        return MountReachability.unbacked(unitId, e.did(), kernel.registries.domains.values(), v -> true) == null;
    }
}
