package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.ReattachState;
import org.pkstore.vfio.uapi.IommuFault;
import org.pkstore.vfio.uapi.UserU32;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1FaultRead;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Record mode (docs/LIVE-UPDATE.md, boot order): from boot until the registries are open and caught
 * up, the kernel serves the ioctls a VMM's reattach makes from the preserved record alone
 * ({@link PkernfsMount#preservedAtMount()}), so the reattach never waits for a Chronicle Map.
 * What record mode serves changes nothing on disk (no registry, journal or record store; the
 * device entries are checked to be already right, so attaching writes no word): a kill leaves the
 * preserved state, and the next boot serves it again. Anything else, or a reattach ioctl the record
 * does not account for, returns {@link #WAIT} before any change: the kernel then catches up
 * ({@link #catchUp}) and runs today's path, with today's errnos.
 *
 * <p>The catch-up is {@link RecordCatchUp}'s: under the kernel's lock (no ioctl interleaves), crash
 * recovery's registry part, the record checked against the registries, each served container's
 * records written in {@link CatchUpIntent}s, and the preserved record rewritten.
 */
final class RecordReattach {
    private static final System.Logger LOG = DeferredLogger.of(RecordReattach.class);
    /** A handler's answer in record mode when the ioctl needs the registries: nothing was changed. */
    static final int WAIT = Integer.MIN_VALUE;

    private final VfioKernel kernel;
    private final PkernfsMount mount;
    private volatile boolean active;
    private ReattachState fromRecord;
    private final Map<Integer, ReattachState.Container> byId = new HashMap<>();
    private final Map<Integer, Integer> groupOwner = new HashMap<>();
    /** Containers record mode changed in memory, in the order it first did. */
    private final Set<VfioContainer> served = new LinkedHashSet<>();
    private final RecordCatchUp catchUp;
    /** System.nanoTime when the last ioctl in record mode ended, and whether one is running (the background catch-up waits for a pause). */
    private volatile long lastServedNanos;
    private volatile boolean inFlight;
    /** Every container the record preserved is reclaimed and has its domain back (set after each ioctl). */
    private volatile boolean everyContainerReattached;

    RecordReattach(VfioKernel kernel) {
        this.kernel = kernel;
        this.mount = kernel.mount;
        this.catchUp = new RecordCatchUp(kernel, this);
    }

    boolean active() {
        return active;
    }

    /** What the catch-up took and who waited for it; null before it ran (never waits). */
    CatchUpTimes times() {
        return catchUp.times();
    }

    /** Waits for the registries and catches up ({@link RecordCatchUp}); nothing once done. */
    void catchUp(String waiter) {
        catchUp.run(waiter);
    }

    ReattachState fromRecord() {
        return fromRecord;
    }

    Set<VfioContainer> served() {
        return served;
    }

    /** Record mode is idle: no ioctl running, none for {@code nanos}. */
    boolean pausedFor(long nanos) {
        return !inFlight && System.nanoTime() - lastServedNanos >= nanos;
    }

    /** The catch-up is done: every ioctl takes today's path from now on. */
    void leave() {
        active = false;
    }

    /** An ioctl starts in record mode: whether record mode may answer it (else it waits for the catch-up). */
    boolean begin(int request) {
        inFlight = true;
        return serves(request);
    }

    void end() {
        // under the kernel's lock (the ioctl's): the containers and their domains do not change meanwhile
        boolean all = kernel.preserved.isEmpty();
        for (VfioContainer c : served) {
            all &= c.domain != null;
        }
        everyContainerReattached = all;
        lastServedNanos = System.nanoTime();
        inFlight = false;
    }

    /**
     * The VMM's reattach is done but for its live-update MAP_DMAs: every container the record
     * preserved is reclaimed with its domain attached again.
     */
    boolean everyContainerReattached() {
        return everyContainerReattached;
    }

    /** The ioctls record mode may answer (each still checks that the record accounts for it). */
    static boolean serves(int request) {
        return request == VfioKernel.VFIO_GET_API_VERSION || request == VfioKernel.VFIO_CHECK_EXTENSION
                || request == VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES
                || request == VfioKernel.VFIO_GROUP_GET_STATUS || request == VfioKernel.VFIO_GROUP_SET_CONTAINER
                || request == VfioKernel.VFIO_SET_IOMMU || request == VfioKernel.VFIO_IOMMU_MAP_DMA
                || request == VfioKernel.VFIO_IOMMU_GET_VMID || request == VfioKernel.VFIO_IOMMU_READ_FAULTS;
    }

    // ---- boot ----------------------------------------------------------------------------------------

    /**
     * Enters record mode when the record can be used (KernelBoot's rules: present, not behind, not
     * overflowed; after a crash only a pending MAP_DMA/UNMAP_DMA intent, whose table part is done
     * here). False: the boot waits for the registries as before (and its report says why).
     */
    boolean enter() {
        IntentJournal.Intent pending = kernel.journal.pending();
        PreservedRecord.Contents found = mount.preservedAtMount();
        String why = unusable(found, pending);
        if (why != null) {
            LOG.log(System.Logger.Level.INFO, "record mode not used: " + why);
            return false;
        }
        fromRecord = found.state();
        // loops, no lambda or stream on the reattach path: each is a class spun at first use in a fresh JVM
        for (ReattachState.Container c : fromRecord.containers()) {
            byId.put(c.containerId(), c);
            for (int g : c.groups()) {
                groupOwner.put(g, c.containerId());
            }
        }
        long t0 = System.nanoTime();
        if (mount.recovering()) {
            kernel.recovery.unclean(true);
            if (pending != null) {
                tablePart(pending);
            }
            kernel.boot.mapFiles();
        }
        long recoveryNanos = System.nanoTime() - t0;
        kernel.boot.createGroups();
        kernel.boot.preserve(fromRecord);
        kernel.boot.servedFromRecord("used (sequence " + found.sequence() + ", generation " + found.generation()
                + "), record mode until the catch-up", recoveryNanos, 0);
        active = true;
        lastServedNanos = System.nanoTime();
        if (mount.registriesInBackground()) {
            Thread t = new Thread(catchUp::inBackground, "pkstore-catch-up");
            t.setDaemon(true);
            t.start();
        }
        return true;
    }

    private String unusable(PreservedRecord.Contents found, IntentJournal.Intent pending) {
        if (found == null) {
            return mount.preservedRefusal() == null ? "record absent" : "record refused: " + mount.preservedRefusal();
        }
        if (found.operationUnderWay() != 0) {
            return "record behind: ioctl 0x" + Long.toHexString(found.operationUnderWay()) + " was under way";
        }
        if (found.state().overflow()) {
            return "record overflow";
        }
        if (pending != null) {
            if (pending.op() != KernelIntent.MAP_DMA && pending.op() != KernelIntent.UNMAP_DMA) {
                return "record behind: intent " + KernelIntent.name(pending.op()) + " pending";
            }
            int c = KernelIntent.read(pending.payload()).getInt();
            ReattachState.Container rc = found.state().containers().stream().filter(x -> x.containerId() == c)
                    .findFirst().orElse(null);
            if (rc == null || rc.domainId() == 0 || !Files.exists(mount.pageTablePath(tableFileOf(rc)))) {
                return "pending " + KernelIntent.name(pending.op()) + " of container " + c + " has no table in the record";
            }
        }
        return null;
    }

    private static String tableFileOf(ReattachState.Container rc) {
        // a kernel-owned domain's file is named after the domain (VfioContainer.setIommu)
        return rc.pgtableFile().isEmpty() ? "domain-" + rc.domainId() : rc.pgtableFile();
    }

    /**
     * A pending MAP_DMA is undone and an UNMAP_DMA finished in the tables now (every leaf of the
     * range unmapped; the ioctl refuses ranges that cut a mapping, so the range is whole mappings),
     * so a LIVE_UPDATE MAP_DMA sees the tables as recovery leaves them. The intent stays pending:
     * the catch-up's replay does both parts again (the table part then finds nothing to do).
     */
    private void tablePart(IntentJournal.Intent pending) {
        ByteBuffer p = KernelIntent.read(pending.payload());
        int c = p.getInt();
        long iova = p.getLong();
        long size = p.getLong();
        ReattachState.Container rc = byId.get(c);
        String name = tableFileOf(rc);
        PageTableFile f = mount.openTableFile(mount.pageTablePath(name));
        IntentRecords.unmapLeaves(kernel, new DomainRecord(rc.domainId(), 0, f.format(), rc.domainVmid(), name, 0, 0, 0,
                c), iova, size);
        kernel.recovery.note("intent " + KernelIntent.name(pending.op()) + " pending: its tables recovered at boot, its records at the catch-up");
    }

    // ---- the reattach ioctls --------------------------------------------------------------------------

    /** SET_PERSISTENT_PGTABLES on the file of a preserved container: the reclaim, in memory. */
    int setPersistentPgtables(VfioContainer c, VfioSetPersistentPgtables arg) {
        if (!(kernel.fdObject(arg.persistentPgtablesFd()) instanceof PersistentPgtableFile file)
                || c.iommuType != 0 || c.persistentFile != null || c.reclaimed) {
            return WAIT;
        }
        IommuUnit u = c.unit() != null ? c.unit() : kernel.defaultUnit();
        if (file.file().format() != u.stage2Format().id() || file.file().rootPa() == 0) {
            return WAIT;
        }
        ContainerRecord p = kernel.boot.preservedOn(file.name());
        if (p == null) {
            return WAIT;
        }
        for (VfioContainer o : kernel.containers.values()) {
            if (o != c && o.persistentFile != null && o.persistentFile.name().equals(file.name())) {
                return WAIT;
            }
        }
        for (VfioGroup g : c.groups) {
            if (!Integer.valueOf(p.containerId()).equals(groupOwner.get(g.id()))) {
                return WAIT; // a group the record does not put in that container
            }
        }
        kernel.boot.takeOver(c, p); // its temporary id was never written anywhere
        c.persistentFile = file;
        served.add(c);
        return 0;
    }

    /** GROUP_SET_CONTAINER of a group into the container the record puts it in (or a fresh one that will reclaim it). */
    int setContainer(VfioGroup g, UserU32 containerFd) {
        if (containerFd.value() < 0 || !(kernel.fdObject(containerFd.value()) instanceof VfioContainer c)
                || g.container != null || c.domain != null) {
            return WAIT;
        }
        Integer owner = groupOwner.get(g.id());
        IommuUnit u = c.unit();
        if (owner == null || (u != null && u.id() != g.unitId()) || (c.reclaimed ? c.id != owner : c.persistentFile != null)) {
            return WAIT;
        }
        for (VfioGroup o : c.groups) {
            if (!owner.equals(groupOwner.get(o.id()))) {
                return WAIT;
            }
        }
        c.groups.add(g);
        g.container = c;
        g.preservedContainerId = -1;
        served.add(c);
        return 0;
    }

    /** SET_IOMMU onto the reclaimed container's preserved domain: same id and VMID, entries already right. */
    int setIommu(VfioContainer c, long type) {
        ReattachState.Container rc = byId.get(c.id);
        if (!c.reclaimed || !served.contains(c) || c.groups.isEmpty() || c.iommuType != 0 || rc == null
                || c.preservedDomainId <= 0 || rc.domainVmid() != c.vmid || rc.domainId() != c.preservedDomainId
                || (type != VfioUapi.VFIO_TYPE1v2_IOMMU && type != VfioUapi.VFIO_TYPE1_NESTING_IOMMU)) {
            return WAIT;
        }
        IommuUnit u = c.unit();
        PageTableFile file = c.persistentFile.file();
        if (file.format() != u.stage2Format().id() || file.rootPa() == 0) {
            return WAIT;
        }
        for (Bdf b : c.devices()) {
            DeviceEntry e = u.deviceTable().lookup(b);
            if (!e.present() || e.stage2RootPa() != file.rootPa() || e.did() != c.vmid) {
                return WAIT; // attaching would write: today's path, journaled
            }
        }
        kernel.memory.add(file);
        // the table's policy and page sizes are the domain record's: checked at the catch-up
        IommuDomain d = IommuDomain.allocate(c.preservedDomainId, u, file, c.persistentFile.name(), c.id,
                type == VfioUapi.VFIO_TYPE1_NESTING_IOMMU ? IommuDomain.STAGE_NESTED : IommuDomain.STAGE_PAGING, c.vmid);
        for (Bdf b : c.devices()) {
            if (d.attachDevice(b) != 0) {
                throw new IllegalStateException("record mode: " + b + " refused an attach it was checked for");
            }
        }
        c.domain = d;
        c.iommuType = (int) type;
        return 0;
    }

    /** MAP_DMA with LIVE_UPDATE, checked against the tables alone; its record is written at the catch-up. */
    int mapDma(VfioContainer c, VfioIommuType1DmaMap arg) {
        int flags = arg.flags();
        long vaddr = arg.vaddr();
        long iova = arg.iova();
        long size = arg.mapSize();
        int prot = ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ) != 0 ? Prot.READ : 0)
                | ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE) != 0 ? Prot.WRITE : 0);
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE) == 0 || !served.contains(c) || c.domain == null
                || prot == 0 || size == 0 || ((size | iova | vaddr) & (DmaMappings.PAGE - 1)) != 0
                || Long.compareUnsigned(iova + size - 1, iova) < 0 || Long.compareUnsigned(vaddr + size - 1, vaddr) < 0
                || Long.compareUnsigned(iova + size - 1, DmaMappings.IOVA_LIMIT - 1) > 0) {
            return WAIT;
        }
        long pa = kernel.vmm.resolve(vaddr, size);
        if (pa < 0 || c.domain.firstMismatch(iova, size, pa, prot | Prot.CACHE) >= 0) {
            return WAIT;
        }
        DmaMappingRecord existing = c.dma.byIova.get(iova);
        if (existing != null ? existing.size() != size
                : c.dma.overlaps(iova, size) || c.dma.count() >= VfioUapi.DEFAULT_DMA_ENTRY_LIMIT) {
            return WAIT;
        }
        c.dma.byIova.put(iova, new DmaMappingRecord(c.id, iova, size, vaddr, pa, prot | Prot.CACHE));
        c.dma.liveUpdateMatched();
        return 0;
    }

    /** READ_FAULTS when the record says the container has no pending fault (the queue is in the fault registry). */
    int readFaults(VfioContainer c, VfioIommuType1FaultRead arg) {
        ReattachState.Container rc = byId.get(c.id);
        if (!c.reclaimed || !served.contains(c) || rc == null || rc.pendingFaults() != 0
                || Integer.toUnsignedLong(arg.argsz())
                < VfioIommuType1FaultRead.SIZE + Integer.toUnsignedLong(arg.count()) * IommuFault.SIZE) {
            return WAIT;
        }
        arg.count(0);
        arg.pending(0);
        return 0;
    }
}
