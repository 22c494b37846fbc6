package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;

/**
 * What the driver asks the device JVM ({@code DmaDeviceMain}); {@code R} is the reply record:
 * {@link DeviceStats}, or {@link DeviceSeries} for {@link Series}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "command")
@JsonSubTypes({
        @JsonSubTypes.Type(DeviceCommand.Stats.class),
        @JsonSubTypes.Type(DeviceCommand.Window.class),
        @JsonSubTypes.Type(DeviceCommand.Series.class),
        @JsonSubTypes.Type(DeviceCommand.Stop.class),
})
public sealed interface DeviceCommand<R> extends Command<R> {
    /** The {@code R} this record declares in its {@code implements DeviceCommand<R>}. */
    @Override
    default Class<R> replyType() {
        return Command.declaredReplyType(getClass(), DeviceCommand.class);
    }

    /** Counters so far. */
    @JsonTypeName("stats")
    record Stats() implements DeviceCommand<DeviceStats> {}

    /** Counters so far, then a new window for the longest gap (one window per kexec). */
    @JsonTypeName("window")
    record Window() implements DeviceCommand<DeviceStats> {}

    /** DMAs, longest gaps and faults per interval since the device started. */
    @JsonTypeName("series")
    record Series() implements DeviceCommand<DeviceSeries> {}

    /** Stop DMA, check every slot the device wrote, answer, exit. */
    @JsonTypeName("stop")
    record Stop() implements DeviceCommand<DeviceStats> {
        @Override public boolean endsSession() { return true; }
    }
}
