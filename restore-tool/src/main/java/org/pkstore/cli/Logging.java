package org.pkstore.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Keeps library logging from printing stack traces at the user: the model logs through
 * System.Logger (java.util.logging by default), Chronicle through slf4j-simple. Without
 * {@code --debug}: java.util.logging warnings and errors become one line on stderr without the
 * throwable, and slf4j is silenced (set before its first use). With {@code --debug}: untouched.
 */
final class Logging {
    private Logging() {}

    private static boolean quietInstalled;

    /** Called before slf4j is first used (from main): slf4j-simple reads its level once. */
    static void beforeStart(boolean debug) {
        if (!debug) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "off");
        }
    }

    static synchronized void configure(boolean debug) {
        if (debug || quietInstalled) {
            return;
        }
        quietInstalled = true;
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler h = new ConsoleHandler();
        h.setLevel(Level.WARNING);
        h.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                String msg = formatMessage(r);
                Throwable t = r.getThrown();
                return "pkstore: " + r.getLevel().getName().toLowerCase() + ": " + msg
                        + (t != null ? " (" + t + ")" : "") + System.lineSeparator();
            }
        });
        root.addHandler(h);
        root.setLevel(Level.WARNING);
    }
}
