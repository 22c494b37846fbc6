package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.List;

/**
 * The JSON form of one message type of the rehearsal protocol, used by both ends: the driver
 * encodes a command and decodes its reply, the child decodes the command and encodes the reply.
 * A message is one line: no pretty printing, and JSON escapes any newline inside a string.
 */
public final class MessageCodec<T> {
    /** Strict on input: a member the record does not have is an error, not silently dropped. */
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    /** Every host command: the {@code "command"} member says which record. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static final MessageCodec<HostCommand<?>> HOST_COMMANDS = new MessageCodec(HostCommand.class);
    /** Every device command. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static final MessageCodec<DeviceCommand<?>> DEVICE_COMMANDS = new MessageCodec(DeviceCommand.class);

    private final Class<T> type;
    /** Made on first use (immutable, so a race makes two equal ones): a reply's encoder needs no reader. */
    private volatile ObjectReader reader;
    private volatile ObjectWriter writer;

    private MessageCodec(Class<T> type) {
        this.type = type;
    }

    private ObjectReader reader() {
        ObjectReader r = reader;
        if (r == null) {
            reader = r = MAPPER.readerFor(type);
        }
        return r;
    }

    private ObjectWriter writer() {
        ObjectWriter w = writer;
        if (w == null) {
            writer = w = MAPPER.writerFor(type);
        }
        return w;
    }

    /** The codec of a reply record (or any other message type). */
    public static <T> MessageCodec<T> of(Class<T> type) {
        return new MessageCodec<>(type);
    }

    /** The codec of the family {@code command} belongs to, which writes its {@code "command"} name. */
    public static String encodeCommand(Command<?> command) {
        if (command instanceof HostCommand<?> h) {
            return HOST_COMMANDS.encode(h);
        }
        if (command instanceof DeviceCommand<?> d) {
            return DEVICE_COMMANDS.encode(d);
        }
        throw new IllegalArgumentException("not a rehearsal command: " + command);
    }

    /** Any message or part of one as compact JSON, as it appears on the wire (for check details). */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode " + value + ": " + e.getOriginalMessage(), e);
        }
    }

    public Class<T> type() {
        return type;
    }

    public String encode(T message) {
        try {
            return writer().writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** @throws IllegalArgumentException naming the type and what is wrong with {@code json} */
    public T decode(String json) {
        try {
            return reader().readValue(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }
}
