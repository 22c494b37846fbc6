package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.FaultQueue;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.iommu.IommuFault;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.vfio.uapi.IommuCacheInvalidateInfo;
import org.pkstore.vfio.uapi.IommuGpasidBindData;
import org.pkstore.vfio.uapi.IommuGpasidBindDataVtd;
import org.pkstore.vfio.uapi.IommuInvAddrInfo;
import org.pkstore.vfio.uapi.IommuInvPasidInfo;
import org.pkstore.vfio.uapi.IommuPageResponse;
import org.pkstore.vfio.uapi.IommuPasidTableConfig;
import org.pkstore.vfio.uapi.IommuSmmuS1Config;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.VfioInfoCapHeader;
import org.pkstore.vfio.uapi.VfioIommuType1Bind;
import org.pkstore.vfio.uapi.VfioIommuType1CacheInvalidate;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;
import org.pkstore.vfio.uapi.VfioIommuType1FaultRead;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapIovaRange;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapNesting;
import org.pkstore.vfio.uapi.VfioIommuType1InfoDmaAvail;
import org.pkstore.vfio.uapi.VfioIommuType1PageResponse;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioIovaRange;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A VFIO container ({@code /dev/vfio/vfio}) with the type1 IOMMU backend: the groups in it, its one
 * {@link IommuDomain} (allocated at VFIO_SET_IOMMU, in the persistent page-table file if
 * VFIO_CONTAINER_SET_PERSISTENT_PGTABLES named one), its VMID, PASIDs, guest bindings, DMA mappings
 * and fault queue. Ioctl handlers read their argument like copy_from_user and write results back
 * into it like copy_to_user, and return 0 or -errno; docs/UAPI.md ("Container model behaviour")
 * lists every rule. The kernel ({@link VfioKernel}) serialises all ioctls.
 *
 * <p>Lifecycle: opened with a fresh id; after kexec it may take over ("reclaim") a preserved
 * container's id and state; released when its fd is closed (everything it holds is freed).
 */
public final class VfioContainer {
    public static final int VMID_INVALID = VfioUapi.VFIO_IOMMU_VMID_INVALID;
    /** VFIO_IOMMU_BIND flags: seed 003's two, and seed 002's guest-stage configuration carried by the same ioctl. */
    public static final int BIND_GUEST_PGTBL = VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL;
    public static final int UNBIND_GUEST_PGTBL = VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_PGTBL;
    public static final int BIND_GUEST_STAGE = 1 << 2;
    public static final int UNBIND_GUEST_STAGE = 1 << 3;
    /** struct iommu_guest_stage_config (seed 002) flags. */
    public static final int GUEST_STAGE_PASID_TABLE = 1;
    public static final int GUEST_STAGE_SMMUV3_S1 = 2;
    public static final int GUEST_STAGE_CONFIG_SIZE = 32;
    public static final int GUEST_STAGE_KIND_PASID_TABLE = 1;
    public static final int GUEST_STAGE_KIND_SMMUV3_S1 = 2;

    static final long PAGE = 4096;
    static final long IOVA_LIMIT = 1L << IommuUnit.ADDRESS_WIDTH;
    static final int MAP_FLAGS = VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE
            | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE;
    static final int GPASID_VAL = 1;
    static final long VTD_GPASID_FLAGS = 0x3F;
    static final int INV_ADDR_FLAGS = IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID
            | IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_ARCHID | IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF;
    static final int INV_PASID_FLAGS = IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID
            | IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_ARCHID;

    private final VfioKernel k;
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
    final TreeMap<Long, DmaMappingRecord> mappings = new TreeMap<>();
    final TreeMap<Integer, BindingRecord> bindings = new TreeMap<>();
    GuestStageRecord guestStage;
    private long lastLiveUpdateMismatch = -1;

    VfioContainer(VfioKernel k, int id, int pasidQuota) {
        this.k = k;
        this.id = id;
        this.pasidQuota = pasidQuota;
    }

    // ---- state for the typed API and tests ---------------------------------------------------------

    public int id() { return id; }
    public int iommuType() { return iommuType; }
    public int vmid() { return vmid; }
    public IommuDomain domain() { return domain; }
    public boolean reclaimed() { return reclaimed; }
    public List<VfioGroup> groups() { return List.copyOf(groups); }
    public Map<Long, DmaMappingRecord> mappings() { return Collections.unmodifiableMap(mappings); }
    public Map<Integer, BindingRecord> bindings() { return Collections.unmodifiableMap(bindings); }
    public GuestStageRecord guestStage() { return guestStage; }
    public FaultQueue faults() { return k.faultQueue(id); }
    public String persistentFileName() { return persistentFile == null ? "" : persistentFile.name(); }
    /** The first IOVA at which the last failed LIVE_UPDATE MAP_DMA found the tables different, or -1. */
    public long lastLiveUpdateMismatch() { return lastLiveUpdateMismatch; }

    ContainerRecord record() {
        return new ContainerRecord(id, iommuType, vmid, persistentFileName(), domain == null ? preservedDomainId : domain.id(),
                pasidQuota, 0);
    }

    void save() {
        k.reg.containers.put(id, record());
    }

    /** The unit behind the container's groups (they all share one), or null without groups. */
    IommuUnit unit() {
        for (VfioGroup g : groups) {
            return k.units.get(g.unitId());
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

    private static ByteBuffer le(byte[] a) {
        return ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- container-level ioctls (vfio.c) ----------------------------------------------------------

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

    int getVmid(byte[] a) {
        if (a == null || a.length < 4) {
            return -Errno.EFAULT;
        }
        le(a).putInt(0, vmid);
        return 0;
    }

    int setVmid(long arg) {
        long v = arg & 0xFFFF_FFFFL; // (u32)arg
        if (v == 0xFFFF_FFFFL || !k.vmids.inRange(v)) {
            return -Errno.EINVAL;
        }
        int nv = (int) v;
        if (nv == vmid) {
            return 0;
        }
        int old = vmid;
        k.journal.begin(KernelIntent.SET_VMID, KernelIntent.ints(id, old, nv));
        k.vmids.acquire(nv);
        k.crashPoints.reached("vmid:refcount");
        if (old != VMID_INVALID) {
            k.vmids.release(old);
        }
        vmid = nv;
        if (domain != null) {
            domain.setVmid(nv);
            k.crashPoints.reached("vmid:tables");
            k.reg.domains.put(domain.id(), domain.record());
        }
        save();
        k.journal.end();
        return 0;
    }

    int setPersistentPgtables(byte[] a) {
        if (a == null || a.length < VfioSetPersistentPgtables.SIZE) {
            return -Errno.EFAULT;
        }
        int fd = le(a).getInt(VfioSetPersistentPgtables.OFFSET_PERSISTENT_PGTABLES_FD);
        Object o = k.fdObject(fd);
        if (!(o instanceof PersistentPgtableFile)) {
            return -Errno.EBADF; // as seed 004: not open, or not a pkernfs IOMMU page-table file
        }
        if (iommuType != 0 || persistentFile != null) {
            return -Errno.EBUSY; // the domain was allocated at SET_IOMMU; replacing a file would orphan it
        }
        PersistentPgtableFile p = (PersistentPgtableFile) o;
        IommuUnit u = unit() != null ? unit() : k.defaultUnit();
        if (p.file().format() != u.stage2Format().id()) {
            return -Errno.EINVAL;
        }
        for (VfioContainer other : k.containers.values()) {
            if (other != this && other.persistentFile != null && other.persistentFile.name().equals(p.name())) {
                return -Errno.EBUSY;
            }
        }
        persistentFile = p;
        if (p.file().rootPa() != 0) {
            k.reclaim(this, p.name());
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
        if (domain != null) {
            for (Bdf b : g.devices()) {
                int r = domain.attachDevice(b);
                if (r == 0) {
                    r = installGuestState(b);
                }
                if (r != 0) {
                    for (Bdf d : g.devices()) {
                        clearGuestState(d);
                        domain.detachDevice(d);
                    }
                    return r;
                }
            }
        }
        groups.add(g);
        g.container = this;
        g.preservedContainerId = -1;
        k.reg.groups.put(g.id(), new GroupRecord(g.id(), id));
        return 0;
    }

    void detachGroup(VfioGroup g) {
        if (domain != null) {
            for (Bdf b : g.devices()) {
                clearGuestState(b);
                domain.detachDevice(b);
            }
        }
        groups.remove(g);
        g.container = null;
        k.reg.groups.remove(g.id());
        if (groups.isEmpty() && domain != null) {
            releaseDomain();
        }
    }

    /** Writes this container's bindings and guest stage into a device's entries (nothing if already there). */
    private int installGuestState(Bdf b) {
        DeviceTable t = domain.unit().deviceTable();
        for (BindingRecord r : bindings.values()) {
            int rc = t.bindPasid(b, entryOf(r));
            if (rc != 0) {
                return rc;
            }
        }
        if (guestStage != null) {
            return t.setGuestStage(b, guestStage.basePtr(), guestStage.pasidBits());
        }
        return 0;
    }

    private void clearGuestState(Bdf b) {
        DeviceTable t = domain.unit().deviceTable();
        for (int p : bindings.keySet()) {
            t.unbindPasid(b, p);
        }
        if (guestStage != null) {
            t.clearGuestStage(b);
        }
    }

    static BoundPasidEntry entryOf(BindingRecord r) {
        return new BoundPasidEntry(r.hpasid(), (r.flags() & GPASID_VAL) != 0, r.addrWidth(), r.format(), r.gpgd(),
                r.gpasid(), r.vtdFlags(), r.pat(), r.emt());
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
        long domainId = preservedDomainId > 0 ? preservedDomainId : k.nextDomainId();
        if (persistentFile != null) {
            file = persistentFile.file();
            name = persistentFile.name();
            if (file.format() != u.stage2Format().id()) {
                return -Errno.EINVAL;
            }
        } else {
            name = "domain-" + domainId;
            file = k.kernelDomainFile(name, u);
            if (file == null) {
                return -Errno.ENOMEM;
            }
        }
        boolean allocatedVmid = false;
        if (vmid == VMID_INVALID) {
            int v = k.vmids.allocate();
            if (v < 0) {
                return v;
            }
            vmid = v;
            allocatedVmid = true;
        }
        k.memory.add(file);
        IommuDomain d = IommuDomain.allocate(domainId, u, file, name, id,
                nesting ? IommuDomain.STAGE_NESTED : IommuDomain.STAGE_PAGING, vmid);
        domain = d;
        for (Bdf b : devices()) {
            int r = d.attachDevice(b);
            if (r == 0) {
                r = installGuestState(b);
            }
            if (r != 0) {
                for (Bdf x : devices()) {
                    clearGuestState(x);
                    d.detachDevice(x);
                }
                domain = null;
                if (allocatedVmid) {
                    k.vmids.release(vmid);
                    vmid = VMID_INVALID;
                }
                return r;
            }
        }
        iommuType = (int) type;
        k.reg.domains.put(d.id(), d.record());
        save();
        return 0;
    }

    /** The last group left (or the container is released): unmap everything, free the domain (type1). */
    void releaseDomain() {
        IommuDomain d = domain;
        for (VfioGroup g : groups) {
            for (Bdf b : g.devices()) {
                clearGuestState(b);
                d.detachDevice(b);
            }
        }
        for (DmaMappingRecord m : new ArrayList<>(mappings.values())) {
            d.unmap(m.iova(), m.size());
            k.reg.dmaMappings.remove(m.key());
        }
        mappings.clear();
        d.destroy();
        for (int p : bindings.keySet()) {
            k.reg.bindings.remove(p);
        }
        bindings.clear();
        if (guestStage != null) {
            k.reg.guestStages.remove(id);
            guestStage = null;
        }
        k.reg.domains.remove(d.id());
        domain = null;
        preservedDomainId = 0;
        iommuType = 0;
        save();
    }

    /** The container fd was closed: give back everything (journaled: finished by recovery if cut short). */
    void release() {
        k.journal.begin(KernelIntent.RELEASE, KernelIntent.ints(id));
        for (VfioGroup g : new ArrayList<>(groups)) {
            detachGroup(g);
        }
        if (domain != null) {
            releaseDomain();
        }
        k.pasids.freeAll(id);
        if (vmid != VMID_INVALID) {
            k.vmids.release(vmid);
            vmid = VMID_INVALID;
        }
        k.faultQueue(id).destroy();
        k.reg.containers.remove(id);
        k.journal.end();
    }

    // ---- type1 driver ioctls --------------------------------------------------------------------------

    int getInfo(byte[] a) {
        if (a == null || a.length < VfioIommuType1Info.MINSZ) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1Info.OFFSET_ARGSZ);
        if (Integer.compareUnsigned(argsz, VfioIommuType1Info.MINSZ) < 0) {
            return -Errno.EINVAL;
        }
        // capability chain, in Linux's build order: DMA_AVAIL, IOVA_RANGE, then NESTING; each 8-aligned
        int dmaAvailLen = align8(VfioIommuType1InfoDmaAvail.SIZE);
        int iovaLen = align8(VfioIommuType1InfoCapIovaRange.SIZE + VfioIovaRange.SIZE);
        int nestLen = iommuType == VfioUapi.VFIO_TYPE1_NESTING_IOMMU ? align8(VfioIommuType1InfoCapNesting.SIZE) : 0;
        int capsLen = dmaAvailLen + iovaLen + nestLen;
        long needed = VfioIommuType1Info.SIZE + capsLen;
        int writeLen = (int) Math.min(Integer.toUnsignedLong(argsz), VfioIommuType1Info.SIZE);
        boolean fits = Integer.toUnsignedLong(argsz) >= needed;
        if (a.length < writeLen || (fits && a.length < needed)) {
            return -Errno.EFAULT;
        }
        int flags = VfioIommuType1Info.VFIO_IOMMU_INFO_PGSIZES | VfioIommuType1Info.VFIO_IOMMU_INFO_CAPS;
        b.putInt(VfioIommuType1Info.OFFSET_FLAGS, flags);
        b.putLong(VfioIommuType1Info.OFFSET_IOVA_PGSIZES, IommuUnit.PGSIZE_BITMAP);
        int capOffset = 0;
        if (fits) {
            int off = VfioIommuType1Info.SIZE;
            capOffset = off;
            int next = off + dmaAvailLen;
            capHeader(b, off, VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, VfioIommuType1InfoDmaAvail.VERSION, next);
            b.putInt(off + VfioIommuType1InfoDmaAvail.OFFSET_AVAIL, VfioUapi.DEFAULT_DMA_ENTRY_LIMIT - mappings.size());
            off = next;
            next = nestLen > 0 ? off + iovaLen : 0;
            capHeader(b, off, VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VfioIommuType1InfoCapIovaRange.VERSION, next);
            b.putInt(off + VfioIommuType1InfoCapIovaRange.OFFSET_NR_IOVAS, 1);
            b.putInt(off + VfioIommuType1InfoCapIovaRange.OFFSET_RESERVED, 0);
            int r = off + VfioIommuType1InfoCapIovaRange.OFFSET_IOVA_RANGES;
            b.putLong(r + VfioIovaRange.OFFSET_START, 0);
            b.putLong(r + VfioIovaRange.OFFSET_END, IOVA_LIMIT - 1);
            if (nestLen > 0) {
                off = next;
                capHeader(b, off, VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, 1, 0);
                b.putInt(off + VfioIommuType1InfoCapNesting.OFFSET_NESTING_CAPABILITIES,
                        VfioIommuType1InfoCapNesting.VFIO_IOMMU_PASID_REQS);
                b.putInt(off + VfioIommuType1InfoCapNesting.OFFSET_STAGE1_FORMAT, 1);
            }
        } else {
            b.putInt(VfioIommuType1Info.OFFSET_ARGSZ, (int) needed);
        }
        if (writeLen >= VfioIommuType1Info.CAPSZ) {
            b.putInt(VfioIommuType1Info.OFFSET_CAP_OFFSET, capOffset);
        }
        return 0;
    }

    private static int align8(int n) {
        return (n + 7) & ~7;
    }

    private static void capHeader(ByteBuffer b, int off, int capId, int version, int next) {
        b.putShort(off + VfioInfoCapHeader.OFFSET_ID, (short) capId);
        b.putShort(off + VfioInfoCapHeader.OFFSET_VERSION, (short) version);
        b.putInt(off + VfioInfoCapHeader.OFFSET_NEXT, next);
    }

    /** The mapping whose range holds {@code iova}, or null. */
    private DmaMappingRecord mappingAt(long iova) {
        Map.Entry<Long, DmaMappingRecord> e = mappings.floorEntry(iova);
        if (e == null) {
            return null;
        }
        DmaMappingRecord m = e.getValue();
        return Long.compareUnsigned(iova - m.iova(), m.size()) < 0 ? m : null;
    }

    private boolean overlaps(long iova, long size) {
        if (mappingAt(iova) != null) {
            return true;
        }
        Map.Entry<Long, DmaMappingRecord> e = mappings.ceilingEntry(iova);
        return e != null && Long.compareUnsigned(e.getKey() - iova, size) < 0;
    }

    int mapDma(byte[] a) {
        if (a == null || a.length < VfioIommuType1DmaMap.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1DmaMap.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1DmaMap.OFFSET_FLAGS);
        long vaddr = b.getLong(VfioIommuType1DmaMap.OFFSET_VADDR);
        long iova = b.getLong(VfioIommuType1DmaMap.OFFSET_IOVA);
        long size = b.getLong(VfioIommuType1DmaMap.OFFSET_SIZE);
        if (Integer.compareUnsigned(argsz, VfioIommuType1DmaMap.SIZE) < 0 || (flags & ~MAP_FLAGS) != 0) {
            return -Errno.EINVAL;
        }
        int prot = 0;
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ) != 0) {
            prot |= Prot.READ;
        }
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE) != 0) {
            prot |= Prot.WRITE;
        }
        if (prot == 0 || size == 0 || ((size | iova | vaddr) & (PAGE - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (Long.compareUnsigned(iova + size - 1, iova) < 0 || Long.compareUnsigned(vaddr + size - 1, vaddr) < 0) {
            return -Errno.EINVAL;
        }
        boolean live = (flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE) != 0;
        lastLiveUpdateMismatch = -1;
        if (Long.compareUnsigned(iova + size - 1, IOVA_LIMIT - 1) > 0) {
            return -Errno.EINVAL;
        }
        long pa = k.vmm.resolve(vaddr, size);
        if (pa < 0) {
            return -Errno.EFAULT;
        }
        prot |= Prot.CACHE;
        if (live) {
            if (persistentFile == null || domain == null) {
                return -Errno.EINVAL; // nothing can have survived without persistent tables
            }
            // re-establish after kexec: the tables must already say exactly this; write no
            // descriptor. Checked before the records, so that a VMM whose idea of a mapping
            // differs is told where the tables differ, not merely that something overlaps.
            long bad = domain.firstMismatch(iova, size, pa, prot);
            lastLiveUpdateMismatch = bad;
            if (bad >= 0) {
                return -Errno.EINVAL;
            }
        }
        DmaMappingRecord existing = mappings.get(iova);
        boolean reestablish = live && existing != null && existing.size() == size;
        if (overlaps(iova, size) && !reestablish) {
            return -Errno.EEXIST;
        }
        if (!reestablish && mappings.size() >= VfioUapi.DEFAULT_DMA_ENTRY_LIMIT) {
            return -Errno.ENOSPC;
        }
        if (live) {
            DmaMappingRecord rec = new DmaMappingRecord(id, iova, size, vaddr, pa, prot);
            k.reg.dmaMappings.put(rec.key(), rec);
            mappings.put(iova, rec);
            return 0;
        }
        k.journal.begin(KernelIntent.MAP_DMA, KernelIntent.map(id, iova, size, pa, prot));
        int r = domain.map(iova, pa, size, prot);
        if (r != 0) {
            k.journal.end();
            return r == -Errno.ERANGE ? -Errno.EINVAL : r;
        }
        k.crashPoints.reached("map:tables");
        DmaMappingRecord rec = new DmaMappingRecord(id, iova, size, vaddr, pa, prot);
        k.reg.dmaMappings.put(rec.key(), rec);
        k.crashPoints.reached("map:record");
        k.journal.end();
        mappings.put(iova, rec);
        return 0;
    }

    int unmapDma(byte[] a) {
        if (a == null || a.length < VfioIommuType1DmaUnmap.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1DmaUnmap.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1DmaUnmap.OFFSET_FLAGS);
        long iova = b.getLong(VfioIommuType1DmaUnmap.OFFSET_IOVA);
        long size = b.getLong(VfioIommuType1DmaUnmap.OFFSET_SIZE);
        if (Integer.compareUnsigned(argsz, VfioIommuType1DmaUnmap.SIZE) < 0
                || (flags & ~VfioIommuType1DmaUnmap.VFIO_DMA_UNMAP_FLAG_ALL) != 0) {
            return -Errno.EINVAL;
        }
        boolean all = (flags & VfioIommuType1DmaUnmap.VFIO_DMA_UNMAP_FLAG_ALL) != 0;
        long end; // exclusive, unsigned
        if (all) {
            if (iova != 0 || size != 0) {
                return -Errno.EINVAL;
            }
            end = IOVA_LIMIT;
        } else {
            if (size == 0 || (size & (PAGE - 1)) != 0 || Long.compareUnsigned(iova + size - 1, iova) < 0) {
                return -Errno.EINVAL;
            }
            end = iova + size;
        }
        if ((iova & (PAGE - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (!all) {
            DmaMappingRecord first = mappingAt(iova);
            if (first != null && first.iova() != iova) {
                return -Errno.EINVAL; // starts inside a mapping
            }
            DmaMappingRecord last = mappingAt(end - 1);
            if (last != null && last.iova() + last.size() != end) {
                return -Errno.EINVAL; // ends inside a mapping
            }
        }
        List<DmaMappingRecord> victims = new ArrayList<>();
        for (DmaMappingRecord m : mappings.values()) {
            if (Long.compareUnsigned(m.iova(), iova) >= 0 && (all || Long.compareUnsigned(m.iova(), end) < 0)) {
                victims.add(m);
            }
        }
        long unmapped = 0;
        if (!victims.isEmpty()) {
            k.journal.begin(KernelIntent.UNMAP_DMA, KernelIntent.unmap(id, iova, all ? IOVA_LIMIT : size));
            for (DmaMappingRecord m : victims) {
                domain.unmap(m.iova(), m.size()); // flushes the IOTLB for the range
            }
            k.crashPoints.reached("unmap:tables");
            for (DmaMappingRecord m : victims) {
                k.reg.dmaMappings.remove(m.key());
                mappings.remove(m.iova());
                unmapped += m.size();
            }
            k.journal.end();
        }
        b.putLong(VfioIommuType1DmaUnmap.OFFSET_SIZE, unmapped);
        return 0;
    }

    int pasidRequest(byte[] a) {
        if (a == null || a.length < VfioIommuType1PasidRequest.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1PasidRequest.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1PasidRequest.OFFSET_FLAGS);
        if (Integer.compareUnsigned(argsz, VfioIommuType1PasidRequest.SIZE) < 0
                || (flags != VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC
                    && flags != VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_FREE)) {
            return -Errno.EINVAL;
        }
        if (iommuType != VfioUapi.VFIO_TYPE1_NESTING_IOMMU) {
            return -Errno.EOPNOTSUPP;
        }
        if (flags == VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC) {
            long min = Integer.toUnsignedLong(b.getInt(VfioIommuType1PasidRequest.OFFSET_ALLOC_PASID_MIN));
            long max = Integer.toUnsignedLong(b.getInt(VfioIommuType1PasidRequest.OFFSET_ALLOC_PASID_MAX));
            int p = k.pasids.allocate(id, min, max, pasidQuota);
            if (p < 0) {
                return p;
            }
            b.putInt(VfioIommuType1PasidRequest.OFFSET_ALLOC_PASID_RESULT, p);
            return 0;
        }
        long p = Integer.toUnsignedLong(b.getInt(VfioIommuType1PasidRequest.OFFSET_FREE_PASID));
        int owner = k.pasids.ownerOf(p);
        if (owner == id && bindings.containsKey((int) p)) {
            unbindPasid((int) p); // a freed PASID must not stay bound
        }
        return k.pasids.free(id, p);
    }

    int bind(byte[] a) {
        if (a == null || a.length < VfioIommuType1Bind.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1Bind.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1Bind.OFFSET_FLAGS);
        if (flags != BIND_GUEST_PGTBL && flags != UNBIND_GUEST_PGTBL && flags != BIND_GUEST_STAGE
                && flags != UNBIND_GUEST_STAGE) {
            return -Errno.EINVAL;
        }
        if (iommuType != VfioUapi.VFIO_TYPE1_NESTING_IOMMU) {
            return -Errno.EINVAL;
        }
        int d = VfioIommuType1Bind.OFFSET_DATA;
        if (flags == BIND_GUEST_STAGE || flags == UNBIND_GUEST_STAGE) {
            if (Integer.compareUnsigned(argsz, d + GUEST_STAGE_CONFIG_SIZE) < 0) {
                return -Errno.EINVAL;
            }
            if (a.length < d + GUEST_STAGE_CONFIG_SIZE) {
                return -Errno.EFAULT;
            }
            return flags == BIND_GUEST_STAGE ? bindGuestStage(b, d) : unbindGuestStage();
        }
        if (Integer.compareUnsigned(argsz, d + IommuGpasidBindData.SIZE) < 0) {
            return -Errno.EINVAL;
        }
        if (a.length < d + IommuGpasidBindData.SIZE) {
            return -Errno.EFAULT;
        }
        int version = b.getInt(d + IommuGpasidBindData.OFFSET_VERSION);
        int format = b.getInt(d + IommuGpasidBindData.OFFSET_FORMAT);
        long bflags = b.getLong(d + IommuGpasidBindData.OFFSET_FLAGS);
        long gpgd = b.getLong(d + IommuGpasidBindData.OFFSET_GPGD);
        long hpasid = b.getLong(d + IommuGpasidBindData.OFFSET_HPASID);
        long gpasid = b.getLong(d + IommuGpasidBindData.OFFSET_GPASID);
        int addrWidth = b.getInt(d + IommuGpasidBindData.OFFSET_ADDR_WIDTH);
        int vtd = d + IommuGpasidBindData.OFFSET_VTD;
        long vtdFlags = b.getLong(vtd + IommuGpasidBindDataVtd.OFFSET_FLAGS);
        int pat = b.getInt(vtd + IommuGpasidBindDataVtd.OFFSET_PAT);
        int emt = b.getInt(vtd + IommuGpasidBindDataVtd.OFFSET_EMT);
        if (version != IommuUapi.IOMMU_UAPI_VERSION || format != IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD) {
            return -Errno.EINVAL;
        }
        for (int i = 0; i < IommuGpasidBindData.PADDING_LEN; i++) {
            if (a[d + IommuGpasidBindData.OFFSET_PADDING + i] != 0) {
                return -Errno.EINVAL;
            }
        }
        if ((bflags & ~GPASID_VAL) != 0 || (vtdFlags & ~VTD_GPASID_FLAGS) != 0
                || Integer.compareUnsigned(addrWidth, IommuUnit.ADDRESS_WIDTH) > 0) {
            return -Errno.EINVAL;
        }
        int owner = k.pasids.ownerOf(hpasid);
        if (owner < 0) {
            return -Errno.EINVAL;
        }
        if (owner != id) {
            return -Errno.EPERM;
        }
        int p = (int) hpasid;
        DeviceTable t = domain.unit().deviceTable();
        if (flags == UNBIND_GUEST_PGTBL) {
            if (!bindings.containsKey(p)) {
                return -Errno.EINVAL;
            }
            unbindPasid(p);
            return 0;
        }
        if (bindings.containsKey(p)) {
            return -Errno.EBUSY;
        }
        BindingRecord rec = new BindingRecord(p, id, format, bflags, gpgd, gpasid, addrWidth, vtdFlags, pat, emt);
        BoundPasidEntry e = entryOf(rec);
        k.journal.begin(KernelIntent.BIND, KernelIntent.ints(id, p));
        for (Bdf x : devices()) {
            int r = t.bindPasid(x, e);
            if (r != 0) {
                for (Bdf y : devices()) {
                    t.unbindPasid(y, p);
                }
                k.journal.end();
                return r;
            }
        }
        k.crashPoints.reached("bind:tables");
        k.reg.bindings.put(p, rec);
        bindings.put(p, rec);
        k.journal.end();
        return 0;
    }

    /** Clears a bound PASID from every device, then its record (journaled: finished by recovery). */
    private void unbindPasid(int p) {
        DeviceTable t = domain.unit().deviceTable();
        k.journal.begin(KernelIntent.UNBIND, KernelIntent.ints(id, p));
        for (Bdf x : devices()) {
            t.unbindPasid(x, p);
        }
        k.crashPoints.reached("unbind:tables");
        k.reg.bindings.remove(p);
        bindings.remove(p);
        k.journal.end();
        domain.unit().iotlb().invalidatePasid(vmid, p);
    }

    private int bindGuestStage(ByteBuffer b, int d) {
        int cfgFlags = b.getInt(d);
        int u = d + 8; // the union (8-aligned after the u32 flags)
        IommuDriver drv = domain.unit().driver();
        long base;
        int bits;
        int kind;
        int s1Flags = 0;
        if (cfgFlags == GUEST_STAGE_PASID_TABLE) {
            if (drv != IommuDriver.VTD) {
                return -Errno.EINVAL;
            }
            if (b.getInt(u + IommuPasidTableConfig.OFFSET_VERSION) != 1
                    || b.getInt(u + IommuPasidTableConfig.OFFSET_BYTES) != IommuPasidTableConfig.SIZE) {
                return -Errno.EINVAL;
            }
            base = b.getLong(u + IommuPasidTableConfig.OFFSET_BASE_PTR);
            bits = b.get(u + IommuPasidTableConfig.OFFSET_PASID_BITS) & 0xFF;
            if (bits > IommuUnit.PASID_WIDTH || (base & (PAGE - 1)) != 0 || base == 0) {
                return -Errno.EINVAL;
            }
            kind = GUEST_STAGE_KIND_PASID_TABLE;
        } else if (cfgFlags == GUEST_STAGE_SMMUV3_S1) {
            if (drv != IommuDriver.SMMUV3) {
                return -Errno.EINVAL;
            }
            int disabled = b.get(u + IommuSmmuS1Config.OFFSET_DISABLED) & 0xFF;
            int bypassed = b.get(u + IommuSmmuS1Config.OFFSET_BYPASSED) & 0xFF;
            int aborted = b.get(u + IommuSmmuS1Config.OFFSET_ABORTED) & 0xFF;
            base = b.getLong(u + IommuSmmuS1Config.OFFSET_CDPTR_DMA);
            int asid = b.getShort(u + IommuSmmuS1Config.OFFSET_ASID) & 0xFFFF;
            if (disabled > 1 || bypassed > 1 || aborted > 1 || asid != 0 || (base & 63) != 0 || base == 0) {
                return -Errno.EINVAL; // asid is a leftover the guest owns (seed 002 review): must be 0
            }
            bits = 0;
            s1Flags = disabled | bypassed << 1 | aborted << 2;
            kind = GUEST_STAGE_KIND_SMMUV3_S1;
        } else {
            return -Errno.EINVAL;
        }
        if (guestStage != null || !bindings.isEmpty()) {
            return -Errno.EBUSY;
        }
        DeviceTable t = domain.unit().deviceTable();
        k.journal.begin(KernelIntent.GUEST_STAGE_SET, KernelIntent.ints(id));
        for (Bdf x : devices()) {
            int r = t.setGuestStage(x, base, bits);
            if (r != 0) {
                for (Bdf y : devices()) {
                    t.clearGuestStage(y);
                }
                k.journal.end();
                return r;
            }
        }
        GuestStageRecord rec = new GuestStageRecord(id, kind, base, bits, s1Flags);
        k.reg.guestStages.put(id, rec);
        guestStage = rec;
        k.journal.end();
        return 0;
    }

    private int unbindGuestStage() {
        if (guestStage == null) {
            return -Errno.EINVAL;
        }
        DeviceTable t = domain.unit().deviceTable();
        k.journal.begin(KernelIntent.GUEST_STAGE_CLEAR, KernelIntent.ints(id));
        for (Bdf x : devices()) {
            t.clearGuestStage(x);
        }
        k.reg.guestStages.remove(id);
        guestStage = null;
        k.journal.end();
        domain.unit().iotlb().invalidateVmid(vmid);
        return 0;
    }

    int cacheInvalidate(byte[] a) {
        if (a == null || a.length < VfioIommuType1CacheInvalidate.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1CacheInvalidate.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1CacheInvalidate.OFFSET_FLAGS);
        if (Integer.compareUnsigned(argsz, VfioIommuType1CacheInvalidate.SIZE) < 0 || flags != 0) {
            return -Errno.EINVAL;
        }
        int ci = VfioIommuType1CacheInvalidate.OFFSET_CACHE_INFO;
        int version = b.getInt(ci + IommuCacheInvalidateInfo.OFFSET_VERSION);
        int cache = b.get(ci + IommuCacheInvalidateInfo.OFFSET_CACHE) & 0xFF;
        int granu = b.get(ci + IommuCacheInvalidateInfo.OFFSET_GRANULARITY) & 0xFF;
        int padding = b.getShort(ci + IommuCacheInvalidateInfo.OFFSET_PADDING) & 0xFFFF;
        if (iommuType != VfioUapi.VFIO_TYPE1_NESTING_IOMMU) {
            return -Errno.EOPNOTSUPP; // guest caches exist only with a guest stage
        }
        if (version != IommuUapi.IOMMU_UAPI_VERSION || padding != 0 || !IommuUapi.isValidCacheInvalidation(cache, granu)) {
            return -Errno.EINVAL;
        }
        boolean tlb = (cache & (IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB
                | IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB)) != 0;
        Iotlb iotlb = domain.unit().iotlb();
        int u = ci + IommuCacheInvalidateInfo.OFFSET_PASID_INFO;
        switch (granu) {
            case IommuUapi.IOMMU_INV_GRANU_DOMAIN:
                if (tlb) {
                    iotlb.invalidateVmid(vmid);
                }
                return 0;
            case IommuUapi.IOMMU_INV_GRANU_PASID: {
                int pf = b.getInt(u + IommuInvPasidInfo.OFFSET_FLAGS);
                long pasid = b.getLong(u + IommuInvPasidInfo.OFFSET_PASID);
                if ((pf & ~INV_PASID_FLAGS) != 0 || (pf & IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID) == 0
                        || pasid > IommuUnit.MAX_PASID || pasid < 0) {
                    return -Errno.EINVAL;
                }
                if (k.pasids.ownerOf(pasid) != id) {
                    return -Errno.EPERM;
                }
                if (tlb) {
                    iotlb.invalidatePasid(vmid, (int) pasid);
                }
                return 0;
            }
            default: { // ADDR
                int af = b.getInt(u + IommuInvAddrInfo.OFFSET_FLAGS);
                long pasid = b.getLong(u + IommuInvAddrInfo.OFFSET_PASID);
                long addr = b.getLong(u + IommuInvAddrInfo.OFFSET_ADDR);
                long granule = b.getLong(u + IommuInvAddrInfo.OFFSET_GRANULE_SIZE);
                long nb = b.getLong(u + IommuInvAddrInfo.OFFSET_NB_GRANULES);
                boolean withPasid = (af & IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID) != 0;
                if ((af & ~INV_ADDR_FLAGS) != 0 || granule < PAGE || Long.bitCount(granule) != 1 || nb <= 0
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
                if (withPasid && k.pasids.ownerOf(pasid) != id) {
                    return -Errno.EPERM;
                }
                if (tlb) {
                    iotlb.invalidateRange(vmid, !withPasid, (int) pasid, addr & ~(granule - 1), size,
                            (af & IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF) != 0);
                }
                return 0;
            }
        }
    }

    int readFaults(byte[] a) {
        if (a == null || a.length < VfioIommuType1FaultRead.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1FaultRead.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1FaultRead.OFFSET_FLAGS);
        if (Integer.compareUnsigned(argsz, VfioIommuType1FaultRead.SIZE) < 0 || flags != 0) {
            return -Errno.EINVAL;
        }
        long capacity = Integer.toUnsignedLong(b.getInt(VfioIommuType1FaultRead.OFFSET_COUNT));
        if (Integer.toUnsignedLong(argsz) < VfioIommuType1FaultRead.SIZE + capacity * IommuFault.SIZE) {
            return -Errno.EINVAL; // argsz must hold count records
        }
        FaultQueue q = k.faultQueue(id);
        int n = (int) Math.min(capacity, q.pending());
        if (a.length < VfioIommuType1FaultRead.SIZE + (long) n * IommuFault.SIZE) {
            return -Errno.EFAULT;
        }
        List<byte[]> got = q.take(n);
        for (int i = 0; i < got.size(); i++) {
            System.arraycopy(got.get(i), 0, a, VfioIommuType1FaultRead.OFFSET_RECORDS + i * IommuFault.SIZE, IommuFault.SIZE);
        }
        b.putInt(VfioIommuType1FaultRead.OFFSET_COUNT, got.size());
        b.putInt(VfioIommuType1FaultRead.OFFSET_PENDING, q.pending());
        return 0;
    }

    int pageResponse(byte[] a) {
        if (a == null || a.length < VfioIommuType1PageResponse.SIZE) {
            return -Errno.EFAULT;
        }
        ByteBuffer b = le(a);
        int argsz = b.getInt(VfioIommuType1PageResponse.OFFSET_ARGSZ);
        int flags = b.getInt(VfioIommuType1PageResponse.OFFSET_FLAGS);
        if (Integer.compareUnsigned(argsz, VfioIommuType1PageResponse.SIZE) < 0 || flags != 0) {
            return -Errno.EINVAL;
        }
        int r = VfioIommuType1PageResponse.OFFSET_RESP;
        int version = b.getInt(r + IommuPageResponse.OFFSET_VERSION);
        int rflags = b.getInt(r + IommuPageResponse.OFFSET_FLAGS);
        int pasid = b.getInt(r + IommuPageResponse.OFFSET_PASID);
        int grpid = b.getInt(r + IommuPageResponse.OFFSET_GRPID);
        int code = b.getInt(r + IommuPageResponse.OFFSET_CODE);
        if (version != IommuUapi.IOMMU_UAPI_VERSION || (rflags & ~IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID) != 0
                || Integer.compareUnsigned(code, IommuUapi.IOMMU_PAGE_RESP_FAILURE) > 0) {
            return -Errno.EINVAL;
        }
        boolean withPasid = (rflags & IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID) != 0;
        return k.faultQueue(id).respond(grpid, withPasid, pasid) ? 0 : -Errno.EINVAL;
    }

    @Override
    public String toString() {
        return "VfioContainer[" + id + ", type " + iommuType + ", vmid " + vmid + ", groups " + groups.size() + "]";
    }
}
