package org.pkstore.iommu;

import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.uapi.IommuFaultPageRequest;
import org.pkstore.vfio.uapi.IommuFaultUnrecoverable;
import org.pkstore.vfio.uapi.IommuUapi;

import java.util.List;

/**
 * One IOMMU (a VT-d DRHD unit or an SMMUv3): its capabilities, its hardware-visible
 * {@link DeviceTable} in pkernfs, its {@link Iotlb}, and the DMA path of the devices behind it.
 *
 * <p>Lifecycle: {@link #open} at boot (creates the device table on the first boot of a mount,
 * adopts it as it is, with zero writes, after kexec); no explicit destroy: the table outlives the
 * kernel by design, and the mount closes the file.
 *
 * <h2>DMA path</h2>
 * {@link #dmaTranslate} does what the hardware does: read the device's entry from the device table,
 * check the PASID binding if the request carries one, look in the IOTLB tagged with the entry's
 * VMID/DID, and on a miss walk the stage-2 tables from the root the entry names, resolving each
 * table PA through {@link PhysicalMemory}. It reads the hardware structures, never the kernel's
 * bookkeeping, so what it returns is what a device would get. Guest stage-1 tables of a nested
 * setup are not walked: a PASID-tagged address is translated by stage 2 only.
 */
public final class IommuUnit {
    public static final int ADDRESS_WIDTH = 48;
    public static final int PASID_WIDTH = 20;
    public static final int VMID_WIDTH = 16;
    /** First-level (guest) address widths VT-d walks: 4-level and 5-level paging (ADDR_WIDTH_4LEVEL/5LEVEL). */
    public static final int FIRST_LEVEL_4LEVEL_WIDTH = 48;
    public static final int FIRST_LEVEL_5LEVEL_WIDTH = 57;
    public static final int MAX_PASID = (1 << PASID_WIDTH) - 1;
    public static final int MAX_VMID = (1 << VMID_WIDTH) - 1;
    /** iova_pgsizes reported by VFIO_IOMMU_GET_INFO and used for domain tables: 4K | 2M | 1G. */
    public static final long PGSIZE_BITMAP = PageTableGeometry.PGSIZE_BITMAP;

    private final int id;
    private final IommuDriver driver;
    private final DeviceTable table;
    private final DeviceTableReader reader;
    private final Iotlb iotlb = new Iotlb();
    private final PhysicalMemory memory;
    private final DeviceFaultHandler faults;
    private final List<Bdf> devices;
    private long faultsReported;
    private long faultsDropped;

    private IommuUnit(int id, IommuDriver driver, DeviceTable table, PhysicalMemory memory, DeviceFaultHandler faults,
                      List<Bdf> devices) {
        this.id = id;
        this.devices = List.copyOf(devices);
        this.driver = driver;
        this.table = table;
        this.reader = table.reader();
        this.memory = memory;
        this.faults = faults;
    }

    /** Opens (or on first boot creates) the unit's device table in {@code mount}. */
    public static IommuUnit open(PkernfsMount mount, HostTopology.Unit unit, List<Bdf> devices, PhysicalMemory memory,
                                 DeviceFaultHandler faults) {
        DeviceTable t = DeviceTable.openOrCreate(mount, unit, devices);
        memory.add(t.file());
        return new IommuUnit(unit.id(), unit.driver(), t, memory, faults, devices);
    }

    public int id() { return id; }
    /** The devices behind this unit, from the host topology. */
    public List<Bdf> devices() { return devices; }
    public IommuDriver driver() { return driver; }
    public PageTableFormat stage2Format() { return driver.stage2Format(); }
    public DeviceTable deviceTable() { return table; }
    public Iotlb iotlb() { return iotlb; }
    public int addressWidth() { return ADDRESS_WIDTH; }
    public int pasidWidth() { return PASID_WIDTH; }
    public int vmidWidth() { return VMID_WIDTH; }
    /**
     * CAP_REG.FL5LP: whether first-level tables may be 5-level. The modelled units have a 48-bit
     * address width, so no (a guest asking for 57 bits is refused, as cap_fl5lp_support() refuses it).
     */
    public boolean firstLevel5LevelPaging() { return ADDRESS_WIDTH >= FIRST_LEVEL_5LEVEL_WIDTH; }
    public long faultsReported() { return faultsReported; }
    public long faultsDropped() { return faultsDropped; }

    /**
     * Translates one DMA access.
     *
     * @param pasid {@link Iotlb#NO_PASID} for a request without PASID
     * @param perm  {@link Prot#READ} and/or {@link Prot#WRITE}
     */
    public synchronized DmaTranslation dmaTranslate(Bdf bdf, int pasid, long iova, int perm) {
        int access = perm & (Prot.READ | Prot.WRITE);
        long page = iova & ~0xFFFL;
        DeviceEntry e = reader.lookup(bdf).entry();
        if (!e.present()) {
            return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_UNKNOWN);
        }
        if (pasid != Iotlb.NO_PASID) {
            if (pasid <= 0 || pasid > MAX_PASID) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PASID_INVALID);
            }
            if (reader.boundPasid(e, pasid) == null && !(e.nested() && pasid >>> e.guestPasidBits() == 0)) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_BAD_PASID_ENTRY);
            }
        }
        if (iova < 0 || iova >= 1L << ADDRESS_WIDTH) {
            return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_OOR_ADDRESS);
        }
        Iotlb.Entry hit = iotlb.lookup(e.did(), pasid, iova);
        if (hit != null) {
            if ((access & ~hit.perm()) != 0) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PERMISSION);
            }
            return DmaTranslation.success(hit.pa() | (iova & 0xFFF), true);
        }
        PageTableFormat fmt;
        try {
            fmt = PageTableFormat.byId(e.formatId());
        } catch (IllegalArgumentException x) {
            return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_WALK_EABT);
        }
        long tablePa = e.stage2RootPa();
        for (int level = 0; level < PageTableGeometry.LEVELS; level++) {
            long dpa = PageTableGeometry.descriptorPa(tablePa, PageTableGeometry.index(iova, level));
            PageTableFile f = memory.tableFileAt(dpa);
            if (f == null) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_WALK_EABT);
            }
            long d = f.readDescriptor(dpa);
            if (!fmt.isPresent(d, level)) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH);
            }
            if (fmt.isLeaf(d, level)) {
                int granted = fmt.protOf(d, level) & (Prot.READ | Prot.WRITE);
                long pa = fmt.outputAddress(d, level) | (iova & (PageTableGeometry.blockSize(level) - 1));
                iotlb.fill(e.did(), pasid, iova, pa, granted);
                if ((access & ~granted) != 0) {
                    return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PERMISSION);
                }
                return DmaTranslation.success(pa, false);
            }
            if (!fmt.isTable(d, level)) {
                return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH);
            }
            tablePa = fmt.tableAddress(d);
        }
        return fault(bdf, pasid, page, access, IommuUapi.IOMMU_FAULT_REASON_PTE_FETCH);
    }

    private DmaTranslation fault(Bdf bdf, int pasid, long page, int access, int reason) {
        int flags = IommuFaultUnrecoverable.IOMMU_FAULT_UNRECOV_ADDR_VALID | (pasid != Iotlb.NO_PASID ? IommuFaultUnrecoverable.IOMMU_FAULT_UNRECOV_PASID_VALID : 0);
        byte[] f = FaultRecords.unrecoverable(reason, flags, pasid == Iotlb.NO_PASID ? 0 : pasid, access, page, 0);
        return DmaTranslation.fault(reason, deliver(bdf, f));
    }

    private boolean deliver(Bdf bdf, byte[] f) {
        boolean queued = faults != null && faults.report(id, bdf, f);
        if (queued) {
            faultsReported++;
        } else {
            faultsDropped++;
        }
        return queued;
    }

    /**
     * A PCIe page request (PRI) from the device: queued as an IOMMU_FAULT_PAGE_REQ for the VMM,
     * which answers with VFIO_IOMMU_PAGE_RESPONSE.
     *
     * @return true if a container queued it
     */
    public synchronized boolean pageRequest(Bdf bdf, int pasid, long addr, int perm, int grpid, boolean last) {
        int flags = (pasid != Iotlb.NO_PASID ? IommuFaultPageRequest.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID : 0)
                | (last ? IommuFaultPageRequest.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE : 0);
        byte[] f = FaultRecords.pageRequest(flags, pasid == Iotlb.NO_PASID ? 0 : pasid, grpid,
                perm & (Prot.READ | Prot.WRITE), addr & ~0xFFFL);
        return deliver(bdf, f);
    }

    @Override
    public String toString() {
        return "IommuUnit[" + id + ", " + driver.configName() + ", " + table.file().path() + "]";
    }
}
