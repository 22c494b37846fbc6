package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;

import java.nio.ByteBuffer;

/**
 * The SET_VMID intent (journal op {@link KernelIntent#SET_VMID}; payload
 * {@code i32 container | i32 old vmid | i32 new vmid}): VFIO_IOMMU_SET_VMID's persistent steps
 * ({@link VfioContainer#setVmid}) and what recovery does with them. The reference counts are not
 * replayed: the recovering boot rebuilds them from every holder ({@link VmidOwners}).
 *
 * <pre>
 *  step                                              a kill after it: recovery (always finish)
 *  1 take the new VMID, give back the old one
 *  2 retag each device entry (one store each)        retag every device of the container
 *  3 put the domain record                           put it with the new VMID
 *  4 put the container record                        put it with the new VMID
 * </pre>
 */
final class VmidIntent {
    private VmidIntent() {}

    static byte[] payload(int container, int oldVmid, int newVmid) {
        return KernelIntent.ints(container, oldVmid, newVmid);
    }

    static String finish(VfioKernel kernel, ByteBuffer payload) {
        int c = payload.getInt();
        payload.getInt();
        int nv = payload.getInt();
        ContainerRecord cr = kernel.registries.containers.get(c);
        DomainRecord d = IntentRecords.domainOf(kernel, c);
        if (d != null) {
            DeviceTable t = IntentRecords.tableOf(kernel, d);
            if (t != null) {
                for (Bdf device : IntentRecords.devicesOf(kernel, c)) {
                    t.setDid(device, nv);
                }
            }
            kernel.registries.domains.put(d.domainId(), new DomainRecord(d.domainId(), d.unitId(), d.format(), nv,
                    d.pgtableFile(), d.stage(), d.partialUnmapPolicy(), d.pgsizeBitmap(), d.containerId()));
        }
        if (cr != null) {
            kernel.registries.containers.put(c, new ContainerRecord(c, cr.iommuType(), nv, cr.pgtableFile(), cr.domainId(),
                    cr.pasidQuota(), cr.flags()));
        }
        return "finished";
    }
}
