package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.List;
import java.util.Map;

/**
 * The host's replies, one record per {@link HostCommand}. The driver embeds several of them in the
 * rehearsal report as they are, so their JSON member names and order are the report's: do not
 * rename or reorder components. Times ending in {@code Ms} are milliseconds; a {@code double} one is
 * rounded to 10 us.
 */
public final class HostReply {
    private HostReply() {}

    /**
     * {@link HostCommand.Boot}: what the mount and the kernel found, and what recovery did. The boot's
     * parts in its order (docs/LIVE-UPDATE.md, boot order): {@code mountMs} (mount and validation,
     * the preserved record read {@code recordReadMs} included, the registry open too when it is not
     * in the background), {@code warmupMs}, then inside {@code kernelBootMs}: {@code unitsMs} (device
     * tables), {@code tablesMs} (table and memory files mapped), {@code registryWaitMs} (waiting for
     * the background open), {@code recoveryMs} (crash: intent replay, sweep, VMID counts),
     * {@code preservedMs} (preserved containers, the record checked against the registries). The
     * registries' open (recovery after a crash) ran from {@code registryOpenAtMs} after the boot began
     * for {@code registryOpenMs}, on a background thread when {@code registriesInBackground};
     * {@code preservedRecord} says how the boot used the preserved record; {@code bootEndNanos} is
     * the host's System.nanoTime when the boot was done, before its reply was encoded (CLOCK_MONOTONIC,
     * the driver's clock too: the reply's encoding and reading are the rehearsal's protocol).
     */
    public record Booted(long generation, boolean uncleanEnd, String handover, long warmupMs, long mountMs,
                         long registryRecoveryMs, long kernelBootMs, String recovery, long reclaimedPages,
                         String intent, long descriptorWritesAtBoot, Double recordReadMs, Double unitsMs,
                         Double tablesMs, Double registryWaitMs, Double recoveryMs, Double preservedMs,
                         Double registryOpenAtMs, Double registryOpenMs, Boolean registriesInBackground,
                         String preservedRecord, Map<String, Long> tableChangesAtBootByFile, Long bootEndNanos) {}

    /**
     * {@link HostCommand.Setup}: the VM is running with both devices mapped. {@code emptyAttachMs}:
     * the slower of the two containers' first-boot domain attaches, each made before any mapping (the
     * 0-leaf side of "domain attach does not grow with the mapping count"; the first carries the JVM's
     * first-use costs, as the kexec's attaches carry theirs: no host warms up).
     */
    public record SetUp(long mapMs, int vmid, List<Integer> pasids, long descriptorWrites, double emptyAttachMs) {}

    /**
     * {@link HostCommand.Reattach}; {@code hotswap} only with {@link Strategy#HOTSWAP}; {@code steps}
     * the VMM's own laps around the containers' (null from a host that does not report them).
     */
    public record Reattached(List<ContainerReattach> containers, long descriptorWritesAttach,
                             long descriptorWritesReestablish, long faultsDelivered,
                             @JsonInclude(JsonInclude.Include.NON_NULL) List<Hotswap> hotswap,
                             @JsonInclude(JsonInclude.Include.NON_NULL) ReattachSteps steps) {}

    /**
     * The VMM's reattach outside the containers, in ms: its state restored ({@code vmmStateMs}),
     * guest memory mapped ({@code guestMemoryMs}); then, after it resumed the guest (every domain
     * attached, every live-update MAP_DMA accepted), what the rehearsal has it read for its checks,
     * VMIDs and pending faults ({@code afterResumeMs}: not part of the blackout). {@code startedAtNanos}
     * and {@code resumedAtNanos}: the host's System.nanoTime when the command's handler began and when
     * the VMM resumed; on Linux that clock is CLOCK_MONOTONIC, the rehearsal's own, so the
     * rehearsal can tell its protocol (command delivery, reply encoding) from the reattach.
     */
    public record ReattachSteps(double vmmStateMs, double guestMemoryMs, double afterResumeMs, long startedAtNanos,
                                long resumedAtNanos) {}

    /** One container's reattach: the open/attach ioctls, then the live-update MAP_DMAs. */
    public record ContainerReattach(AttachSteps attachSteps, String pgtableFile, long mappings4k,
                                    double domainAttachMs, double reestablishMs, long descriptorWritesAttach,
                                    long descriptorWritesReestablish, int vmid) {}

    /** Each step of a container's domain attach, in ms. */
    public record AttachSteps(double openContainer, double openPgtableFile, double setPersistentPgtables,
                              double groupSetContainer, double setIommu) {}

    /** One domain's hotswap (org.pkstore.vfio.DomainHotswap.Result); roots in hex. */
    public record Hotswap(String pgtableFile, String oldRoot, String newRoot, long descriptorsWritten, double buildMs,
                          double switchMs, double freeMs, long oldPagesFreed) {}

    /**
     * {@link HostCommand.CatchUp}: record mode's catch-up (docs/LIVE-UPDATE.md, boot order), from the
     * boot's start as {@link Booted} counts: the registries' open ({@code registryOpenAtMs},
     * {@code registryOpenMs}) and the catch-up ({@code catchUpAtMs}, {@code catchUpMs}: the part under
     * the kernel's lock; {@code catchUpPrepareMs}: its read-only part before, beside the reattach; null
     * when the boot did not use record mode), who ran it ({@code owner}: {@code background} or the operation
     * that needed it first), each operation that waited for it ({@code waits}), how the record differed
     * from the registries ({@code difference}, null: it did not), and what crash recovery's registry
     * part did there ({@code recovery}, {@code intent}, {@code reclaimedPages} per table file).
     */
    public record CaughtUp(Double registryOpenAtMs, Double registryOpenMs, Double catchUpAtMs, Double catchUpMs,
                           Double catchUpPrepareMs, String owner, List<Wait> waits, String difference, String parts,
                           long registryRecoveryMs, String recovery, String intent, Map<String, Long> reclaimedPages) {}

    /** An operation that waited for record mode's catch-up, and how long. */
    public record Wait(String operation, double ms) {}

    /** {@link HostCommand.State}: what must be the same before and after a kexec. */
    public record HostState(long generation, List<Integer> vmids, List<String> pasids, List<String> bindings,
                            long faultsPending, long dmaRecords, long descriptorWrites) {}

    /** {@link HostCommand.Consistency}: per container, keyed {@code container<index>}. */
    public record Consistency(Map<String, ContainerConsistency> containers) {
        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        public Consistency {}

        @JsonValue
        @Override
        public Map<String, ContainerConsistency> containers() { return containers; }

        public boolean allConsistent() {
            return containers.values().stream().allMatch(ContainerConsistency::consistent);
        }
    }

    /** DMA records versus the domain's tables; {@code first} names the first record that differs. */
    public record ContainerConsistency(long records, long recordBytes, long mappedBytes, long inconsistentRecords,
                                       boolean consistent,
                                       @JsonInclude(JsonInclude.Include.NON_NULL) String first) {}

    /** {@link HostCommand.ChurnStart}: the churn's random seed. */
    public record ChurnStarted(long seed) {}

    /** {@link HostCommand.ChurnStop}: MAP_DMA/UNMAP_DMA pairs done. */
    public record ChurnStopped(long ops) {}

    /** {@link HostCommand.ChurnCleanup}. */
    public record ChurnCleanedUp(long unmappedBytes) {}

    /** {@link HostCommand.FreezeAt}: the kill point is armed. */
    public record FreezeArmed(String point, int nth) {}

    /** {@link HostCommand.ChurnWindow}: DMA records in the churn window, each "IOVA SIZE" in hex. */
    public record ChurnWindow(List<String> records) {}

    /** {@link HostCommand.Hotswap}: the domain's hotswap, when no kill point stopped it. */
    public record HotswapDone(Hotswap hotswap) {}

    /** {@link HostCommand.Hotplug}: the steps done (the further VM is released again). */
    public record HotplugDone(List<String> steps) {}

    /**
     * {@link HostCommand.HotplugState}: the preserved container on {@code hotplug.pt} (null: none),
     * whether a domain record names it, which container groups 3 and 4 are recorded in (null: none),
     * whether devices 00:03.0 and 00:04.0 have present device-table entries, and the DID and root of
     * 00:03.0's entry against the domain record's id and the file's root.
     */
    public record HotplugState(Integer container, boolean domainRecord, Integer group3, Integer group4,
                               boolean device3Present, boolean device4Present, String detail) {}

    /** {@link HostCommand.HotplugRelease}: whether a preserved container was there to reclaim. */
    public record HotplugReleased(boolean reclaimed) {}

    /** {@link HostCommand.Rebuild}: per container that has DMA records, keyed {@code container<id>}. */
    public record Rebuilt(Map<String, ContainerRebuild> containers) {
        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        public Rebuilt {}

        @JsonValue
        @Override
        public Map<String, ContainerRebuild> containers() { return containers; }
    }

    /** One domain rebuilt from nothing by MAP of every record, in an empty file outside the mount. */
    public record ContainerRebuild(double rebuildMs, long descriptorWrites, long mappings) {}

    /**
     * {@link HostCommand.Kexec}: the handover record the next host will check, and the parts of the
     * old host's end: {@code quiesceMs} (no ioctl in flight: the churn stopped), {@code serialiseMs}
     * (the handover record described and written), {@code unmountMs} (kernel stopped, every file
     * marked clean, registries closed and sealed, superblock clean, lock released);
     * {@code quiesceStartNanos} and {@code frozenAtNanos}: the host's System.nanoTime when the
     * quiesce began and when the freeze was done (CLOCK_MONOTONIC, the driver's clock too), so the
     * command's way to the host and the reply's way back are told apart as the rehearsal's protocol.
     */
    public record HandedOver(long generation, long handoverFiles, Double quiesceMs, Double serialiseMs,
                             Double unmountMs, Long quiesceStartNanos, Long frozenAtNanos) {}

    /** {@link HostCommand.Quit}. */
    public record Closed() {}
}
