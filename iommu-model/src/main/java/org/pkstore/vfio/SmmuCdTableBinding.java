package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.vfio.uapi.IommuGpasidBindData;

import java.util.Collection;
import java.util.TreeMap;

/**
 * The SMMUv3 form of a gpasid binding (VFIO_IOMMU_BIND, format {@code IOMMU_PASID_FORMAT_SMMUV3},
 * docs/UAPI.md BIND rows): the guest owns a linear CD table in its memory and writes the CD of each
 * substream; the host only points the device's STE at the table (Config 0b111, S1ContextPtr = the
 * table's IPA, S1CDMax covering every bound SSID, S1DSS bypass). The bound SSIDs, gpasids and the
 * table address are bookkeeping of the bindings registry; no host-written word names them.
 */
final class SmmuCdTableBinding {
    private SmmuCdTableBinding() {}

    /**
     * Why a CD table at IPA {@code table} holding SSIDs up to {@code maxSsid} is refused ({@code -EINVAL}),
     * or 0: not 64-byte aligned (STE.S1ContextPtr is bits 51:6), S1CDMax beyond the unit's SSID bits,
     * or any of its 2^S1CDMax CDs beyond the stage-2 aperture {@code stage2End} (the SMMU fetches CDs
     * through stage 2; Linux refuses a guest table stage 2 does not cover, as for a VT-d guest PGD).
     */
    static int refusal(long table, int maxSsid, long stage2End) {
        int bits = cdMaxFor(maxSsid);
        if ((table & (SmmuContextDescriptor.BYTES - 1)) != 0 || bits > SmmuStreamTableEntry.MAX_S1CDMAX) {
            return -Errno.EINVAL;
        }
        long end = table + (1L << bits) * SmmuContextDescriptor.BYTES;
        if (table < 0 || end < table || Long.compareUnsigned(end, stage2End) > 0) {
            return -Errno.EINVAL;
        }
        return 0;
    }

    /**
     * BIND of SSID {@code pasid} (ownership checked by the caller, {@link PasidBindings}): one CD table per
     * device, so another gpgd while PASIDs are bound is {@code EINVAL} and a seed 002 guest stage
     * {@code EBUSY}; then the table's checks; then every STE of the container points at it.
     */
    static int bind(VfioKernel kernel, VfioContainer container, PasidBindings owner, IommuGpasidBindData data, int pasid) {
        long table = data.gpgd();
        if (owner.guestStage != null) {
            return -Errno.EBUSY;
        }
        if (!owner.bindings.isEmpty() && owner.bindings.firstEntry().getValue().gpgd() != table) {
            return -Errno.EINVAL;
        }
        int refused = refusal(table, Math.max(pasid, owner.bindings.isEmpty() ? 0 : owner.bindings.lastKey()),
                container.dma.stage2End());
        if (refused != 0) {
            return refused;
        }
        BindingRecord rec = new BindingRecord(pasid, container.id, data.format(), data.flags(), table,
                data.gpasid(), 0, 0, 0, 0);
        TreeMap<Integer, BindingRecord> after = new TreeMap<>(owner.bindings);
        after.put(pasid, rec);
        DeviceTable t = container.domain.unit().deviceTable();
        kernel.journal.begin(KernelIntent.BIND, KernelIntent.ints(container.id, pasid));
        int r = apply(t, container.devices(), after.values());
        if (r != 0) {
            apply(t, container.devices(), owner.bindings.values());
            kernel.journal.end();
            return r;
        }
        kernel.crashPoints.reached("bind:tables");
        kernel.registries.bindings.put(pasid, rec);
        owner.bindings.put(pasid, rec);
        kernel.journal.end();
        return 0;
    }

    /** S1CDMax of a linear CD table that holds SSID {@code maxSsid}: 2^bits CDs. */
    static int cdMaxFor(int maxSsid) {
        return 32 - Integer.numberOfLeadingZeros(maxSsid);
    }

    /**
     * Makes the STEs of {@code devices} say what an SMMUv3 container's {@code records} say: nested over
     * their CD table with S1CDMax covering the highest SSID, or stage 2 only when there are none.
     * Idempotent (each word is stored only when it differs), so recovery calls it too (IntentReplay).
     */
    static int apply(DeviceTable table, Iterable<Bdf> devices, Collection<BindingRecord> records) {
        long cdTable = -1;
        int maxSsid = 0;
        for (BindingRecord r : records) {
            cdTable = r.gpgd();
            maxSsid = Math.max(maxSsid, r.hpasid());
        }
        for (Bdf device : devices) {
            if (cdTable < 0) {
                table.clearGuestStage(device);
            } else {
                int rc = table.setGuestStage(device, cdTable, cdMaxFor(maxSsid));
                if (rc != 0) {
                    return rc;
                }
            }
        }
        return 0;
    }

}
