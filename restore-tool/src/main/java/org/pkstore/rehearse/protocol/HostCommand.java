package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import org.pkstore.rehearse.RehearsalPlan;

/**
 * What the driver asks a host JVM ({@code HostMain}). One line of JSON each, e.g.
 * {@code {"command":"reattach","strategy":"adopt"}}; the host answers one line, {@code OK } and the
 * reply record, or {@code ERR } and the reason.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "command")
@JsonSubTypes({
        @JsonSubTypes.Type(HostCommand.Boot.class),
        @JsonSubTypes.Type(HostCommand.Setup.class),
        @JsonSubTypes.Type(HostCommand.Reattach.class),
        @JsonSubTypes.Type(HostCommand.State.class),
        @JsonSubTypes.Type(HostCommand.CatchUp.class),
        @JsonSubTypes.Type(HostCommand.Consistency.class),
        @JsonSubTypes.Type(HostCommand.ChurnStart.class),
        @JsonSubTypes.Type(HostCommand.ChurnStop.class),
        @JsonSubTypes.Type(HostCommand.ChurnCleanup.class),
        @JsonSubTypes.Type(HostCommand.FreezeAt.class),
        @JsonSubTypes.Type(HostCommand.FreezeBootAt.class),
        @JsonSubTypes.Type(HostCommand.ChurnWindow.class),
        @JsonSubTypes.Type(HostCommand.Hotswap.class),
        @JsonSubTypes.Type(HostCommand.Hotplug.class),
        @JsonSubTypes.Type(HostCommand.HotplugState.class),
        @JsonSubTypes.Type(HostCommand.HotplugRelease.class),
        @JsonSubTypes.Type(HostCommand.Rebuild.class),
        @JsonSubTypes.Type(HostCommand.Kexec.class),
        @JsonSubTypes.Type(HostCommand.Quit.class),
})
public sealed interface HostCommand<R> extends Command<R> {
    /** The {@code R} this record declares in its {@code implements HostCommand<R>}. */
    @Override
    default Class<R> replyType() {
        return Command.declaredReplyType(getClass(), HostCommand.class);
    }

    /** Mount pkernfs, recover if the last end was unclean, boot the kernel model. */
    @JsonTypeName("boot")
    record Boot() implements HostCommand<HostReply.Booted> {}

    /** First boot only: the VMM starts the VM described by {@code plan}. */
    @JsonTypeName("setup")
    record Setup(RehearsalPlan plan) implements HostCommand<HostReply.SetUp> {}

    /** After a kexec: the VMM reattaches to its preserved tables, then hotswaps them if asked. */
    @JsonTypeName("reattach")
    record Reattach(Strategy strategy) implements HostCommand<HostReply.Reattached> {}

    /** After the reattach: wait for record mode's catch-up and say when it and the registries' open ran. */
    @JsonTypeName("catch-up")
    record CatchUp() implements HostCommand<HostReply.CaughtUp> {}

    /** VMIDs, PASIDs, bindings, pending faults and DMA records as the host sees them. */
    @JsonTypeName("state")
    record State() implements HostCommand<HostReply.HostState> {}

    /** DMA records versus tables, per container. */
    @JsonTypeName("consistency")
    record Consistency() implements HostCommand<HostReply.Consistency> {}

    /** Start MAP_DMA/UNMAP_DMA churn in the scratch window, for a crash kexec to hit. */
    @JsonTypeName("churn-start")
    record ChurnStart() implements HostCommand<HostReply.ChurnStarted> {}

    @JsonTypeName("churn-stop")
    record ChurnStop() implements HostCommand<HostReply.ChurnStopped> {}

    /** After a crash kexec: the VMM unmaps whatever the churn left in the scratch window. */
    @JsonTypeName("churn-cleanup")
    record ChurnCleanup() implements HostCommand<HostReply.ChurnCleanedUp> {}

    /** Arm a kill point: the {@code nth} time an ioctl reaches {@code point}, freeze there. */
    @JsonTypeName("freeze-at")
    record FreezeAt(String point, int nth) implements HostCommand<HostReply.FreezeArmed> {}

    /**
     * Arm a kill point of the boot, before {@link Boot}: when the registry open path reaches
     * {@code step} (persist Registry.OpenStep) on the file named {@code file}, freeze there.
     */
    @JsonTypeName("freeze-boot-at")
    record FreezeBootAt(String step, String file) implements HostCommand<HostReply.FreezeArmed> {}

    /** After a crash kexec and the reattach: the first container's DMA records in the churn window. */
    @JsonTypeName("churn-window")
    record ChurnWindow() implements HostCommand<HostReply.ChurnWindow> {}

    /** Hotswap the domain of the VMM's container {@code container} (index) now, as the hotswap strategy does. */
    @JsonTypeName("hotswap")
    record Hotswap(int container) implements HostCommand<HostReply.HotswapDone> {}

    /**
     * Attach a further VM: a container on {@code hotplug.pt}, group 3, SET_IOMMU, then group 4 into
     * the attached domain; each step acknowledged in {@code hotplug-acks.txt}. Released again when it completes.
     */
    @JsonTypeName("hotplug")
    record Hotplug() implements HostCommand<HostReply.HotplugDone> {}

    /** After a boot: what the kernel kept of the further VM (records, device-table entries). */
    @JsonTypeName("hotplug-state")
    record HotplugState() implements HostCommand<HostReply.HotplugState> {}

    /** Reclaim the further VM's preserved container, if any, and release it (groups, domain, VMID). */
    @JsonTypeName("hotplug-release")
    record HotplugRelease() implements HostCommand<HostReply.HotplugReleased> {}

    /** Measure the alternative to persistence: rebuild every domain's tables by replaying its mappings. */
    @JsonTypeName("rebuild")
    record Rebuild() implements HostCommand<HostReply.Rebuilt> {}

    /** Planned kexec: quiesce, write the handover record, unmount cleanly, exit 0. */
    @JsonTypeName("kexec")
    record Kexec() implements HostCommand<HostReply.HandedOver> {
        @Override public boolean endsSession() { return true; }
    }

    /** Close the kernel and the mount, exit 0. */
    @JsonTypeName("quit")
    record Quit() implements HostCommand<HostReply.Closed> {
        @Override public boolean endsSession() { return true; }
    }
}
