package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/**
 * One command of a rehearsal protocol, as the driver writes it to a child's stdin and the child
 * reads it back: a JSON object whose {@code "command"} member names the record (its
 * {@link JsonTypeName}). {@code R} is the reply record the child answers with.
 */
public interface Command<R> {
    /** The reply this command is answered with; the driver decodes the reply line as this type. */
    Class<R> replyType();

    /** True when the child ends after answering (a planned kexec, quit, the device's stop). */
    default boolean endsSession() {
        return false;
    }

    /** The name on the wire, for messages. */
    static String nameOf(Command<?> command) {
        JsonTypeName name = command.getClass().getAnnotation(JsonTypeName.class);
        return name == null ? command.getClass().getSimpleName() : name.value();
    }
}
