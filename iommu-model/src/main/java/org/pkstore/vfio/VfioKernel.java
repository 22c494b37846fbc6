package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.FaultQueue;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.PasidAllocator;
import org.pkstore.iommu.PhysicalMemory;
import org.pkstore.iommu.VmidAllocator;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.vfio.uapi.UserU32;
import org.pkstore.vfio.uapi.VfioIoctl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host kernel's VFIO/IOMMU object graph over one pkernfs mount: IOMMU units, groups,
 * containers, the file-descriptor table and the VMM's address space, with the two ioctl entry
 * points {@link #ioctl(int, int, byte[])} (pointer argument: the kernel reads and writes back into
 * {@code arg} as copy_from_user / copy_to_user) and {@link #ioctl(int, int, long)} (by-value
 * argument), both answered by the one ioctl table ({@link IoctlTable}). Ioctls are serialised (one
 * lock), return 0 / a value or -errno, and never throw: an unexpected exception is logged and
 * returned as -EIO, after the interrupted intent (if any) is replayed ({@link IntentReplay}).
 *
 * <h2>Boot</h2>
 * {@link #boot} ({@link KernelBoot}) opens every unit's device table as it is (after kexec: zero writes; first boot:
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
    private static final System.Logger LOG = DeferredLogger.of(VfioKernel.class);

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
    /** Null in record mode ({@link RecordReattach}): set by the catch-up, or at boot when the record is not used. */
    Registries registries;
    final IntentJournal journal;
    final PhysicalMemory memory = new PhysicalMemory();
    final Map<Integer, IommuUnit> units = new TreeMap<>();
    final Map<Integer, VfioGroup> groups = new TreeMap<>();
    VmidAllocator vmids;
    PasidAllocator pasids;
    final VmmAddressSpace vmm = new VmmAddressSpace();
    final Map<Integer, VfioContainer> containers = new TreeMap<>();
    final Map<Integer, ContainerRecord> preserved = new TreeMap<>();
    final Map<Integer, FaultQueue> faultQueues = new HashMap<>();
    final AtomicLong faultSeq = new AtomicLong();
    private final Map<Integer, Object> fds = new TreeMap<>();
    private int nextFd = 3;
    int nextContainerId = 1;
    long nextDomainId = 1;
    final RecoveryReport recovery = new RecoveryReport();
    private int defaultPasidQuota = PasidAllocator.DEFAULT_QUOTA;
    volatile CrashPoints crashPoints = CrashPoints.NONE;
    private boolean closed;
    final IntentReplay intentReplay;
    final KernelBoot boot;
    final RecordReattach reattach;
    private final PreservedRecordKeeping recordKeeping = new PreservedRecordKeeping(this);
    private final IoctlTable ioctls;

    private VfioKernel(PkernfsMount mount, HostTopology topology) {
        this.mount = mount;
        this.topology = topology;
        this.journal = mount.journal();
        this.boot = new KernelBoot(this);
        // the device tables and table files need no registry: opened while the registries open
        boot.openUnits();
        this.intentReplay = new IntentReplay(this);
        this.reattach = new RecordReattach(this);
        this.ioctls = new IoctlTable(this);
    }

    /** The registries are open: they and the allocators built on them become the kernel's. */
    void registriesOpen(Registries open) {
        registries = open;
        vmids = new VmidAllocator(open.vmids, IommuUnit.VMID_WIDTH);
        pasids = new PasidAllocator(open.pasids);
    }

    /**
     * Boots a kernel on a read-write mount: first boot or after kexec (planned or crash).
     *
     * @throws IllegalStateException when the mount is read-only or a unit's table file does not
     *                               match the topology's driver
     */
    public static VfioKernel boot(PkernfsMount mount, HostTopology topology) {
        return boot(mount, topology, mount.registriesInBackground());
    }

    /**
     * As {@link #boot(PkernfsMount, HostTopology)}; with {@code recordFirst} and a usable preserved
     * record the kernel starts in record mode ({@link RecordReattach}): the reattach ioctls are served
     * from the record and the registries are caught up later (by default when they open in the background).
     */
    public static VfioKernel boot(PkernfsMount mount, HostTopology topology, boolean recordFirst) {
        if (mount.readOnly()) {
            throw new IllegalStateException(mount.dir() + " is mounted read-only");
        }
        VfioKernel kernel = new VfioKernel(mount, topology);
        if (!recordFirst || !kernel.reattach.enter()) {
            kernel.registriesOpen(mount.registries());
            kernel.boot.start();
            kernel.recordPreserved();
        }
        return kernel;
    }

    /**
     * Waits for the registries and brings them up to date with what record mode served
     * ({@link RecordReattach#catchUp}); at once when the kernel is not (or no longer) in record mode.
     */
    public synchronized void catchUp() {
        reattach.catchUp("catchUp()");
    }

    /** Record mode's catch-up, its span and the ioctls that waited for it ({@link CatchUpTimes}); never waits. */
    public CatchUpTimes catchUpTimes() { return reattach.times(); }

    /** Serving the reattach from the preserved record; the registries are not caught up yet. */
    public boolean inRecordMode() { return reattach.active(); }

    /** How this boot used the preserved record and how long its parts took ({@link BootTimes}). */
    public BootTimes bootTimes() { return boot.times(); }

    /** Rewrites the preserved record from the registries ({@link PreservedRecordKeeping#write}). */
    synchronized void recordPreserved() {
        recordKeeping.write();
    }

    // ---- accessors ------------------------------------------------------------------------------------

    public PkernfsMount mount() { return mount; }
    public HostTopology topology() { return topology; }
    public RecoveryReport recoveryReport() { return recovery; }
    public IommuUnit unit(int id) { return units.get(id); }
    public VfioGroup group(int id) { return groups.get(id); }
    public synchronized VmidAllocator vmids() { catchUp(); return vmids; }
    public synchronized PasidAllocator pasids() { catchUp(); return pasids; }
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

    long allocateDomainId() {
        return nextDomainId++;
    }

    FaultQueue faultQueue(int containerId) {
        return faultQueues.computeIfAbsent(containerId, id -> new FaultQueue(id, registries.faults, faultSeq));
    }

    /** Fault routing (iommu_report_device_fault): to the container owning the device's group. */
    boolean routeFault(int unitId, Bdf bdf, byte[] fault) {
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
        synchronized (this) {
            reattach.catchUp("fault report"); // the queue lives in the fault registry
            recordKeeping.before(0, true); // the pending faults a reattach delivers
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
            reattach.catchUp("open " + name + " (create)"); // record mode makes no durable change
            // no domain exists yet: owner id 0 = created by the VMM (docs/FORMAT.md, owner id row)
            f = mount.createTableFile(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, formatId, DOMAIN_FILE_PAGES,
                    PageTableFileDescriptor.OWNER_VMM);
        }
        memory.add(f);
        return install(new PersistentPgtableFile(name, f));
    }

    /** close(fd): a container is released, a group leaves its container. 0 or -EBADF. */
    public synchronized int close(int fd) {
        if (!fds.containsKey(fd)) {
            return -Errno.EBADF;
        }
        reattach.catchUp("close");
        Object o = fds.remove(fd);
        recordKeeping.before(0, o instanceof VfioContainer || o instanceof VfioGroup);
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
                    g.container.detachGroupJournaled(g);
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
        if (size <= 0 || ((vaddr | size) & (DmaMappings.PAGE - 1)) != 0 || vaddr + size < vaddr) {
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
        Object file = fds.get(fd);
        if (file == null) {
            return -Errno.EBADF;
        }
        try {
            if (reattach.active()) {
                long served = reattach.begin(request) ? ioctls.dispatch(file, request, arg, scalar, byValue) : RecordReattach.WAIT;
                reattach.end();
                if (served != RecordReattach.WAIT) {
                    return served;
                }
                reattach.catchUp(VfioIoctl.describe(request)); // then today's path, with today's errnos
            }
            // the preserved record follows every change a reattach needs (written before the next operation)
            recordKeeping.before(request, PreservedRecordKeeping.changesReattachState(request));
            return ioctls.dispatch(file, request, arg, scalar, byValue);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "ioctl(" + fd + ", " + VfioIoctl.describe(request) + ") on " + file
                    + " failed unexpectedly; returning -EIO", e);
            if (journal.pending() != null && !reattach.active()) {
                // all or nothing now, as after a crash: undo or finish the interrupted operation
                try {
                    intentReplay.replay(false);
                } catch (RuntimeException again) {
                    LOG.log(System.Logger.Level.ERROR, "replay of the interrupted intent failed; left for the next boot", again);
                }
            }
            return -Errno.EIO; // the record is brought current before the next operation
        }
    }

    /** VFIO_GROUP_SET_CONTAINER: {@code containerFd} points at the container's fd. */
    int setContainer(VfioGroup group, UserU32 containerFd) {
        int cfd = containerFd.value();
        if (cfd < 0) {
            return -Errno.EINVAL;
        }
        Object file = fds.get(cfd);
        if (file == null) {
            return -Errno.EBADF;
        }
        if (group.container != null || !(file instanceof VfioContainer)) {
            return -Errno.EINVAL;
        }
        return ((VfioContainer) file).attachGroup(group);
    }

    // ---- domains ------------------------------------------------------------------------------------------

    /**
     * The kernel's own page-table file for a domain without a persistent file: new (its header's owner
     * id = the domain id, written with the header; docs/FORMAT.md, owner id row), or an old one of the
     * same name, so of the same domain id, emptied.
     */
    PageTableFile kernelDomainFile(String name, IommuUnit unit, long domainId) {
        Path p = mount.pageTablePath(name);
        if (!Files.exists(p)) {
            return mount.createTableFile(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, unit.stage2Format().id(),
                    DOMAIN_FILE_PAGES, domainId);
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
        reattach.catchUp("planned stop"); // what record mode served becomes what the next kernel reattaches
        recordKeeping.writeIfPending(); // what the next kernel reattaches from
        closed = true;
        fds.clear();
    }

    /**
     * SIGKILL / crash kexec in this JVM: drops everything without cleanup and abandons the mount
     * ({@link PkernfsMount#abandon()}): it is not unmounted cleanly (the next boot recovers); its
     * mappings, registries and writer lock go, as the OS would take them from a dead process.
     */
    public synchronized void crash() {
        closed = true;
        fds.clear();
        mount.abandon();
    }
}
