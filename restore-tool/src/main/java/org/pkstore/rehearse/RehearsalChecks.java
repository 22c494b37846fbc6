package org.pkstore.rehearse;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** The checks a rehearsal made, each printed as it is made, and its progress lines. */
final class RehearsalChecks {
    private final List<Check> checks = new ArrayList<>();
    private final PrintWriter progress;

    RehearsalChecks(PrintWriter progress) {
        this.progress = progress;
    }

    List<Check> all() {
        return List.copyOf(checks);
    }

    boolean allPassed() {
        return !checks.isEmpty() && checks.stream().allMatch(Check::passed);
    }

    void check(String phase, String name, boolean ok, String detail) {
        checks.add(new Check(phase, name, ok, detail));
        if (progress != null) {
            progress.println("  " + (ok ? "ok  " : "FAIL") + " " + name + ": " + detail);
            progress.flush();
        }
    }

    void say(String s) {
        if (progress != null) {
            progress.println("pkstore rehearse: " + s);
            progress.flush();
        }
    }
}
