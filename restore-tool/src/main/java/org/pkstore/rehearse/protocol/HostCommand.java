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
        @JsonSubTypes.Type(HostCommand.Consistency.class),
        @JsonSubTypes.Type(HostCommand.ChurnStart.class),
        @JsonSubTypes.Type(HostCommand.ChurnStop.class),
        @JsonSubTypes.Type(HostCommand.ChurnCleanup.class),
        @JsonSubTypes.Type(HostCommand.FreezeAt.class),
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
