package org.pkstore.rehearse;

import java.nio.file.Path;
import java.util.List;

/**
 * What a rehearsal does. {@code kexecs} is the sequence, each "planned" or "crash";
 * {@code strategy} is "adopt", "hotswap", or "compare" (planned kexecs alternate adopt and
 * hotswap; crash kexecs adopt). Each crash kexec kills the host at one of {@code killPoints},
 * chosen at random with {@code seed}.
 */
public record RehearsalOptions(Path workDir, String driver, List<String> kexecs, String strategy,
                               RehearsalPlan plan, long seed, int slotsPerMapping,
                               List<String> killPoints) {
    /** Named kill points inside multi-step ioctls, besides "random" (a random instant of churn). */
    public static final List<String> KILL_POINTS = List.of("random", "map:tables", "map:record", "unmap:tables");

    public static List<String> defaultKexecs() {
        return List.of("planned", "planned", "crash");
    }
}
