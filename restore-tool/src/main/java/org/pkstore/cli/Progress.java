package org.pkstore.cli;

import java.io.PrintWriter;

/**
 * Progress for long work on stderr, one line rewritten in place at most five times a second. Off
 * when stderr is not a terminal ({@code System.console() == null}), so pipes and logs stay clean,
 * and with {@code --no-progress}. Never on stdout.
 */
final class Progress {
    static final Progress OFF = new Progress(null, "");

    private final PrintWriter err;
    private final String label;
    private long last;
    private boolean shown;

    private Progress(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    static Progress start(PrintWriter err, boolean enabled, String label) {
        return enabled && err != null ? new Progress(err, label) : OFF;
    }

    static boolean terminal() {
        return System.console() != null;
    }

    /** Reports {@code done} of {@code total} units (total 0: unknown). Cheap enough to call often. */
    void update(long done, long total, String unit) {
        if (err == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - last < 200_000_000L) {
            return;
        }
        last = now;
        shown = true;
        String pct = total > 0 ? String.format(" (%d%%)", Math.min(100, done * 100 / total)) : "";
        err.print("\r" + label + ": " + done + (total > 0 ? "/" + total : "") + " " + unit + pct + "   ");
        err.flush();
    }

    /** Clears the line if anything was shown. */
    void done() {
        if (err != null && shown) {
            err.print("\r" + " ".repeat(Math.min(120, label.length() + 40)) + "\r");
            err.flush();
        }
    }
}
