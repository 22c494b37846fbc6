package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.FaultQueue;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.PasidAllocator;
import org.pkstore.iommu.PhysicalMemory;
import org.pkstore.iommu.VmidAllocator;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.vfio.uapi.VfioGroupStatus;
import org.pkstore.vfio.uapi.VfioIoctl;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host kernel's VFIO/IOMMU object graph over one pkernfs mount: IOMMU units, groups,
 * containers, the file-descriptor table and the VMM's address space, with the two ioctl entry
 * points {@link #ioctl(int, int, byte[])} (pointer argument: the kernel reads and writes back into
 * {@code arg} as copy_from_user / copy_to_user) and {@link #ioctl(int, int, long)} (by-value
 * argument). Ioctls are serialised (one lock), return 0 / a value or -errno, and never throw: an
 * unexpected exception is logged and returned as -EIO.
 *
 * <h2>Boot</h2>
 * {@link #boot} opens every unit's device table as it is (after kexec: zero writes; first boot:
 * created), loads the registries, and if the previous kernel ended uncleanly, replays the pending
 * intent and sweeps unreachable pages from every table file ({@link #recoveryReport()}). Containers
 * that existed before the kexec are kept as preserved records: the devices keep translating through
 * their domains, and a new container reclaims one (its id, VMID, PASIDs, bindings, faults, DMA
 * records) with VFIO_CONTAINER_SET_PERSISTENT_PGTABLES on the same page-table file; the following
 * VFIO_SET_IOMMU adopts the file's tables and re-attaches the devices, writing zero descriptors.
 *
 * <h2>Crash consistency</h2>
 * An ioctl that returned is durable (everything lives in mapped pkernfs files). Multi-step ioctls
 * run inside the mount's intent journal ({@link KernelIntent}), so one cut short by SIGKILL is
 * undone or finished at the next boot.
 */
public final class VfioKernel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VfioKernel.class.getName());

    public static final int VFIO_GET_API_VERSION = VfioIoctl.VFIO_GET_API_VERSION.number();
    public static final int VFIO_CHECK_EXTENSION = VfioIoctl.VFIO_CHECK_EXTENSION.number();
    public static final int VFIO_SET_IOMMU = VfioIoctl.VFIO_SET_IOMMU.number();
    public static final int VFIO_GROUP_GET_STATUS = VfioIoctl.VFIO_GROUP_GET_STATUS.number();
    public static final int VFIO_GROUP_SET_CONTAINER = VfioIoctl.VFIO_GROUP_SET_CONTAINER.number();
    public static final int VFIO_GROUP_UNSET_CONTAINER = VfioIoctl.VFIO_GROUP_UNSET_CONTAINER.number();
    public static final int VFIO_IOMMU_GET_INFO = VfioIoctl.VFIO_IOMMU_GET_INFO.number();
    public static final int VFIO_IOMMU_MAP_DMA = VfioIoctl.VFIO_IOMMU_MAP_DMA.number();
    public static final int VFIO_IOMMU_UNMAP_DMA = VfioIoctl.VFIO_IOMMU_UNMAP_DMA.number();
    public static final int VFIO_IOMMU_PASID_REQUEST = VfioIoctl.VFIO_IOMMU_PASID_REQUEST.number();
    public static final int VFIO_IOMMU_BIND = VfioIoctl.VFIO_IOMMU_BIND.number();
    public static final int VFIO_IOMMU_CACHE_INVALIDATE = VfioIoctl.VFIO_IOMMU_CACHE_INVALIDATE.number();
    public static final int VFIO_IOMMU_GET_VMID = VfioIoctl.VFIO_IOMMU_GET_VMID.number();
    public static final int VFIO_IOMMU_SET_VMID = VfioIoctl.VFIO_IOMMU_SET_VMID.number();
    public static final int VFIO_CONTAINER_SET_PERSISTENT_PGTABLES = VfioIoctl.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES.number();
    public static final int VFIO_IOMMU_READ_FAULTS = VfioIoctl.VFIO_IOMMU_READ_FAULTS.number();
    public static final int VFIO_IOMMU_PAGE_RESPONSE = VfioIoctl.VFIO_IOMMU_PAGE_RESPONSE.number();

    /** Capacity of a page-table file the kernel or {@link #openPageTableFile} creates: 64 MiB, sparse. */
    public static final long DOMAIN_FILE_PAGES = 16384;

    final PkernfsMount mount;
    final HostTopology topology;
    final Registries reg;
    final IntentJournal journal;
    final PhysicalMemory memory = new PhysicalMemory();
    final Map<Integer, IommuUnit> units = new TreeMap<>();
    final Map<Integer, VfioGroup> groups = new TreeMap<>();
    final VmidAllocator vmids;
    final PasidAllocator pasids;
    final VmmAddressSpace vmm = new VmmAddressSpace();
    final Map<Integer, VfioContainer> containers = new TreeMap<>();
    final Map<Integer, ContainerRecord> preserved = new TreeMap<>();
    private final Map<Integer, FaultQueue> faultQueues = new HashMap<>();
    private final AtomicLong faultSeq = new AtomicLong();
    private final Map<Integer, Object> fds = new TreeMap<>();
    private int nextFd = 3;
    private int nextContainerId = 1;
    private long nextDomainId = 1;
    private final RecoveryReport recovery = new RecoveryReport();
    private int defaultPasidQuota = PasidAllocator.DEFAULT_QUOTA;
    volatile CrashPoints crashPoints = CrashPoints.NONE;
    private boolean closed;

    private VfioKernel(PkernfsMount mount, HostTopology topology) {
        this.mount = mount;
        this.topology = topology;
        this.reg = mount.registries();
        this.journal = mount.journal();
        this.vmids = new VmidAllocator(reg.vmids, IommuUnit.VMID_WIDTH);
        this.pasids = new PasidAllocator(reg.pasids);
    }

    /**
     * Boots a kernel on a read-write mount: first boot or after kexec (planned or crash).
     *
     * @throws IllegalStateException when the mount is read-only or a unit's table file does not
     *                               match the topology's driver
     */
    public static VfioKernel boot(PkernfsMount mount, HostTopology topology) {
        if (mount.readOnly()) {
            throw new IllegalStateException(mount.dir() + " is mounted read-only");
        }
        VfioKernel k = new VfioKernel(mount, topology);
        k.start();
        return k;
    }

    private void start() {
        for (HostTopology.Unit u : topology.units().values()) {
            List<Bdf> devs = new ArrayList<>();
            for (HostTopology.Group g : topology.groups().values()) {
                if (g.unitId() == u.id()) {
                    devs.addAll(g.devices());
                }
            }
            units.put(u.id(), IommuUnit.open(mount, u, devs, memory, this::routeFault));
        }
        if (mount.recovering()) {
            recovery.unclean(true);
            replayIntent(true);
            sweep();
            // refcounts follow the container records, whatever step the crash interrupted
            Map<Integer, Integer> counts = new TreeMap<>();
            for (ContainerRecord c : reg.containers.values()) {
                if (c.vmid() != VfioContainer.VMID_INVALID) {
                    counts.merge(c.vmid(), 1, Integer::sum);
                }
            }
            vmids.rebuild(counts);
        }
        for (HostTopology.Group g : topology.groups().values()) {
            groups.put(g.id(), new VfioGroup(g));
        }
        for (GroupRecord g : reg.groups.values()) {
            VfioGroup vg = groups.get(g.groupId());
            if (vg != null) {
                vg.preservedContainerId = g.containerId();
            }
        }
        for (ContainerRecord c : reg.containers.values()) {
            preserved.put(c.containerId(), c);
            recovery.preserved(c.containerId());
            nextContainerId = Math.max(nextContainerId, c.containerId() + 1);
        }
        for (DomainRecord d : reg.domains.values()) {
            nextDomainId = Math.max(nextDomainId, d.domainId() + 1);
        }
        for (long key : reg.faults.keys()) {
            faultSeq.set(Math.max(faultSeq.get(), Math.abs(key)));
        }
        // every table file's PA window must resolve for the device-side walk, preserved domains included
        for (Path p : mount.pageTableFiles()) {
            try {
                memory.add(mount.openTableFile(p));
            } catch (RuntimeException e) {
                recovery.note("page-table file " + p.getFileName() + " not opened: " + e.getMessage());
            }
        }
        for (Path p : mount.guestMemoryFiles()) {
            memory.add(mount.openGuestMemory(PkernfsMount.baseName(p, PkernfsMount.MEM_SUFFIX)));
        }
    }

    // ---- accessors ------------------------------------------------------------------------------------

    public PkernfsMount mount() { return mount; }
    public HostTopology topology() { return topology; }
    public RecoveryReport recoveryReport() { return recovery; }
    public IommuUnit unit(int id) { return units.get(id); }
    public VfioGroup group(int id) { return groups.get(id); }
    public VmidAllocator vmids() { return vmids; }
    public PasidAllocator pasids() { return pasids; }
    public VmmAddressSpace vmm() { return vmm; }
    public PhysicalMemory physicalMemory() { return memory; }
    public Map<Integer, ContainerRecord> preservedContainers() { return new TreeMap<>(preserved); }

    /** The container behind an fd, or null. */
    public synchronized VfioContainer container(int fd) {
        Object o = fds.get(fd);
        return o instanceof VfioContainer ? (VfioContainer) o : null;
    }

    /** PASID quota for containers opened from now on. */
    public synchronized void setDefaultPasidQuota(int quota) {
        defaultPasidQuota = quota;
    }

    /** Test hook: where multi-step ioctls may be cut short ({@link SimulatedCrash}). */
    public void setCrashPoints(CrashPoints p) {
        crashPoints = p == null ? CrashPoints.NONE : p;
    }

    IommuUnit defaultUnit() {
        return units.values().iterator().next();
    }

    Object fdObject(int fd) {
        return fds.get(fd);
    }

    long nextDomainId() {
        return nextDomainId++;
    }

    FaultQueue faultQueue(int containerId) {
        return faultQueues.computeIfAbsent(containerId, id -> new FaultQueue(id, reg.faults, faultSeq));
    }

    /** Fault routing (iommu_report_device_fault): to the container owning the device's group. */
    private boolean routeFault(int unitId, Bdf bdf, byte[] fault) {
        HostTopology.Group tg = topology.groupOf(bdf);
        VfioGroup g = tg == null ? null : groups.get(tg.id());
        if (g == null) {
            return false;
        }
        int cid;
        if (g.container != null) {
            cid = g.container.id;
        } else if (g.preservedContainerId >= 0 && preserved.containsKey(g.preservedContainerId)) {
            cid = g.preservedContainerId; // before reclaim: kept for the VMM that comes back
        } else {
            return false;
        }
        return faultQueue(cid).push(fault);
    }

    // ---- fds ------------------------------------------------------------------------------------------

    private int install(Object o) {
        int fd = nextFd++;
        fds.put(fd, o);
        return fd;
    }

    /** open("/dev/vfio/vfio"): a new, empty container. */
    public synchronized int openContainer() {
        checkOpen();
        VfioContainer c = new VfioContainer(this, nextContainerId++, defaultPasidQuota);
        containers.put(c.id, c);
        return install(c);
    }

    /** open("/dev/vfio/GROUP"): the fd, -ENOENT for an unknown group, -EBUSY if already open. */
    public synchronized int openGroup(int groupId) {
        checkOpen();
        VfioGroup g = groups.get(groupId);
        if (g == null) {
            return -Errno.ENOENT;
        }
        if (g.open) {
            return -Errno.EBUSY;
        }
        g.open = true;
        return install(g);
    }

    /**
     * Opens (with {@code create}, creating if absent) the pkernfs IOMMU page-table file
     * {@code pgtables/NAME.pt}, in the default unit's stage-2 format when created.
     *
     * @return the fd, -ENOENT (absent, no create), -EINVAL (bad name or not a domain table file)
     */
    public synchronized int openPageTableFile(String name, boolean create) {
        return openPageTableFile(name, create, defaultUnit().stage2Format().id());
    }

    public synchronized int openPageTableFile(String name, boolean create, int formatId) {
        checkOpen();
        if (name == null || name.isEmpty() || name.contains("/") || name.contains("\0")) {
            return -Errno.EINVAL;
        }
        Path p = mount.pageTablePath(name);
        PageTableFile f;
        if (Files.exists(p)) {
            f = mount.openTableFile(p);
            if (f.kind() != PageTableFileDescriptor.KIND_DOMAIN_TABLES) {
                return -Errno.EINVAL;
            }
        } else if (!create) {
            return -Errno.ENOENT;
        } else {
            f = mount.createTableFile(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, formatId, DOMAIN_FILE_PAGES, 0);
        }
        memory.add(f);
        return install(new PersistentPgtableFile(name, f));
    }

    /** close(fd): a container is released, a group leaves its container. 0 or -EBADF. */
    public synchronized int close(int fd) {
        Object o = fds.remove(fd);
        if (o == null) {
            return -Errno.EBADF;
        }
        try {
            if (o instanceof VfioContainer) {
                VfioContainer c = (VfioContainer) o;
                c.release();
                containers.remove(c.id);
                faultQueues.remove(c.id);
            } else if (o instanceof VfioGroup) {
                VfioGroup g = (VfioGroup) o;
                g.open = false;
                if (g.container != null) {
                    g.container.detachGroup(g);
                }
            }
            return 0;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "close(" + fd + ") of " + o + " failed", e);
            return -Errno.EIO;
        }
    }

    /**
     * The VMM mmap()s guest memory {@code mem/NAME.gmem} (created with {@code size} if absent) at
     * {@code vaddr}. 0, or -EINVAL (unaligned, overlapping, larger than the file).
     */
    public synchronized int mapGuestMemory(long vaddr, long size, String guestMemoryName) {
        checkOpen();
        if (size <= 0 || ((vaddr | size) & (VfioContainer.PAGE - 1)) != 0 || vaddr + size < vaddr) {
            return -Errno.EINVAL;
        }
        GuestMemoryFile g = Files.exists(mount.guestMemoryPath(guestMemoryName))
                ? mount.openGuestMemory(guestMemoryName) : mount.createGuestMemory(guestMemoryName, size);
        if (size > g.size()) {
            return -Errno.EINVAL;
        }
        memory.add(g);
        return vmm.map(vaddr, size, g) ? 0 : -Errno.EINVAL;
    }

    // ---- ioctl ----------------------------------------------------------------------------------------

    /** ioctl(fd, request, arg) with a pointer argument; {@code arg} is the user buffer (may be null). */
    public synchronized int ioctl(int fd, int request, byte[] arg) {
        return (int) dispatch(fd, request, arg, 0, false);
    }

    /** ioctl(fd, request, value) with a by-value argument. */
    public synchronized long ioctl(int fd, int request, long scalar) {
        return dispatch(fd, request, null, scalar, true);
    }

    private long dispatch(int fd, int request, byte[] arg, long scalar, boolean byValue) {
        if (closed) {
            return -Errno.EBADF;
        }
        Object o = fds.get(fd);
        if (o == null) {
            return -Errno.EBADF;
        }
        try {
            if (o instanceof VfioContainer) {
                return containerIoctl((VfioContainer) o, request, arg, scalar, byValue);
            }
            if (o instanceof VfioGroup) {
                return groupIoctl((VfioGroup) o, request, arg, byValue);
            }
            return -Errno.ENOTTY;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "ioctl(" + fd + ", " + VfioIoctl.describe(request) + ") on " + o
                    + " failed unexpectedly; returning -EIO", e);
            if (journal.pending() != null) {
                // all or nothing now, as after a crash: undo or finish the interrupted operation
                try {
                    replayIntent(false);
                } catch (RuntimeException again) {
                    LOG.log(System.Logger.Level.ERROR, "replay of the interrupted intent failed; left for the next boot", again);
                }
            }
            return -Errno.EIO;
        }
    }

    /** A by-value argument passed through the pointer path: the little-endian value of the bytes. */
    private static long valueOf(byte[] arg) {
        if (arg == null) {
            return 0;
        }
        long v = 0;
        for (int i = Math.min(arg.length, 8) - 1; i >= 0; i--) {
            v = v << 8 | (arg[i] & 0xFF);
        }
        return v;
    }

    private long containerIoctl(VfioContainer c, int request, byte[] arg, long scalar, boolean byValue) {
        long value = byValue ? scalar : valueOf(arg);
        if (request == VFIO_GET_API_VERSION) {
            return 0; // VFIO_API_VERSION
        }
        if (request == VFIO_CHECK_EXTENSION) {
            return VfioContainer.checkExtension(value);
        }
        if (request == VFIO_SET_IOMMU) {
            return c.setIommu(value);
        }
        if (request == VFIO_IOMMU_SET_VMID) {
            return c.setVmid(value);
        }
        if (request == VFIO_IOMMU_GET_VMID) {
            return byValue ? -Errno.EFAULT : c.getVmid(arg);
        }
        if (request == VFIO_CONTAINER_SET_PERSISTENT_PGTABLES) {
            return byValue ? -Errno.EFAULT : c.setPersistentPgtables(arg);
        }
        boolean driverIoctl = request == VFIO_IOMMU_GET_INFO || request == VFIO_IOMMU_MAP_DMA
                || request == VFIO_IOMMU_UNMAP_DMA || request == VFIO_IOMMU_PASID_REQUEST || request == VFIO_IOMMU_BIND
                || request == VFIO_IOMMU_CACHE_INVALIDATE || request == VFIO_IOMMU_READ_FAULTS
                || request == VFIO_IOMMU_PAGE_RESPONSE;
        if (c.iommuType == 0) {
            return -Errno.EINVAL; // container.c's default without a driver, known number or not
        }
        if (!driverIoctl) {
            return -Errno.ENOTTY; // type1's default
        }
        if (byValue) {
            return -Errno.EFAULT; // a value is not a user pointer
        }
        if (request == VFIO_IOMMU_GET_INFO) {
            return c.getInfo(arg);
        }
        if (request == VFIO_IOMMU_MAP_DMA) {
            return c.mapDma(arg);
        }
        if (request == VFIO_IOMMU_UNMAP_DMA) {
            return c.unmapDma(arg);
        }
        if (request == VFIO_IOMMU_PASID_REQUEST) {
            return c.pasidRequest(arg);
        }
        if (request == VFIO_IOMMU_BIND) {
            return c.bind(arg);
        }
        if (request == VFIO_IOMMU_CACHE_INVALIDATE) {
            return c.cacheInvalidate(arg);
        }
        if (request == VFIO_IOMMU_READ_FAULTS) {
            return c.readFaults(arg);
        }
        return c.pageResponse(arg);
    }

    private long groupIoctl(VfioGroup g, int request, byte[] arg, boolean byValue) {
        if (request == VFIO_GROUP_GET_STATUS) {
            if (byValue || arg == null || arg.length < VfioGroupStatus.SIZE) {
                return -Errno.EFAULT;
            }
            ByteBuffer b = ByteBuffer.wrap(arg).order(ByteOrder.LITTLE_ENDIAN);
            if (Integer.compareUnsigned(b.getInt(VfioGroupStatus.OFFSET_ARGSZ), VfioGroupStatus.SIZE) < 0) {
                return -Errno.EINVAL;
            }
            int flags = VfioGroupStatus.VFIO_GROUP_FLAGS_VIABLE
                    | (g.container != null ? VfioGroupStatus.VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
            b.putInt(VfioGroupStatus.OFFSET_FLAGS, flags);
            return 0;
        }
        if (request == VFIO_GROUP_SET_CONTAINER) {
            if (byValue || arg == null || arg.length < 4) {
                return -Errno.EFAULT;
            }
            int cfd = ByteBuffer.wrap(arg).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            if (cfd < 0) {
                return -Errno.EINVAL;
            }
            Object o = fds.get(cfd);
            if (o == null) {
                return -Errno.EBADF;
            }
            if (g.container != null || !(o instanceof VfioContainer)) {
                return -Errno.EINVAL;
            }
            return ((VfioContainer) o).attachGroup(g);
        }
        if (request == VFIO_GROUP_UNSET_CONTAINER) {
            if (g.container == null) {
                return -Errno.EINVAL;
            }
            g.container.detachGroup(g);
            return 0;
        }
        return -Errno.ENOTTY;
    }

    // ---- domains and reclaim ----------------------------------------------------------------------------

    /** The kernel's own page-table file for a domain without a persistent file: new, or an old one emptied. */
    PageTableFile kernelDomainFile(String name, IommuUnit unit) {
        Path p = mount.pageTablePath(name);
        if (!Files.exists(p)) {
            return mount.createTableFile(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, unit.stage2Format().id(),
                    DOMAIN_FILE_PAGES, 0);
        }
        PageTableFile f = mount.openTableFile(p);
        if (f.format() != unit.stage2Format().id() || f.kind() != PageTableFileDescriptor.KIND_DOMAIN_TABLES) {
            return null;
        }
        // left behind by a released domain: nobody references it, so start from an empty file
        f.setRootPa(0);
        f.reclaimUnreachable(new BitSet());
        return f;
    }

    /**
     * SET_PERSISTENT_PGTABLES on a file that already has tables: if a preserved container was bound
     * to it, {@code c} becomes that container (its id and everything filed under it).
     */
    void reclaim(VfioContainer c, String fileName) {
        ContainerRecord p = null;
        for (ContainerRecord r : preserved.values()) {
            if (r.pgtableFile().equals(fileName)) {
                p = r;
                break;
            }
        }
        if (p == null) {
            return;
        }
        int oldId = c.id;
        reg.containers.remove(oldId);
        if (c.vmid != VfioContainer.VMID_INVALID) {
            vmids.release(c.vmid);
        }
        pasids.freeAll(oldId);
        faultQueues.remove(oldId);
        containers.remove(oldId);
        c.id = p.containerId();
        containers.put(c.id, c);
        preserved.remove(c.id);
        c.reclaimed = true;
        c.vmid = p.vmid();
        c.pasidQuota = p.pasidQuota();
        c.preservedDomainId = p.domainId();
        for (DmaMappingRecord m : reg.dmaMappings.values()) {
            if (m.containerId() == c.id) {
                c.mappings.put(m.iova(), m);
            }
        }
        for (BindingRecord b : reg.bindings.values()) {
            if (b.containerId() == c.id) {
                c.bindings.put(b.hpasid(), b);
            }
        }
        c.guestStage = reg.guestStages.get(c.id);
        for (VfioGroup g : c.groups) {
            reg.groups.put(g.id(), new GroupRecord(g.id(), c.id));
        }
        LOG.log(System.Logger.Level.DEBUG, "container " + oldId + " reclaimed preserved container " + c.id + " ("
                + fileName + ", vmid " + c.vmid + ", " + c.mappings.size() + " DMA mappings)");
    }

    // ---- recovery after an unclean end ------------------------------------------------------------------

    private List<Bdf> devicesOf(int containerId) {
        List<Bdf> out = new ArrayList<>();
        for (GroupRecord g : reg.groups.values()) {
            if (g.containerId() == containerId && topology.group(g.groupId()) != null) {
                out.addAll(topology.group(g.groupId()).devices());
            }
        }
        return out;
    }

    private DomainRecord domainOf(int containerId) {
        for (DomainRecord d : reg.domains.values()) {
            if (d.containerId() == containerId) {
                return d;
            }
        }
        return null;
    }

    /** Unmaps every leaf of the container's domain in [iova, iova + size) (the range held nothing else). */
    private void unmapLeaves(DomainRecord d, long iova, long size) {
        if (d == null) {
            return;
        }
        PageTableFile f = mount.openTableFile(mount.pageTablePath(d.pgtableFile()));
        if (f.rootPa() == 0) {
            return;
        }
        PageTableFormat fmt = PageTableFormat.byId(d.format());
        IoPageTable t = IoPageTable.attach(f, fmt, PartialUnmapPolicy.SPLIT);
        List<long[]> leaves = new ArrayList<>();
        new PageTableWalker(f, fmt).walk(f.rootPa(), iova, iova + size, new PageTableVisitor() {
            @Override
            public void leaf(int level, long leafIova, long tablePa, int index, long descriptor, long[] path) {
                leaves.add(new long[] {leafIova, PageTableGeometry.blockSize(level)});
            }
        });
        for (long[] l : leaves) {
            t.unmap(l[0], l[1]);
        }
    }

    private DeviceTable tableOf(DomainRecord d) {
        IommuUnit u = d == null ? null : units.get(d.unitId());
        return u == null ? null : u.deviceTable();
    }

    /** Undoes or finishes the active intent; {@code atBoot} puts it in the boot's report (else in its notes). */
    private void replayIntent(boolean atBoot) {
        IntentJournal.Intent in = journal.pending();
        if (in == null) {
            return;
        }
        ByteBuffer b = KernelIntent.read(in.payload());
        int c = b.getInt();
        DomainRecord d = domainOf(c);
        DeviceTable t = tableOf(d);
        String action;
        switch (in.op()) {
            case KernelIntent.MAP_DMA: {
                long iova = b.getLong();
                long size = b.getLong();
                unmapLeaves(d, iova, size);
                reg.dmaMappings.remove(DmaMappingRecord.key(c, iova));
                action = "undone";
                break;
            }
            case KernelIntent.UNMAP_DMA: {
                long iova = b.getLong();
                long size = b.getLong();
                for (DmaMappingRecord m : reg.dmaMappings.values()) {
                    if (m.containerId() == c && m.iova() >= iova && m.iova() - iova < size) {
                        unmapLeaves(d, m.iova(), m.size());
                        reg.dmaMappings.remove(m.key());
                    }
                }
                action = "finished";
                break;
            }
            case KernelIntent.SET_VMID: {
                b.getInt();
                int nv = b.getInt();
                ContainerRecord cr = reg.containers.get(c);
                if (cr != null) {
                    reg.containers.put(c, new ContainerRecord(c, cr.iommuType(), nv, cr.pgtableFile(), cr.domainId(),
                            cr.pasidQuota(), cr.flags()));
                }
                if (d != null) {
                    reg.domains.put(d.domainId(), new DomainRecord(d.domainId(), d.unitId(), d.format(), nv,
                            d.pgtableFile(), d.stage(), d.partialUnmapPolicy(), d.pgsizeBitmap(), d.containerId()));
                    for (Bdf x : devicesOf(c)) {
                        t.setDid(x, nv);
                    }
                }
                action = "finished";
                break;
            }
            case KernelIntent.BIND:
            case KernelIntent.UNBIND: {
                int p = b.getInt();
                if (t != null) {
                    for (Bdf x : devicesOf(c)) {
                        t.unbindPasid(x, p);
                    }
                }
                reg.bindings.remove(p);
                action = in.op() == KernelIntent.BIND ? "undone" : "finished";
                break;
            }
            case KernelIntent.GUEST_STAGE_SET:
            case KernelIntent.GUEST_STAGE_CLEAR: {
                if (t != null) {
                    for (Bdf x : devicesOf(c)) {
                        t.clearGuestStage(x);
                    }
                }
                reg.guestStages.remove(c);
                action = in.op() == KernelIntent.GUEST_STAGE_SET ? "undone" : "finished";
                break;
            }
            case KernelIntent.RELEASE:
                finishRelease(c, d, t);
                action = "finished";
                break;
            default:
                action = "ignored (unknown operation)";
        }
        journal.end();
        if (atBoot) {
            recovery.intent(KernelIntent.name(in.op()), action);
        } else {
            recovery.note("ioctl failed with an exception: intent " + KernelIntent.name(in.op()) + " " + action);
        }
        LOG.log(System.Logger.Level.INFO, "recovery: intent " + KernelIntent.name(in.op()) + " #" + in.seq() + " " + action);
    }

    private void finishRelease(int c, DomainRecord d, DeviceTable t) {
        List<Bdf> devs = devicesOf(c);
        for (BindingRecord br : reg.bindings.values()) {
            if (br.containerId() == c) {
                if (t != null) {
                    for (Bdf x : devs) {
                        t.unbindPasid(x, br.hpasid());
                    }
                }
                reg.bindings.remove(br.hpasid());
            }
        }
        if (reg.guestStages.get(c) != null) {
            if (t != null) {
                for (Bdf x : devs) {
                    t.clearGuestStage(x);
                }
            }
            reg.guestStages.remove(c);
        }
        if (t != null) {
            for (Bdf x : devs) {
                t.detach(x);
            }
        }
        for (DmaMappingRecord m : reg.dmaMappings.values()) {
            if (m.containerId() == c) {
                unmapLeaves(d, m.iova(), m.size());
                reg.dmaMappings.remove(m.key());
            }
        }
        if (d != null) {
            reg.domains.remove(d.domainId());
        }
        for (GroupRecord g : reg.groups.values()) {
            if (g.containerId() == c) {
                reg.groups.remove(g.groupId());
            }
        }
        pasids.freeAll(c);
        for (long key : reg.faults.keys()) {
            if (reg.faults.get(key).containerId() == c) {
                reg.faults.remove(key);
            }
        }
        reg.containers.remove(c);
    }

    /** The reachability sweep: every table file gives back the allocated pages no root reaches. */
    private void sweep() {
        // every stage-2 root a device-table entry names is live, whatever the file header says:
        // a device walks it (a hotswap interrupted between publishing the new root and switching
        // the entries leaves both trees in use)
        List<Long> deviceRoots = new ArrayList<>();
        for (IommuUnit u : units.values()) {
            for (Bdf b : u.devices()) {
                DeviceEntry e = u.deviceTable().lookup(b);
                if (e.present() && e.stage2RootPa() != 0) {
                    deviceRoots.add(e.stage2RootPa());
                }
            }
        }
        for (Path p : mount.pageTableFiles()) {
            String name = PkernfsMount.baseName(p, PkernfsMount.PGTABLE_SUFFIX);
            try {
                PageTableFile f = mount.openTableFile(p);
                BitSet reachable = new BitSet();
                PageTableWalker w = PageTableWalker.of(f);
                if (f.rootPa() != 0) {
                    w.walk(new PageTableVisitor() {});
                    reachable.or(w.reachablePages());
                }
                for (long root : deviceRoots) {
                    if (root != f.rootPa() && f.isTablePage(root)) {
                        w.walk(root, 0, PageTableGeometry.IOVA_LIMIT, new PageTableVisitor() {});
                        reachable.or(w.reachablePages());
                        recovery.note(name + ": a device still walks root 0x" + Long.toHexString(root)
                                + " besides the header's 0x" + Long.toHexString(f.rootPa()) + " (interrupted hotswap)");
                    }
                }
                long n = f.reclaimUnreachable(reachable);
                if (n > 0) {
                    recovery.reclaimed(name, n);
                }
            } catch (RuntimeException e) {
                recovery.note("sweep of " + name + " skipped: " + e.getMessage());
            }
        }
        for (IommuUnit u : units.values()) {
            PageTableFile f = u.deviceTable().file();
            long n = f.reclaimUnreachable(u.deviceTable().reachablePages());
            if (n > 0) {
                recovery.reclaimed("unit" + u.id() + PkernfsMount.IOMMU_SUFFIX, n);
            }
        }
    }

    // ---- shutdown ---------------------------------------------------------------------------------------

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("kernel is shut down");
        }
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Planned kexec: the kernel stops; containers are NOT released (their state is what kexec
     * preserves). The caller then closes the mount (clean unmount) and boots the next kernel.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        fds.clear();
    }

    /**
     * SIGKILL / crash kexec in this JVM: drops everything without cleanup. The mount is not
     * unmounted cleanly (its clean flags stay 0, so the next boot recovers); only the writer lock is
     * released, as the OS would release it for a dead process.
     */
    public synchronized void crash() {
        closed = true;
        fds.clear();
        abandon(mount);
    }

    /**
     * Releases what a dead process would lose (the registries' file locks and the mount's writer
     * lock) without a clean unmount. Uses {@code PkernfsMount.abandon()} if persist provides one,
     * else closes the registries and reaches the private lock (a test-only crash simulation).
     */
    static void abandon(PkernfsMount m) {
        try {
            Method a = PkernfsMount.class.getMethod("abandon");
            a.invoke(m);
            return;
        } catch (NoSuchMethodException e) {
            // fall through
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("PkernfsMount.abandon failed", e);
        }
        // Chronicle Map holds an in-process file lock per open map: a dead process would not
        m.registries().close();
        try {
            Field f = PkernfsMount.class.getDeclaredField("lock");
            f.setAccessible(true);
            Object lock = f.get(m);
            if (lock instanceof AutoCloseable) {
                ((AutoCloseable) lock).close();
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot simulate a crash: mount lock not reachable", e);
        }
    }
}
