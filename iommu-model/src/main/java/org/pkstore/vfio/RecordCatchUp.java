package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.PasidAllocator;
import org.pkstore.iommu.VmidAllocator;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.ReattachState;
import org.pkstore.persist.registry.Registries;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Record mode's catch-up (docs/LIVE-UPDATE.md, boot order): once the registries are open, under the
 * kernel's lock so no ioctl interleaves, crash recovery's registry part, the record checked against
 * the registries, each container {@link RecordReattach} served written in {@link CatchUpIntent}s as
 * today's path would have left it, and the preserved record rewritten. Run by the registry thread
 * when the kernel pauses ({@link #inBackground}), or at once by the first operation that needs the
 * registries ({@link #run}).
 */
final class RecordCatchUp {
    private static final System.Logger LOG = DeferredLogger.of(RecordCatchUp.class);
    /** The background catch-up starts after this long without an ioctl (the VMM's reattach is a burst) ... */
    static final long PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** ... or this long after the boot (before the open) and again after the registries opened, whichever comes first. */
    static final long MAX_DEFER_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final VfioKernel kernel;
    private final RecordReattach reattach;
    private final PkernfsMount mount;
    private final List<CatchUpTimes.Wait> waits = new ArrayList<>();
    private volatile CatchUpTimes times;

    RecordCatchUp(VfioKernel kernel, RecordReattach reattach) {
        this.kernel = kernel;
        this.reattach = reattach;
        this.mount = kernel.mount;
    }

    CatchUpTimes times() {
        return times;
    }

    /**
     * The registry thread's catch-up: what only reads (the registries' first reads, which load and
     * compile their code in a fresh JVM, and after a crash the sweep's walk of every table) runs
     * before the kernel's lock is taken, beside the reattach: nothing writes a registry or a table
     * page in record mode. Under the lock, only the writes.
     */
    void inBackground() {
        // the registries' open (Chronicle's start, nine maps opened or recovered: hundreds of ms of
        // CPU) is held until the VMM's reattach is done: on a host whose CPU the reattach needs, it
        // would only compete with it. It starts once every preserved container has its domain back
        // and the ioctls paused, or MAX_DEFER after the boot, or at once when an operation needs a
        // registry (PkernfsMount.registries() releases it)
        long booted = System.nanoTime();
        while (reattach.active() && !(reattach.everyContainerReattached() && reattach.pausedFor(PAUSE_NANOS))
                && System.nanoTime() - booted < MAX_DEFER_NANOS) {
            LockSupport.parkNanos(PAUSE_NANOS / 5);
        }
        Registries registries;
        try {
            registries = mount.registries();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "registries did not open; the next operation that needs them fails", e);
            return;
        }
        // a VMM's reattach is a burst of ioctls: the catch-up waits for a pause in it (bounded)
        long opened = System.nanoTime();
        while (reattach.active() && !reattach.pausedFor(PAUSE_NANOS) && System.nanoTime() - opened < MAX_DEFER_NANOS) {
            LockSupport.parkNanos(PAUSE_NANOS / 5);
        }
        long t0 = System.nanoTime();
        Prepared prepared = null;
        try {
            // nothing writes a registry or a table page in record mode: all of this stays valid until the lock
            ReattachState state = ReattachState.of(registries);
            reattach.fromRecord().differenceFrom(state); // also the records' first equals, see below
            Map<Integer, List<DmaMappingRecord>> dma = dmaByContainer(registries);
            warmRecordEquality(registries, dma);
            prepared = new Prepared(mount.recovering() ? null : state,
                    new VmidAllocator(registries.vmids, IommuUnit.VMID_WIDTH), new PasidAllocator(registries.pasids),
                    mount.recovering() ? kernel.boot.reachableSets() : null, KernelBoot.registryCounters(registries),
                    dma, 0);
        } catch (RuntimeException e) {
            // a waiting ioctl caught up meanwhile and changed the tables: nothing of this is used
            LOG.log(System.Logger.Level.DEBUG, "catch-up preparation abandoned: " + e);
        }
        long preparedNanos = System.nanoTime() - t0;
        synchronized (kernel) {
            if (kernel.isClosed() || !reattach.active()) {
                return;
            }
            try {
                run(null, prepared == null ? null : new Prepared(prepared.state(), prepared.vmids(), prepared.pasids(),
                        prepared.reachable(), prepared.counters(), prepared.dma(), preparedNanos));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "catch-up failed; the next operation that needs it tries again", e);
            }
        }
    }

    /**
     * Waits for the registries and brings them up to date (called under the kernel's lock, by the
     * background thread with {@code waiter} null or by the first operation that needs them).
     */
    /**
     * What the registry thread read before taking the lock: the registries' reattach state (planned
     * boots: nothing changes it before the catch-up), the allocators, a crash's sweep walk.
     */
    private record Prepared(ReattachState state, VmidAllocator vmids, PasidAllocator pasids,
                            Map<Path, BitSet> reachable, long[] counters, Map<Integer, List<DmaMappingRecord>> dma,
                            long nanos) {}

    /**
     * The first {@code equals} of each record class the catch-up compares bootstraps its
     * invokedynamic (ObjectMethods): tens of milliseconds in a fresh JVM, paid here, outside the lock.
     */
    private static void warmRecordEquality(Registries registries, Map<Integer, List<DmaMappingRecord>> dma) {
        List<Object> samples = new ArrayList<>();
        registries.containers.values().stream().findFirst().ifPresent(samples::add);
        registries.groups.values().stream().findFirst().ifPresent(samples::add);
        registries.domains.values().stream().findFirst().ifPresent(samples::add);
        dma.values().stream().flatMap(List::stream).findFirst().ifPresent(samples::add);
        for (Object o : samples) {
            if (!o.equals(o) || o.hashCode() != o.hashCode()) {
                throw new IllegalStateException("a record unequal to itself: " + o);
            }
        }
    }

    /** Every DMA record by container (the catch-up completes the served containers from them). */
    private static Map<Integer, List<DmaMappingRecord>> dmaByContainer(Registries registries) {
        Map<Integer, List<DmaMappingRecord>> out = new java.util.HashMap<>();
        for (DmaMappingRecord m : registries.dmaMappings.values()) {
            out.computeIfAbsent(m.containerId(), id -> new ArrayList<>()).add(m);
        }
        return out;
    }

    void run(String waiter) {
        run(waiter, null);
    }

    private void run(String waiter, Prepared prepared) {
        if (!reattach.active()) {
            return;
        }
        long t0 = System.nanoTime();
        Registries registries = mount.registries();
        long t1 = System.nanoTime();
        if (prepared == null) {
            kernel.registriesOpen(registries);
        } else {
            kernel.registries = registries;
            kernel.vmids = prepared.vmids();
            kernel.pasids = prepared.pasids();
        }
        String recovery = mount.recovering() ? " (" + kernel.boot.recoverRegistries(prepared == null ? null
                : prepared.reachable()) + ")" : "";
        long t2 = System.nanoTime();
        ReattachState truth = prepared != null && prepared.state() != null ? prepared.state() : ReattachState.of(registries);
        String difference = reattach.fromRecord().differenceFrom(truth);
        if (difference != null) {
            // the VMM was served from the record: the served containers keep what they were told (their
            // device entries were checked to agree), the others follow the registries
            kernel.recovery.note("preserved record differs from the registries after record mode served the VMM: "
                    + difference);
            LOG.log(System.Logger.Level.WARNING, "preserved record differs from the registries: " + difference);
            represerve(truth);
        }
        if (prepared == null) {
            kernel.boot.countersFromRegistries();
        } else {
            // read before a crash's replay: it only removes records, so the counters are still upper bounds
            kernel.boot.countersFrom(prepared.counters());
        }
        long t3 = System.nanoTime();
        if (!reattach.served().isEmpty() && mount.preservedRecord() != null) {
            mount.preservedRecord().beginOperation(0); // a kill in the catch-up: the next boot reads the registries
        }
        // read before the lock unless a crash's replay changed DMA records since
        Map<Integer, List<DmaMappingRecord>> dma = prepared != null && kernel.recovery.intent() == null ? prepared.dma()
                : dmaByContainer(registries);
        int containers = 0;
        int mappings = 0;
        for (VfioContainer c : reattach.served()) {
            if (kernel.containers.get(c.id) == c) {
                containers++;
                mappings += c.dma.count();
                writeRecords(c, registries, dma.getOrDefault(c.id, List.of()));
            }
        }
        reattach.leave();
        long t4 = System.nanoTime();
        kernel.recordPreserved();
        long t5 = System.nanoTime();
        if (waiter != null) {
            waits.add(new CatchUpTimes.Wait(waiter, t5 - t0)); // the registries' open, then the catch-up itself
        }
        times = new CatchUpTimes(t1, t5 - t1, prepared == null ? 0 : prepared.nanos(), waiter == null ? "background" : waiter,
                List.copyOf(waits), difference, String.format("recovery %.1f ms%s, record checked %.1f ms, records of "
                        + "%d served containers (%d re-established mappings) written %.1f ms, record rewritten %.1f ms",
                        (t2 - t1) / 1e6, recovery, (t3 - t2) / 1e6, containers, mappings, (t4 - t3) / 1e6, (t5 - t4) / 1e6));
    }

    /** The preserved containers nobody reclaimed follow the registries. */
    private void represerve(ReattachState truth) {
        Set<Integer> reclaimed = new HashSet<>();
        reattach.served().stream().filter(c -> c.reclaimed).forEach(c -> reclaimed.add(c.id));
        kernel.preserved.clear();
        kernel.groups.values().forEach(g -> g.preservedContainerId = -1);
        kernel.boot.preserve(new ReattachState(truth.containers().stream()
                .filter(c -> !reclaimed.contains(c.containerId())).toList(), truth.overflow()));
        kernel.groups.values().stream().filter(g -> g.container != null).forEach(g -> g.preservedContainerId = -1);
    }

    /** What today's path would have written for {@code c}; the in-memory container completed from the registries. */
    private void writeRecords(VfioContainer c, Registries registries, List<DmaMappingRecord> preservedDma) {
        if (!c.reclaimed) {
            // groups joined a fresh container (GroupSetContainer before SET_PERSISTENT_PGTABLES): as attachGroup
            if (registries.containers.get(c.id) == null) {
                c.save();
            }
            for (VfioGroup g : c.groups) {
                registries.groups.put(g.id(), new GroupRecord(g.id(), c.id));
            }
            return;
        }
        List<DmaMappingRecord> servedMaps = new ArrayList<>(c.dma.byIova.values());
        c.dma.byIova.clear();
        preservedDma.forEach(c.dma::adopt);
        for (BindingRecord b : registries.bindings.values()) {
            if (b.containerId() == c.id) {
                c.pasids.bindings.put(b.hpasid(), b);
            }
        }
        c.pasids.guestStage = registries.guestStages.get(c.id);
        if (c.domain != null) {
            DomainRecord previous = registries.domains.get(c.domain.id());
            if (previous == null) {
                registries.domains.put(c.domain.id(), c.domain.record());
            } else {
                adoptDomainSettings(c, previous);
            }
        }
        List<Integer> groups = c.groups.stream().map(VfioGroup::id).toList();
        long domainId = c.domain != null ? c.domain.id() : c.preservedDomainId;
        int i = 0;
        do {
            List<DmaMappingRecord> batch = servedMaps.subList(i, Math.min(servedMaps.size(), i + CatchUpIntent.MAPPINGS_PER_INTENT));
            byte[] payload = CatchUpIntent.payload(c.id, c.iommuType, c.vmid, domainId, groups, batch);
            kernel.journal.begin(KernelIntent.CATCH_UP, payload);
            CatchUpIntent.apply(kernel, KernelIntent.read(payload));
            kernel.journal.end();
            i += CatchUpIntent.MAPPINGS_PER_INTENT;
        } while (i < servedMaps.size());
        for (DmaMappingRecord m : servedMaps) {
            c.dma.byIova.values().removeIf(o -> o.iova() != m.iova() && (Long.compareUnsigned(o.iova() - m.iova(), m.size()) < 0
                    || Long.compareUnsigned(m.iova() - o.iova(), o.size()) < 0));
            c.dma.byIova.put(m.iova(), m);
        }
    }

    /** The adopted table takes the partial-unmap policy and page sizes its domain record says (re-attaching writes nothing). */
    private static void adoptDomainSettings(VfioContainer c, DomainRecord previous) {
        IommuDomain d = c.domain;
        boolean samePolicy = IommuDomain.policyOf(previous.partialUnmapPolicy()) == d.pageTable().partialUnmapPolicy();
        boolean sameSizes = previous.pgsizeBitmap() == 0 || previous.pgsizeBitmap() == d.pageTable().pageSizes();
        if (samePolicy && sameSizes) {
            return;
        }
        IommuDomain again = IommuDomain.allocate(d.id(), d.unit(), d.file(), d.fileName(), c.id, d.stage(), c.vmid, previous);
        for (Bdf b : d.devices()) {
            again.attachDevice(b); // same root and tag: no word written
        }
        c.domain = again;
    }
}
