package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.persist.registry.BindingRecord;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The BIND, UNBIND, GUEST_STAGE_SET and GUEST_STAGE_CLEAR intents (journal ops
 * {@link KernelIntent#BIND}, {@link KernelIntent#UNBIND}, {@link KernelIntent#GUEST_STAGE_SET},
 * {@link KernelIntent#GUEST_STAGE_CLEAR}): VFIO_IOMMU_BIND's persistent steps
 * ({@link PasidBindings}) and what recovery does with them. Undo and finish are the same removal:
 * an interrupted bind must leave no trace, an interrupted unbind must complete.
 *
 * <pre>
 *  BIND {container, hpasid}                      a kill after it: recovery (undo)
 *  1 bind the PASID on each device entry         unbind it from every device of the container
 *  2 put the binding record                      remove the binding record
 *  UNBIND {container, hpasid}                    (finish: the same two removals)
 *  1 unbind it from each device entry
 *  2 remove the binding record
 *
 *  GUEST_STAGE_SET {container}                   (undo) clear every device's guest stage,
 *  GUEST_STAGE_CLEAR {container}                 (finish) remove the guest-stage record
 * </pre>
 */
final class PasidIntent {
    private PasidIntent() {}

    static byte[] bindPayload(int container, int hpasid) {
        return KernelIntent.ints(container, hpasid);
    }

    static byte[] guestStagePayload(int container) {
        return KernelIntent.ints(container);
    }

    /** BIND (undo) and UNBIND (finish). */
    static String removeBinding(VfioKernel kernel, ByteBuffer payload, boolean undo) {
        int c = payload.getInt();
        int hpasid = payload.getInt();
        DeviceTable t = IntentRecords.tableOf(kernel, IntentRecords.domainOf(kernel, c));
        if (t != null) {
            for (Bdf device : IntentRecords.devicesOf(kernel, c)) {
                t.unbindPasid(device, hpasid);
            }
        }
        kernel.registries.bindings.remove(hpasid);
        if (t != null && t.driver() == IommuDriver.SMMUV3) {
            // the STE says what the container's remaining bindings say (SmmuCdTableBinding)
            List<BindingRecord> rest = new ArrayList<>();
            for (BindingRecord br : kernel.registries.bindings.values()) {
                if (br.containerId() == c) {
                    rest.add(br);
                }
            }
            SmmuCdTableBinding.apply(t, IntentRecords.devicesOf(kernel, c), rest);
        }
        return undo ? "undone" : "finished";
    }

    /** GUEST_STAGE_SET (undo) and GUEST_STAGE_CLEAR (finish). */
    static String removeGuestStage(VfioKernel kernel, ByteBuffer payload, boolean undo) {
        int c = payload.getInt();
        DeviceTable t = IntentRecords.tableOf(kernel, IntentRecords.domainOf(kernel, c));
        if (t != null) {
            for (Bdf device : IntentRecords.devicesOf(kernel, c)) {
                t.clearGuestStage(device);
            }
        }
        kernel.registries.guestStages.remove(c);
        return undo ? "undone" : "finished";
    }
}
