package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.Iotlb;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.vfio.uapi.IommuCacheInvalidateInfo;
import org.pkstore.vfio.uapi.IommuGpasidBindData;
import org.pkstore.vfio.uapi.IommuGpasidBindDataVtd;
import org.pkstore.vfio.uapi.IommuGuestStageConfig;
import org.pkstore.vfio.uapi.IommuInvAddrInfo;
import org.pkstore.vfio.uapi.IommuInvPasidInfo;
import org.pkstore.vfio.uapi.IommuPasidTableConfig;
import org.pkstore.vfio.uapi.IommuSmmuS1Config;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.VfioIommuType1Bind;
import org.pkstore.vfio.uapi.VfioIommuType1CacheInvalidate;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioUapi;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A nesting container's guest-owned translation state: its PASIDs (VFIO_IOMMU_PASID_REQUEST), the
 * guest page tables bound to them and the guest-stage configuration (VFIO_IOMMU_BIND), and the
 * propagation of the guest's IOTLB invalidations (VFIO_IOMMU_CACHE_INVALIDATE). All three answer
 * EOPNOTSUPP on a container that is not VFIO_TYPE1_NESTING_IOMMU (docs/UAPI.md, section 4).
 *
 * <p>Lifecycle: bindings and the guest stage are written into every device entry of the container
 * when made, when a group joins ({@link #install}) and dropped when a group leaves
 * ({@link #clear}) or the domain is released ({@link #forget}). BIND, UNBIND and the guest-stage
 * set/clear run inside the intent journal (recovery in {@link IntentReplay}).
 */
final class PasidBindings {
    private static final long PAGE = DmaMappings.PAGE;

    private final VfioKernel kernel;
    private final VfioContainer container;
    final TreeMap<Integer, BindingRecord> bindings = new TreeMap<>();
    GuestStageRecord guestStage;

    PasidBindings(VfioKernel kernel, VfioContainer container) {
        this.kernel = kernel;
        this.container = container;
    }

    Map<Integer, BindingRecord> view() {
        return Collections.unmodifiableMap(bindings);
    }

    private boolean nesting() {
        return container.iommuType == VfioUapi.VFIO_TYPE1_NESTING_IOMMU;
    }

    private DeviceTable deviceTable() {
        return container.domain.unit().deviceTable();
    }

    static BoundPasidEntry entryOf(BindingRecord r) {
        return new BoundPasidEntry(r.hpasid(), (r.flags() & IommuGpasidBindData.IOMMU_SVA_GPASID_VAL) != 0, r.addrWidth(), r.format(), r.gpgd(),
                r.gpasid(), r.vtdFlags(), r.pat(), r.emt());
    }

    // ---- devices joining and leaving --------------------------------------------------------------

    private boolean smmu() {
        return container.domain.unit().driver() == IommuDriver.SMMUV3;
    }

    /** Writes the bindings and guest stage into a device's entries (nothing if already there). */
    int install(Bdf device) {
        DeviceTable table = deviceTable();
        if (smmu()) {
            int rc = bindings.isEmpty() ? 0 : SmmuCdTableBinding.apply(table, List.of(device), bindings.values());
            return rc != 0 || guestStage == null ? rc : table.setGuestStage(device, guestStage.basePtr(), guestStage.pasidBits());
        }
        for (BindingRecord r : bindings.values()) {
            int rc = table.bindPasid(device, entryOf(r));
            if (rc != 0) {
                return rc;
            }
        }
        if (guestStage != null) {
            return table.setGuestStage(device, guestStage.basePtr(), guestStage.pasidBits());
        }
        return 0;
    }

    void clear(Bdf device) {
        DeviceTable table = deviceTable();
        for (int p : bindings.keySet()) {
            table.unbindPasid(device, p);
        }
        if (guestStage != null || (smmu() && !bindings.isEmpty())) {
            table.clearGuestStage(device);
        }
    }

    /** The domain is released: the records go (the device entries were cleared by {@link #clear}). */
    void forget() {
        for (int p : bindings.keySet()) {
            kernel.registries.bindings.remove(p);
        }
        bindings.clear();
        if (guestStage != null) {
            kernel.registries.guestStages.remove(container.id);
            guestStage = null;
        }
    }

    // ---- VFIO_IOMMU_PASID_REQUEST -----------------------------------------------------------------

    int request(VfioIommuType1PasidRequest arg) {
        int flags = arg.flags();
        if (flags != VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC
                && flags != VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_FREE) {
            return -Errno.EINVAL;
        }
        if (!nesting()) {
            return -Errno.EOPNOTSUPP;
        }
        int id = container.id;
        if (flags == VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC) {
            int p = kernel.pasids.allocate(id, Integer.toUnsignedLong(arg.allocMin()),
                    Integer.toUnsignedLong(arg.allocMax()), container.pasidQuota);
            if (p < 0) {
                return p;
            }
            arg.allocResult(p);
            return 0;
        }
        long p = Integer.toUnsignedLong(arg.freePasid());
        if (kernel.pasids.ownerOf(p) == id && bindings.containsKey((int) p)) {
            unbindPasid((int) p); // a freed PASID must not stay bound
        }
        return kernel.pasids.free(id, p);
    }

    // ---- VFIO_IOMMU_BIND --------------------------------------------------------------------------

    int bind(VfioIommuType1Bind arg) {
        int flags = arg.flags();
        boolean guestStageOp = flags == VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_STAGE
                || flags == VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_STAGE;
        if (!guestStageOp && flags != VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL
                && flags != VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_PGTBL) {
            return -Errno.EINVAL; // exactly one operation
        }
        if (!nesting()) {
            return -Errno.EOPNOTSUPP;
        }
        int need = guestStageOp ? VfioIommuType1Bind.SIZE_GUEST_STAGE : VfioIommuType1Bind.SIZE_GPASID;
        if (Integer.compareUnsigned(arg.argsz(), need) < 0) {
            return -Errno.EINVAL;
        }
        if (arg.available() < need) {
            return -Errno.EFAULT;
        }
        if (guestStageOp) {
            return flags == VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_STAGE
                    ? bindGuestStage(arg.guestStageConfig()) : unbindGuestStage();
        }
        return bindGpasid(arg.gpasidBindData(), flags == VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL);
    }

    private int bindGpasid(IommuGpasidBindData data, boolean bind) {
        IommuGpasidBindDataVtd vtd = data.vtd();
        boolean smmu = smmu();
        int format = smmu ? IommuGpasidBindData.IOMMU_PASID_FORMAT_SMMUV3 : IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD;
        if (data.version() != IommuUapi.IOMMU_UAPI_VERSION || data.format() != format) {
            return -Errno.EINVAL; // each unit takes its own format only (docs/UAPI.md, BIND rows)
        }
        if (smmu && (vtd.flags() != 0 || vtd.pat() != 0 || vtd.emt() != 0 || data.addrWidth() != 0)) {
            return -Errno.EINVAL; // no VT-d vendor data; the CD's T0SZ, written by the guest, says the width
        }
        for (int i = 0; i < IommuGpasidBindData.PADDING_LEN; i++) {
            if (data.padding(i) != 0) {
                return -Errno.EINVAL;
            }
        }
        if ((data.flags() & ~IommuGpasidBindData.KNOWN_FLAGS) != 0
                || (vtd.flags() & ~IommuGpasidBindDataVtd.KNOWN_FLAGS) != 0) {
            return -Errno.EINVAL;
        }
        int owner = kernel.pasids.ownerOf(data.hpasid());
        if (owner < 0) {
            return -Errno.EINVAL;
        }
        if (owner != container.id) {
            return -Errno.EPERM;
        }
        int pasid = (int) data.hpasid();
        if (!bind) {
            if (!bindings.containsKey(pasid)) {
                return -Errno.EINVAL;
            }
            unbindPasid(pasid);
            return 0;
        }
        if (bindings.containsKey(pasid)) {
            return -Errno.EBUSY;
        }
        if (smmu) {
            return SmmuCdTableBinding.bind(kernel, container, this, data, pasid);
        }
        int refused = firstLevelRefusal(data.addrWidth(), data.gpgd());
        if (refused != 0) {
            return refused;
        }
        BindingRecord rec = new BindingRecord(pasid, container.id, data.format(), data.flags(), data.gpgd(),
                data.gpasid(), data.addrWidth(), vtd.flags(), vtd.pat(), vtd.emt());
        BoundPasidEntry entry = entryOf(rec);
        DeviceTable table = deviceTable();
        kernel.journal.begin(KernelIntent.BIND, PasidIntent.bindPayload(container.id, pasid));
        for (Bdf device : container.devices()) {
            int r = table.bindPasid(device, entry);
            if (r != 0) {
                for (Bdf undo : container.devices()) {
                    table.unbindPasid(undo, pasid);
                }
                kernel.journal.end();
                return r;
            }
        }
        kernel.crashPoints.reached("bind:tables");
        kernel.registries.bindings.put(pasid, rec);
        bindings.put(pasid, rec);
        kernel.journal.end();
        return 0;
    }

    /**
     * The checks Linux's intel_pasid_setup_nested (drivers/iommu/intel/pasid.c, v5.10) makes on the
     * guest's first-level table before it writes a nested PASID entry (docs/UAPI.md, VFIO_IOMMU_BIND
     * row): a 4-level (48-bit) or 5-level (57-bit) walk only, 5-level only on a unit with FL5LP, and
     * the guest PGD, a GPA, no higher than the stage 2 maps ({@code gpgd > domain->max_addr}).
     */
    private int firstLevelRefusal(int addrWidth, long gpgd) {
        IommuUnit unit = container.domain.unit();
        if (addrWidth == IommuUnit.FIRST_LEVEL_5LEVEL_WIDTH) {
            if (!unit.firstLevel5LevelPaging()) {
                return -Errno.EINVAL; // "5-level paging not supported"
            }
        } else if (addrWidth != IommuUnit.FIRST_LEVEL_4LEVEL_WIDTH) {
            return -Errno.EINVAL; // "Invalid guest address width"
        }
        if (Long.compareUnsigned(gpgd, container.dma.stage2End()) > 0) {
            return -Errno.EINVAL; // "Guest PGD ... not supported, max ..."
        }
        return 0;
    }

    /** Clears a bound PASID from every device, then its record (journaled: finished by recovery). */
    private void unbindPasid(int pasid) {
        DeviceTable table = deviceTable();
        kernel.journal.begin(KernelIntent.UNBIND, PasidIntent.bindPayload(container.id, pasid));
        if (smmu()) {
            TreeMap<Integer, BindingRecord> rest = new TreeMap<>(bindings);
            rest.remove(pasid);
            SmmuCdTableBinding.apply(table, container.devices(), rest.values()); // narrows or clears: never fails
        }
        for (Bdf device : container.devices()) {
            table.unbindPasid(device, pasid);
        }
        kernel.crashPoints.reached("unbind:tables");
        kernel.registries.bindings.remove(pasid);
        bindings.remove(pasid);
        kernel.journal.end();
        container.domain.unit().iotlb().invalidatePasid(container.vmid, pasid);
    }

    private int bindGuestStage(IommuGuestStageConfig config) {
        IommuDriver driver = container.domain.unit().driver();
        long base;
        int bits;
        int s1Flags = 0;
        int kind = config.flags(); // the record keeps the union selector as the kind
        if (kind == IommuGuestStageConfig.PASID_TABLE) {
            IommuPasidTableConfig pasidt = config.pasidt();
            if (driver != IommuDriver.VTD) {
                return -Errno.EINVAL;
            }
            if (pasidt.version() != IommuPasidTableConfig.PASID_TABLE_CFG_VERSION_1
                    || pasidt.bytes() != IommuPasidTableConfig.SIZE) {
                return -Errno.EINVAL;
            }
            base = pasidt.basePtr();
            bits = pasidt.pasidBits();
            if (bits > IommuUnit.PASID_WIDTH || (base & (PAGE - 1)) != 0 || base == 0) {
                return -Errno.EINVAL;
            }
        } else if (kind == IommuGuestStageConfig.SMMUV3_S1_CFG) {
            IommuSmmuS1Config s1 = config.smmuS1();
            if (driver != IommuDriver.SMMUV3) {
                return -Errno.EINVAL;
            }
            base = s1.cdptrDma();
            if (s1.disabled() > 1 || s1.bypassed() > 1 || s1.aborted() > 1 || s1.asid() != 0 || (base & 63) != 0
                    || base == 0) {
                return -Errno.EINVAL; // the ASID is the guest's to choose (docs/UAPI.md, guest stage row): must be 0
            }
            bits = 0;
            if (SmmuCdTableBinding.refusal(base, 0, container.dma.stage2End()) != 0) {
                return -Errno.EINVAL; // the CD is fetched through stage 2: it must be inside the aperture
            }
            s1Flags = s1.disabled() | s1.bypassed() << 1 | s1.aborted() << 2;
        } else {
            return -Errno.EINVAL;
        }
        if (guestStage != null || !bindings.isEmpty()) {
            return -Errno.EBUSY;
        }
        DeviceTable table = deviceTable();
        kernel.journal.begin(KernelIntent.GUEST_STAGE_SET, PasidIntent.guestStagePayload(container.id));
        for (Bdf device : container.devices()) {
            int r = table.setGuestStage(device, base, bits);
            if (r != 0) {
                for (Bdf undo : container.devices()) {
                    table.clearGuestStage(undo);
                }
                kernel.journal.end();
                return r;
            }
        }
        GuestStageRecord rec = new GuestStageRecord(container.id, kind, base, bits, s1Flags);
        kernel.registries.guestStages.put(container.id, rec);
        guestStage = rec;
        kernel.journal.end();
        return 0;
    }

    private int unbindGuestStage() {
        if (guestStage == null) {
            return -Errno.EINVAL;
        }
        DeviceTable table = deviceTable();
        kernel.journal.begin(KernelIntent.GUEST_STAGE_CLEAR, PasidIntent.guestStagePayload(container.id));
        for (Bdf device : container.devices()) {
            table.clearGuestStage(device);
        }
        kernel.registries.guestStages.remove(container.id);
        guestStage = null;
        kernel.journal.end();
        container.domain.unit().iotlb().invalidateVmid(container.vmid);
        return 0;
    }

    // ---- VFIO_IOMMU_CACHE_INVALIDATE --------------------------------------------------------------

    int invalidate(VfioIommuType1CacheInvalidate arg) {
        if (!nesting()) {
            return -Errno.EOPNOTSUPP; // guest caches exist only with a guest stage
        }
        IommuCacheInvalidateInfo info = arg.cacheInfo();
        int cache = info.cache();
        int granularity = info.granularity();
        if (info.version() != IommuUapi.IOMMU_UAPI_VERSION || info.padding(0) != 0 || info.padding(1) != 0
                || !IommuUapi.isValidCacheInvalidation(cache, granularity)) {
            return -Errno.EINVAL;
        }
        boolean tlb = (cache & (IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB)) != 0;
        Iotlb iotlb = container.domain.unit().iotlb();
        int vmid = container.vmid;
        switch (granularity) {
            case IommuUapi.IOMMU_INV_GRANU_DOMAIN:
                if (tlb) {
                    iotlb.invalidateVmid(vmid);
                }
                return 0;
            case IommuUapi.IOMMU_INV_GRANU_PASID: {
                IommuInvPasidInfo p = info.pasidInfo();
                int pf = p.flags();
                long pasid = p.pasid();
                if ((pf & ~IommuInvPasidInfo.KNOWN_FLAGS) != 0 || (pf & IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID) == 0
                        || pasid > IommuUnit.MAX_PASID || pasid < 0) {
                    return -Errno.EINVAL;
                }
                if (kernel.pasids.ownerOf(pasid) != container.id) {
                    return -Errno.EPERM;
                }
                if (tlb) {
                    iotlb.invalidatePasid(vmid, (int) pasid);
                }
                return 0;
            }
            default: // ADDR
                return invalidateRange(info.addrInfo(), tlb, iotlb);
        }
    }

    private int invalidateRange(IommuInvAddrInfo a, boolean tlb, Iotlb iotlb) {
        int af = a.flags();
        long pasid = a.pasid();
        long addr = a.addr();
        long granule = a.granuleSize();
        long nb = a.nbGranules();
        boolean withPasid = (af & IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID) != 0;
        if ((af & ~IommuInvAddrInfo.KNOWN_FLAGS) != 0 || granule < PAGE || Long.bitCount(granule) != 1 || nb <= 0
                || (withPasid && (pasid < 0 || pasid > IommuUnit.MAX_PASID))) {
            return -Errno.EINVAL;
        }
        long size;
        try {
            size = Math.multiplyExact(granule, nb);
            Math.addExact(addr, size);
        } catch (ArithmeticException e) {
            return -Errno.EINVAL;
        }
        if (withPasid && kernel.pasids.ownerOf(pasid) != container.id) {
            return -Errno.EPERM;
        }
        if (tlb) {
            iotlb.invalidateRange(container.vmid, !withPasid, (int) pasid, addr & ~(granule - 1), size,
                    (af & IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF) != 0);
        }
        return 0;
    }
}
