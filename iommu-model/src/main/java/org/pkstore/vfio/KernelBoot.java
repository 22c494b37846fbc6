package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ReattachState;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.Registries;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A kernel's boot over a mount and what it leaves for the VMM that comes back: the units' device
 * tables opened as they are (after kexec: zero writes), and after an unclean end the pending intent
 * replayed ({@link IntentReplay}), VMID and PASID ownership rebuilt from every holder ({@link VmidOwners}) and
 * the reachability sweep over every table file ({@link VfioKernel#recoveryReport()}). Containers
 * that existed before the kexec are kept as preserved records until a new container reclaims one
 * ({@link #reclaim}, from VFIO_CONTAINER_SET_PERSISTENT_PGTABLES on the same page-table file).
 */
final class KernelBoot {
    private static final System.Logger LOG = DeferredLogger.of(KernelBoot.class);

    private final VfioKernel kernel;
    private final PkernfsMount mount;
    private long tUnits;
    private long tTables;
    private long unitsNanos;
    private long tablesNanos;
    private long registryWaitNanos;
    private long recoveryNanos;
    private long preservedNanos;
    private String record = "absent";

    KernelBoot(VfioKernel kernel) {
        this.kernel = kernel;
        this.mount = kernel.mount;
    }

    /**
     * The part of the boot that needs no registry, run while the registries open in the background
     * (docs/LIVE-UPDATE.md, boot order): every unit's device tables as they are and, after a clean
     * end, every table file and guest memory file mapped (after an unclean end the files are mapped
     * once recovery has replayed the interrupted intent and swept them).
     */
    void openUnits() {
        tUnits = System.nanoTime();
        for (HostTopology.Unit u : kernel.topology.units().values()) {
            List<Bdf> devs = new ArrayList<>();
            for (HostTopology.Group g : kernel.topology.groups().values()) {
                if (g.unitId() == u.id()) {
                    devs.addAll(g.devices());
                }
            }
            kernel.units.put(u.id(), IommuUnit.open(mount, u, devs, kernel.memory, kernel::routeFault));
        }
        tTables = System.nanoTime();
        unitsNanos = tTables - tUnits;
        if (!mount.recovering()) {
            mapFiles();
            tablesNanos = System.nanoTime() - tTables;
        }
    }

    /** Recovers after an unclean end and loads what the previous kernel preserved (the registries are open). */
    void start() {
        Registries registries = kernel.registries;
        registryWaitNanos = mount.registryWaitNanos();
        if (mount.recovering()) {
            long t0 = System.nanoTime();
            kernel.recovery.unclean(true);
            recoverRegistries(null);
            recoveryNanos = System.nanoTime() - t0;
            long t1 = System.nanoTime();
            mapFiles();
            tablesNanos = System.nanoTime() - t1;
        }
        createGroups();
        long tPreserved = System.nanoTime();
        loadPreserved(registries);
        countersFromRegistries();
        preservedNanos = System.nanoTime() - tPreserved;
    }

    /**
     * After an unclean end, the part of recovery that reads and writes the registries: the pending
     * intent replayed, the reachability sweep, VMID and PASID ownership rebuilt.
     */
    String recoverRegistries(Map<Path, BitSet> reachable) {
        long t0 = System.nanoTime();
        kernel.intentReplay.replay(true);
        long t1 = System.nanoTime();
        sweep(reachable);
        long t2 = System.nanoTime();
        // VMID and PASID ownership follow everything that can hold one, whatever step the crash interrupted
        VmidOwners.rebuild(kernel);
        return String.format("replay %.1f ms, sweep %.1f ms, ownership %.1f ms", (t1 - t0) / 1e6, (t2 - t1) / 1e6,
                (System.nanoTime() - t2) / 1e6);
    }

    void createGroups() {
        for (HostTopology.Group g : kernel.topology.groups().values()) {
            kernel.groups.put(g.id(), new VfioGroup(g));
        }
    }

    /** The next domain id and fault sequence number follow what the registries hold. */
    void countersFromRegistries() {
        countersFrom(registryCounters(kernel.registries));
    }

    /** {next domain id, highest fault sequence number, next container id} as {@code registries} say (only reads). */
    static long[] registryCounters(Registries registries) {
        long[] out = {1, 0, 1};
        for (DomainRecord d : registries.domains.values()) {
            out[0] = Math.max(out[0], d.domainId() + 1);
        }
        for (long key : registries.faults.keys()) {
            out[1] = Math.max(out[1], Math.abs(key));
        }
        for (ContainerRecord c : registries.containers.values()) {
            out[2] = Math.max(out[2], c.containerId() + 1);
        }
        return out;
    }

    void countersFrom(long[] counters) {
        kernel.nextDomainId = Math.max(kernel.nextDomainId, counters[0]);
        kernel.faultSeq.set(Math.max(kernel.faultSeq.get(), counters[1]));
        kernel.nextContainerId = (int) Math.max(kernel.nextContainerId, counters[2]);
    }

    /** Record mode (docs/LIVE-UPDATE.md, boot order): how the record was used, and no wait for the registries. */
    void servedFromRecord(String how, long recoveryNanos, long tablesNanos) {
        this.record = how;
        this.recoveryNanos = recoveryNanos;
        this.tablesNanos += tablesNanos;
        this.registryWaitNanos = 0;
    }

    /**
     * The preserved containers and their groups: from the preserved record when it can be used, then
     * checked against the registries, which win on any difference (noted in the recovery report).
     */
    private void loadPreserved(Registries registries) {
        PreservedRecord.Contents found = mount.preservedAtMount();
        ReattachState fromRecord = null;
        if (found == null) {
            record = mount.preservedRefusal() == null ? "absent" : "refused: " + mount.preservedRefusal();
        } else if (found.operationUnderWay() != 0) {
            record = "behind: ioctl 0x" + Long.toHexString(found.operationUnderWay()) + " was under way";
        } else if (found.state().overflow()) {
            record = "overflow: more than the fixed layout holds";
        } else if (kernel.recovery.intent() != null && !kernel.recovery.intent().endsWith("MAP_DMA")) {
            // MAP_DMA / UNMAP_DMA change no part of the record; any other replayed intent may have
            record = "behind: recovery replayed " + kernel.recovery.intent();
        } else {
            fromRecord = found.state();
        }
        ReattachState truth = ReattachState.of(registries);
        if (fromRecord != null) {
            String diff = fromRecord.differenceFrom(truth);
            if (diff == null) {
                record = "used (sequence " + found.sequence() + ", generation " + found.generation() + ")";
            } else {
                record = "differs from the registries, which win: " + diff;
                fromRecord = null;
            }
        }
        if (!record.startsWith("used") && !record.equals("absent")) {
            kernel.recovery.note("preserved record " + record);
            LOG.log(System.Logger.Level.INFO, "preserved record " + record);
        }
        preserve(fromRecord != null ? fromRecord : truth);
    }

    /** The containers of {@code state} become preserved containers, their groups pointing at them. */
    void preserve(ReattachState state) {
        for (ReattachState.Container c : state.containers()) {
            ContainerRecord r = new ContainerRecord(c.containerId(), c.iommuType(), c.vmid(), c.pgtableFile(),
                    c.domainId(), c.pasidQuota(), c.flags());
            kernel.preserved.put(r.containerId(), r);
            kernel.recovery.preserved(r.containerId());
            kernel.nextContainerId = Math.max(kernel.nextContainerId, r.containerId() + 1);
            for (int group : c.groups()) {
                VfioGroup vg = kernel.groups.get(group);
                if (vg != null) {
                    vg.preservedContainerId = r.containerId();
                }
            }
        }
    }

    /** Every table file's PA window resolves for the device-side walk (preserved domains included), and guest memory. */
    void mapFiles() {
        for (Path p : mount.pageTableFiles()) {
            try {
                kernel.memory.add(mount.openTableFile(p));
            } catch (RuntimeException e) {
                kernel.recovery.note("page-table file " + p.getFileName() + " not opened: " + e.getMessage());
            }
        }
        for (Path p : mount.guestMemoryFiles()) {
            kernel.memory.add(mount.openGuestMemory(PkernfsMount.baseName(p, PkernfsMount.MEM_SUFFIX)));
        }
    }

    BootTimes times() {
        return new BootTimes(unitsNanos, tablesNanos, registryWaitNanos, recoveryNanos, preservedNanos,
                mount.preservedReadNanos(), record, tUnits);
    }

    /** The preserved container whose tables are in the page-table file {@code fileName}, or null. */
    ContainerRecord preservedOn(String fileName) {
        for (ContainerRecord r : kernel.preserved.values()) {
            if (r.pgtableFile().equals(fileName)) {
                return r;
            }
        }
        return null;
    }

    /**
     * {@code c} becomes the preserved container {@code p}, in memory: its id (re-filed under it),
     * VMID, PASID quota and domain id; the reclaim and record mode's reclaim write what each must.
     */
    void takeOver(VfioContainer c, ContainerRecord p) {
        kernel.containers.remove(c.id);
        c.id = p.containerId();
        kernel.containers.put(c.id, c);
        kernel.preserved.remove(c.id);
        c.reclaimed = true;
        c.vmid = p.vmid();
        c.pasidQuota = p.pasidQuota();
        c.preservedDomainId = p.domainId();
    }

    /**
     * SET_PERSISTENT_PGTABLES on a file that already has tables: if a preserved container was bound
     * to it, {@code c} becomes that container (its id and everything filed under it).
     */
    void reclaim(VfioContainer c, String fileName) {
        Registries registries = kernel.registries;
        ContainerRecord p = preservedOn(fileName);
        if (p == null) {
            return;
        }
        int oldId = c.id;
        // journaled (ReclaimIntent): a kill in here is finished by recovery
        kernel.journal.begin(KernelIntent.RECLAIM, ReclaimIntent.payload(oldId, p.containerId()));
        registries.containers.remove(oldId);
        if (c.vmid != VfioContainer.VMID_INVALID) {
            kernel.vmids.release(c.vmid);
        }
        kernel.pasids.freeAll(oldId);
        kernel.faultQueues.remove(oldId);
        takeOver(c, p);
        for (DmaMappingRecord m : registries.dmaMappings.values()) {
            if (m.containerId() == c.id) {
                c.dma.adopt(m);
            }
        }
        for (BindingRecord b : registries.bindings.values()) {
            if (b.containerId() == c.id) {
                c.pasids.bindings.put(b.hpasid(), b);
            }
        }
        c.pasids.guestStage = registries.guestStages.get(c.id);
        for (VfioGroup g : c.groups) {
            kernel.crashPoints.reached("reclaim:groups");
            registries.groups.put(g.id(), new GroupRecord(g.id(), c.id));
        }
        c.save(); // inside the intent: its finish writes the same record (ReclaimIntent)
        kernel.journal.end();
        LOG.log(System.Logger.Level.DEBUG, "container " + oldId + " reclaimed preserved container " + c.id + " ("
                + fileName + ", vmid " + c.vmid + ", " + c.dma.count() + " DMA mappings)");
    }

    /**
     * The reachability sweep: every table file gives back the allocated pages no live root reaches
     * ({@link MountReachability}, the same definition {@code pkstore verify --repair} uses).
     */
    void sweep(Map<Path, BitSet> precomputed) {
        List<Long> deviceRoots = deviceRoots();
        for (Path p : mount.pageTableFiles()) {
            String name = PkernfsMount.baseName(p, PkernfsMount.PGTABLE_SUFFIX);
            try {
                PageTableFile f = mount.openTableFile(p);
                BitSet reachable = precomputed != null && precomputed.containsKey(p) ? precomputed.get(p)
                        : MountReachability.reachable(f, deviceRoots, kernel.journal.pending(), new PageTableVisitor() {});
                for (long root : MountReachability.liveRoots(f, deviceRoots, kernel.journal.pending())) {
                    if (root != f.rootPa()) {
                        kernel.recovery.note(name + ": a device still walks root 0x" + Long.toHexString(root)
                                + " besides the header's 0x" + Long.toHexString(f.rootPa()));
                    }
                }
                long n = f.reclaimUnreachable(reachable);
                if (n > 0) {
                    kernel.recovery.reclaimed(name, n);
                }
            } catch (RuntimeException e) {
                kernel.recovery.note("sweep of " + name + " skipped: " + e.getMessage());
            }
        }
        for (IommuUnit u : kernel.units.values()) {
            PageTableFile f = u.deviceTable().file();
            long n = f.reclaimUnreachable(u.deviceTable().reachablePages());
            if (n > 0) {
                kernel.recovery.reclaimed("unit" + u.id() + PkernfsMount.IOMMU_SUFFIX, n);
            }
        }
    }

    /**
     * The sweep's read-only half, for record mode's catch-up to run outside the kernel's lock: every
     * table file's reachable pages. Valid while nothing allocates or frees a table page and no
     * HOTSWAP intent is open (record mode: its ioctls write no table; its intents are MAP/UNMAP_DMA).
     */
    Map<Path, BitSet> reachableSets() {
        List<Long> deviceRoots = deviceRoots();
        Map<Path, BitSet> out = new HashMap<>();
        for (Path p : mount.pageTableFiles()) {
            out.put(p, MountReachability.reachable(mount.openTableFile(p), deviceRoots, null, new PageTableVisitor() {}));
        }
        return out;
    }

    private List<Long> deviceRoots() {
        // every stage-2 root a device-table entry names is live, whatever the file header says:
        // a device walks it (a hotswap interrupted between publishing the new root and switching
        // the entries leaves both trees in use)
        List<Long> deviceRoots = new ArrayList<>();
        for (IommuUnit u : kernel.units.values()) {
            for (Bdf b : u.devices()) {
                DeviceEntry e = u.deviceTable().lookup(b);
                if (e.present() && e.stage2RootPa() != 0) {
                    deviceRoots.add(e.stage2RootPa());
                }
            }
        }
        return deviceRoots;
    }

}
