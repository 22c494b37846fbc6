package org.pkstore.vfio;

import java.util.ResourceBundle;

/**
 * A {@link System.Logger} that asks {@link System#getLogger} for the real one only when something is
 * first logged. {@code System.getLogger} finds the platform's LoggerFinder and starts
 * java.util.logging's LogManager: about 12 ms of a cold host's boot (docs/BENCHMARKS.md, session 5),
 * which a boot that logs nothing, the usual one, should not pay, as a kernel's printk costs nothing
 * until it prints.
 */
final class DeferredLogger implements System.Logger {
    private final String name;
    private volatile System.Logger target;

    private DeferredLogger(String name) {
        this.name = name;
    }

    static System.Logger of(Class<?> owner) {
        return new DeferredLogger(owner.getName());
    }

    private System.Logger target() {
        System.Logger t = target;
        if (t == null) {
            t = System.getLogger(name);
            target = t; // a race makes the same logger twice: harmless
        }
        return t;
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean isLoggable(Level level) {
        return target().isLoggable(level);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
        target().log(level, bundle, msg, thrown);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
        target().log(level, bundle, format, params);
    }
}
