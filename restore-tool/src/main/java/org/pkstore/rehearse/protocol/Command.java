package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;

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

    /**
     * The reply type a command record declares where it implements {@code family}, e.g.
     * {@code HostReply.Booted} for {@code record Boot() implements HostCommand<HostReply.Booted>}:
     * the declaration is the one place that pairs a command with its reply.
     */
    @SuppressWarnings("unchecked")
    static <R> Class<R> declaredReplyType(Class<?> record, Class<?> family) {
        for (Type t : record.getGenericInterfaces()) {
            if (t instanceof ParameterizedType p && p.getRawType() == family
                    && p.getActualTypeArguments()[0] instanceof Class<?> reply) {
                return (Class<R>) reply;
            }
        }
        throw new IllegalStateException(record + " does not implement " + family.getSimpleName() + " with a reply class");
    }
}
