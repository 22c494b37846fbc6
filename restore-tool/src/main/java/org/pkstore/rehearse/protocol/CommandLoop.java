package org.pkstore.rehearse.protocol;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonTypeName;

/**
 * The child side of the protocol: read a command line, decode it with the family's codec, run the
 * handler registered for its record type, write one reply line. A failing handler answers
 * {@code ERR} with its reason (the stack trace goes to stderr, the child's log) and the loop goes on;
 * a command that {@link Command#endsSession() ends the session} ends the loop once answered.
 */
public final class CommandLoop<C extends Command<?>> {
    /** Runs one command; may throw anything, which becomes the {@code ERR} reason. */
    @FunctionalInterface
    public interface Handler<T, R> {
        R handle(T command) throws Exception;
    }

    /** A command with no member but its name, e.g. {"command":"boot"}: read without the JSON library. */
    private static final Pattern BARE_COMMAND = Pattern.compile("\\{\\s*\"command\"\\s*:\\s*\"([a-z0-9-]+)\"\\s*}");

    private final Class<?> family;
    private final Supplier<MessageCodec<C>> codec;
    private MessageCodec<C> commands;
    private final Map<Class<?>, Handler<?, ?>> table = new LinkedHashMap<>();

    public CommandLoop(MessageCodec<C> commands) {
        this.family = commands.type();
        this.codec = () -> commands;
        this.commands = commands;
    }

    /**
     * A loop whose codec is made on first need: a command with no member but its name (a host's
     * {@code boot}) is read without it, so that a fresh JVM's first command does not wait for the
     * JSON library's start (hundreds of ms cold; a host prepares it on another thread meanwhile).
     */
    public CommandLoop(Class<?> family, Supplier<MessageCodec<C>> codec) {
        this.family = family;
        this.codec = codec;
    }

    /** Registers the handler of one command record; it answers with the command's reply type. */
    public <T extends Command<R>, R> CommandLoop<C> on(Class<T> command, Handler<T, R> handler) {
        if (!family.isAssignableFrom(command)) {
            throw new IllegalArgumentException(command + " is not a " + family.getSimpleName());
        }
        table.put(command, handler);
        return this;
    }

    /**
     * Serves until stdin ends or a session-ending command was answered OK.
     *
     * @return the command that ended the session, or null when stdin ended
     */
    public C serve(BufferedReader in, PrintStream out) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            C command = null;
            String reply;
            try {
                command = decode(line.trim());
                reply = run(command);
            } catch (Exception | LinkageError | AssertionError e) {
                // the driver gets the reason on the channel; the trace goes to the log
                e.printStackTrace();
                reply = ReplyLine.err(e);
                command = null;
            }
            out.println(reply);
            out.flush();
            if (command != null && command.endsSession()) {
                return command;
            }
        }
        return null;
    }

    /** A registered record with no component named by a bare command line, else the codec's decoding. */
    @SuppressWarnings("unchecked")
    private C decode(String line) throws ReflectiveOperationException {
        Matcher bare = BARE_COMMAND.matcher(line);
        if (bare.matches()) {
            for (Class<?> c : table.keySet()) {
                if (bareName(c).equals(bare.group(1)) && c.isRecord() && c.getRecordComponents().length == 0) {
                    return (C) c.getDeclaredConstructor().newInstance();
                }
            }
        }
        if (commands == null) {
            commands = codec.get();
        }
        return commands.decode(line);
    }

    /**
     * A command record's {@link JsonTypeName} as its simple name spells it in kebab case
     * ({@code ChurnStart} is {@code churn-start}), without reading the annotation, whose proxy class
     * costs a fresh JVM tens of ms; RehearsalProtocolTest checks that every command's annotation says the same.
     */
    static String bareName(Class<?> command) {
        String simple = command.getSimpleName();
        StringBuilder name = new StringBuilder(simple.length() + 4);
        for (int i = 0; i < simple.length(); i++) {
            char ch = simple.charAt(i);
            if (Character.isUpperCase(ch) && i > 0) {
                name.append('-');
            }
            name.append(Character.toLowerCase(ch));
        }
        return name.toString();
    }

    private <T extends Command<R>, R> String run(C command) throws Exception {
        @SuppressWarnings("unchecked")
        Handler<T, R> handler = (Handler<T, R>) table.get(command.getClass());
        if (handler == null) {
            throw new IllegalArgumentException("no handler for " + Command.nameOf(command));
        }
        @SuppressWarnings("unchecked")
        T typed = (T) command;
        R reply = handler.handle(typed); // first: a reply codec made on first use stays out of the handler (a host's boot)
        return ReplyLine.ok(MessageCodec.of(typed.replyType()), reply);
    }
}
