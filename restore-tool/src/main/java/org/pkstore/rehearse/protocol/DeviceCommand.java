package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;

/** What the driver asks the device JVM ({@code DmaDeviceMain}); every answer is {@link DeviceStats}. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "command")
@JsonSubTypes({
        @JsonSubTypes.Type(DeviceCommand.Stats.class),
        @JsonSubTypes.Type(DeviceCommand.Window.class),
        @JsonSubTypes.Type(DeviceCommand.Stop.class),
})
public sealed interface DeviceCommand extends Command<DeviceStats> {
    @Override
    default Class<DeviceStats> replyType() {
        return DeviceStats.class;
    }

    /** Counters so far. */
    @JsonTypeName("stats")
    record Stats() implements DeviceCommand {}

    /** Counters so far, then a new window for the longest gap (one window per kexec). */
    @JsonTypeName("window")
    record Window() implements DeviceCommand {}

    /** Stop DMA, check every slot the device wrote, answer, exit. */
    @JsonTypeName("stop")
    record Stop() implements DeviceCommand {
        @Override public boolean endsSession() { return true; }
    }
}
