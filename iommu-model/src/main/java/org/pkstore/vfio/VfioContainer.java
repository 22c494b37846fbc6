package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.FaultQueue;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.UserU32;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapIovaRange;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapNesting;
import org.pkstore.vfio.uapi.VfioIommuType1InfoDmaAvail;
import org.pkstore.vfio.uapi.VfioIovaRange;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;
import org.pkstore.vfio.uapi.VfioUapi;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A VFIO container ({@code /dev/vfio/vfio}) with the type1 IOMMU backend: the groups in it, its one
 * {@link IommuDomain} (allocated at VFIO_SET_IOMMU, in the persistent page-table file if
 * VFIO_CONTAINER_SET_PERSISTENT_PGTABLES named one), its VMID, and the objects that hang off the
 * domain, each in its own class: the DMA mappings ({@link DmaMappings}), the PASIDs, bindings and
 * guest stage ({@link PasidBindings}) and the fault queue's reader ({@link FaultReader}). Handlers
 * receive their argument as the UAPI flyweight the ioctl table ({@link IoctlTable}) copied in and
 * checked; docs/UAPI.md ("Container model behaviour") lists every rule.
 *
 * <p>Lifecycle: opened with a fresh id; after kexec it may take over ("reclaim") a preserved
 * container's id and state ({@link KernelBoot#reclaim}); released when its fd is closed
 * ({@link #release}: everything it holds is freed).
 */
public final class VfioContainer {
    public static final int VMID_INVALID = VfioUapi.VFIO_IOMMU_VMID_INVALID;

    private final VfioKernel kernel;
    int id;
    int iommuType;
    int vmid = VMID_INVALID;
    int pasidQuota;
    final Set<VfioGroup> groups = new LinkedHashSet<>();
    IommuDomain domain;
    PersistentPgtableFile persistentFile;
    /** Domain id of the preserved container this one reclaimed (0: none). */
    long preservedDomainId;
    boolean reclaimed;
    final DmaMappings dma;
    final PasidBindings pasids;
    final FaultReader faultReader;

    VfioContainer(VfioKernel kernel, int id, int pasidQuota) {
        this.kernel = kernel;
        this.id = id;
        this.pasidQuota = pasidQuota;
        this.dma = new DmaMappings(kernel, this);
        this.pasids = new PasidBindings(kernel, this);
        this.faultReader = new FaultReader(kernel, this);
    }

    // ---- state for the typed API and tests ---------------------------------------------------------

    public int id() { return id; }
    public int iommuType() { return iommuType; }
    public int vmid() { return vmid; }
    public IommuDomain domain() { return domain; }
    public boolean reclaimed() { return reclaimed; }
    public List<VfioGroup> groups() { return List.copyOf(groups); }
    public Map<Long, DmaMappingRecord> mappings() { return dma.view(); }
    public Map<Integer, BindingRecord> bindings() { return pasids.view(); }
    public GuestStageRecord guestStage() { return pasids.guestStage; }
    public FaultQueue faults() { return faultReader.queue(); }
    public String persistentFileName() { return persistentFile == null ? "" : persistentFile.name(); }
    /** The first IOVA at which the last failed LIVE_UPDATE MAP_DMA found the tables different, or -1. */
    public long lastLiveUpdateMismatch() { return dma.lastLiveUpdateMismatch(); }

    ContainerRecord record() {
        return new ContainerRecord(id, iommuType, vmid, persistentFileName(), domain == null ? preservedDomainId : domain.id(),
                pasidQuota, 0);
    }

    void save() {
        kernel.registries.containers.put(id, record());
    }

    /** The unit behind the container's groups (they all share one), or null without groups. */
    IommuUnit unit() {
        for (VfioGroup g : groups) {
            return kernel.units.get(g.unitId());
        }
        return null;
    }

    List<Bdf> devices() {
        List<Bdf> out = new ArrayList<>();
        for (VfioGroup g : groups) {
            out.addAll(g.devices());
        }
        return out;
    }

    // ---- container core (vfio.c): works before SET_IOMMU -----------------------------------------

    static long checkExtension(long ext) {
        // type1 v1 is not offered (SET_IOMMU gives -ENODEV): say so here too
        if (ext == VfioUapi.VFIO_TYPE1v2_IOMMU || ext == VfioUapi.VFIO_TYPE1_NESTING_IOMMU
                || ext == VfioUapi.VFIO_UNMAP_ALL) {
            return 1;
        }
        if (ext == VfioUapi.VFIO_NESTING_IOMMU_UAPI) {
            return IommuUapi.IOMMU_UAPI_VERSION;
        }
        return 0;
    }

    int getVmid(UserU32 out) {
        out.value(vmid);
        return 0;
    }

    int setVmid(long arg) {
        long value = arg & 0xFFFF_FFFFL; // (u32)arg
        if (value == 0xFFFF_FFFFL || !kernel.vmids.inRange(value)) {
            return -Errno.EINVAL;
        }
        int newVmid = (int) value;
        if (newVmid == vmid) {
            return 0;
        }
        if (dma.translatesUnlikeTagSharer(newVmid)) {
            return -Errno.EINVAL; // one tag, one configuration (docs/UAPI.md, SET_VMID row)
        }
        int old = vmid;
        kernel.journal.begin(KernelIntent.SET_VMID, VmidIntent.payload(id, old, newVmid));
        kernel.vmids.acquire(newVmid);
        kernel.crashPoints.reached("vmid:refcount");
        if (old != VMID_INVALID) {
            kernel.vmids.release(old);
        }
        vmid = newVmid;
        if (domain != null) {
            domain.setVmid(newVmid);
            kernel.crashPoints.reached("vmid:tables");
            kernel.registries.domains.put(domain.id(), domain.record());
        }
        save();
        kernel.journal.end();
        return 0;
    }

    int setPersistentPgtables(VfioSetPersistentPgtables arg) {
        Object o = kernel.fdObject(arg.persistentPgtablesFd());
        if (!(o instanceof PersistentPgtableFile)) {
            return -Errno.EBADF; // not open, or not a pkernfs IOMMU page-table file (docs/UAPI.md, section 4)
        }
        if (iommuType != 0 || persistentFile != null) {
            return -Errno.EBUSY; // the domain was allocated at SET_IOMMU; replacing a file would orphan it
        }
        PersistentPgtableFile file = (PersistentPgtableFile) o;
        IommuUnit u = unit() != null ? unit() : kernel.defaultUnit();
        if (file.file().format() != u.stage2Format().id()) {
            return -Errno.EINVAL;
        }
        for (VfioContainer other : kernel.containers.values()) {
            if (other != this && other.persistentFile != null && other.persistentFile.name().equals(file.name())) {
                return -Errno.EBUSY;
            }
        }
        persistentFile = file;
        if (file.file().rootPa() != 0) {
            kernel.boot.reclaim(this, file.name());
        }
        save();
        return 0;
    }

    // ---- groups ---------------------------------------------------------------------------------------

    int attachGroup(VfioGroup g) {
        IommuUnit u = unit();
        if (u != null && u.id() != g.unitId()) {
            return -Errno.EINVAL; // pkstore: one domain per container, so one unit
        }
        // with a domain the devices are attached first: journaled (GroupIntent), undone if cut short
        boolean journaled = domain != null;
        if (kernel.registries.containers.get(id) == null) {
            save(); // one store, before any group record names the container (never a group naming no record)
        }
        if (journaled) {
            kernel.journal.begin(KernelIntent.GROUP_ATTACH, GroupIntent.payload(id, g.id()));
            int r = attachDevices(g.devices());
            if (r != 0) {
                kernel.journal.end();
                return r;
            }
            kernel.crashPoints.reached("group:attached");
        }
        groups.add(g);
        g.container = this;
        g.preservedContainerId = -1;
        kernel.registries.groups.put(g.id(), new GroupRecord(g.id(), id));
        if (journaled) {
            kernel.journal.end();
        }
        return 0;
    }

    /** GROUP_UNSET_CONTAINER or the group fd closed: {@link #detachGroup} inside a GROUP_DETACH intent. */
    void detachGroupJournaled(VfioGroup g) {
        kernel.journal.begin(KernelIntent.GROUP_DETACH, GroupIntent.payload(id, g.id()));
        detachGroup(g);
        kernel.journal.end();
    }

    /** Attaches devices to the domain with the guest state; on a failure detaches them all again. */
    private int attachDevices(List<Bdf> devices) {
        for (Bdf device : devices) {
            int r = domain.attachDevice(device);
            if (r == 0) {
                r = pasids.install(device);
            }
            if (r != 0) {
                detachDevices(devices);
                return r;
            }
        }
        return 0;
    }

    private void detachDevices(List<Bdf> devices) {
        for (Bdf device : devices) {
            pasids.clear(device);
            domain.detachDevice(device);
        }
    }

    void detachGroup(VfioGroup g) {
        if (domain != null) {
            detachDevices(g.devices());
        }
        kernel.crashPoints.reached("group:detached");
        groups.remove(g);
        g.container = null;
        kernel.registries.groups.remove(g.id());
        if (groups.isEmpty() && domain != null) {
            kernel.crashPoints.reached("group:last");
            releaseDomain();
        }
    }

    // ---- SET_IOMMU and the domain ---------------------------------------------------------------------

    int setIommu(long type) {
        if (groups.isEmpty() || iommuType != 0) {
            return -Errno.EINVAL;
        }
        if (type != VfioUapi.VFIO_TYPE1v2_IOMMU && type != VfioUapi.VFIO_TYPE1_NESTING_IOMMU) {
            return -Errno.ENODEV;
        }
        IommuUnit u = unit();
        boolean nesting = type == VfioUapi.VFIO_TYPE1_NESTING_IOMMU;
        PageTableFile file;
        String name;
        long domainId = preservedDomainId > 0 ? preservedDomainId : kernel.allocateDomainId();
        if (persistentFile != null) {
            file = persistentFile.file();
            name = persistentFile.name();
            if (file.format() != u.stage2Format().id()) {
                return -Errno.EINVAL;
            }
        } else {
            name = "domain-" + domainId;
            file = kernel.kernelDomainFile(name, u, domainId);
            if (file == null) {
                return -Errno.ENOMEM;
            }
        }
        boolean allocatedVmid = false;
        if (vmid == VMID_INVALID) {
            int v = kernel.vmids.allocate();
            if (v < 0) {
                return v;
            }
            vmid = v;
            allocatedVmid = true;
        }
        kernel.memory.add(file);
        // journaled (SetIommuIntent): a kill before the domain record is undone, after it finished
        kernel.journal.begin(KernelIntent.SET_IOMMU, SetIommuIntent.payload(id, domainId, vmid));
        domain = IommuDomain.allocate(domainId, u, file, name, id,
                nesting ? IommuDomain.STAGE_NESTED : IommuDomain.STAGE_PAGING, vmid,
                kernel.registries.domains.get(domainId));
        int r = attachDevices(devices());
        if (r != 0) {
            domain = null;
            if (allocatedVmid) {
                kernel.vmids.release(vmid);
                vmid = VMID_INVALID;
            }
            kernel.journal.end();
            return r;
        }
        kernel.crashPoints.reached("setiommu:attached");
        iommuType = (int) type;
        kernel.registries.domains.put(domain.id(), domain.record());
        kernel.crashPoints.reached("setiommu:domain");
        save();
        kernel.journal.end();
        return 0;
    }

    /** The last group left (or the container is released): unmap everything, free the domain (type1). */
    void releaseDomain() {
        IommuDomain d = domain;
        detachDevices(devices());
        dma.unmapAll(d);
        d.destroy();
        pasids.forget();
        kernel.registries.domains.remove(d.id());
        domain = null;
        preservedDomainId = 0;
        iommuType = 0;
        save();
    }

    /** The container fd was closed: give back everything (journaled: finished by recovery if cut short, {@link ReleaseIntent}). */
    void release() {
        kernel.journal.begin(KernelIntent.RELEASE, ReleaseIntent.payload(id));
        releaseSteps();
        kernel.journal.end();
    }

    /** The release's steps: also its recovery, on the container rebuilt from its records ({@link ReleaseIntent#rebuild}). */
    void releaseSteps() {
        for (VfioGroup g : new ArrayList<>(groups)) {
            detachGroup(g);
        }
        if (domain != null) {
            releaseDomain();
        }
        kernel.pasids.freeAll(id);
        if (vmid != VMID_INVALID) {
            kernel.vmids.release(vmid);
            vmid = VMID_INVALID;
        }
        kernel.faultQueue(id).destroy();
        kernel.registries.containers.remove(id);
    }

    // ---- VFIO_IOMMU_GET_INFO ----------------------------------------------------------------------------

    private final VfioIommuType1InfoDmaAvail dmaAvailCap = new VfioIommuType1InfoDmaAvail();
    private final VfioIommuType1InfoCapIovaRange iovaRangeCap = new VfioIommuType1InfoCapIovaRange();
    private final VfioIommuType1InfoCapNesting nestingCap = new VfioIommuType1InfoCapNesting();

    /**
     * GET_INFO: page sizes and the capability chain, in Linux's build order (DMA_AVAIL, IOVA_RANGE,
     * then NESTING), each 8-aligned. Too small an argsz for the chain gets argsz = the size needed.
     * {@code userLength}: the bytes the caller passed (writing past them is -EFAULT).
     */
    int getInfo(VfioIommuType1Info info, int userLength) {
        int dmaAvailLen = align8(VfioIommuType1InfoDmaAvail.SIZE);
        int iovaLen = align8(VfioIommuType1InfoCapIovaRange.sizeFor(1));
        int nestLen = iommuType == VfioUapi.VFIO_TYPE1_NESTING_IOMMU ? align8(VfioIommuType1InfoCapNesting.SIZE) : 0;
        long argsz = Integer.toUnsignedLong(info.argsz());
        long needed = VfioIommuType1Info.SIZE + dmaAvailLen + iovaLen + nestLen;
        int writeLen = (int) Math.min(argsz, VfioIommuType1Info.SIZE);
        boolean fits = argsz >= needed;
        if (userLength < writeLen || (fits && userLength < needed)) {
            return -Errno.EFAULT;
        }
        info.flags(VfioIommuType1Info.VFIO_IOMMU_INFO_PGSIZES | VfioIommuType1Info.VFIO_IOMMU_INFO_CAPS);
        info.iovaPgsizes(IommuUnit.PGSIZE_BITMAP);
        int capOffset = 0;
        if (fits) {
            int off = VfioIommuType1Info.SIZE;
            capOffset = off;
            int base = info.offset();
            int next = off + dmaAvailLen;
            dmaAvailCap.wrapLe(info.buffer(), base + off).avail(dma.available()).header()
                    .id(VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL).version(VfioIommuType1InfoDmaAvail.VERSION).next(next);
            off = next;
            next = nestLen > 0 ? off + iovaLen : 0;
            iovaRangeCap.wrapLe(info.buffer(), base + off).nrIovas(1).reserved(0).header()
                    .id(VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE).version(VfioIommuType1InfoCapIovaRange.VERSION)
                    .next(next);
            VfioIovaRange range = iovaRangeCap.iovaRange(0);
            range.start(0).end(DmaMappings.IOVA_LIMIT - 1);
            if (nestLen > 0) {
                nestingCap.wrapLe(info.buffer(), base + next)
                        .nestingCapabilities(VfioIommuType1InfoCapNesting.VFIO_IOMMU_PASID_REQS).stage1Format(1).header()
                        .id(VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING).version(1).next(0);
            }
        } else {
            info.argsz((int) needed);
        }
        if (writeLen >= VfioIommuType1Info.CAPSZ) {
            info.capOffset(capOffset);
        }
        return 0;
    }

    private static int align8(int n) {
        return (n + 7) & ~7;
    }

    @Override
    public String toString() {
        return "VfioContainer[" + id + ", type " + iommuType + ", vmid " + vmid + ", groups " + groups.size() + "]";
    }
}
