package org.pkstore.rehearse.protocol;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

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

    private final MessageCodec<C> commands;
    private final Map<Class<?>, Handler<?, ?>> table = new LinkedHashMap<>();

    public CommandLoop(MessageCodec<C> commands) {
        this.commands = commands;
    }

    /** Registers the handler of one command record; it answers with the command's reply type. */
    public <T extends Command<R>, R> CommandLoop<C> on(Class<T> command, Handler<T, R> handler) {
        if (!commands.type().isAssignableFrom(command)) {
            throw new IllegalArgumentException(command + " is not a " + commands.type().getSimpleName());
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
                command = commands.decode(line.trim());
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

    private <T extends Command<R>, R> String run(C command) throws Exception {
        @SuppressWarnings("unchecked")
        Handler<T, R> handler = (Handler<T, R>) table.get(command.getClass());
        if (handler == null) {
            throw new IllegalArgumentException("no handler for " + Command.nameOf(command));
        }
        @SuppressWarnings("unchecked")
        T typed = (T) command;
        return ReplyLine.ok(MessageCodec.of(typed.replyType()), handler.handle(typed));
    }
}
