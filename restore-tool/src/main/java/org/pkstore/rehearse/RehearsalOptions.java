package org.pkstore.rehearse;

import java.nio.file.Path;
import java.util.List;

/**
 * What a rehearsal does. {@code kexecs} is the sequence, each "planned" or "crash";
 * {@code strategy} is "adopt", "hotswap", or "compare" (planned kexecs alternate adopt and
 * hotswap; crash kexecs adopt).
 */
public record RehearsalOptions(Path workDir, boolean keep, String driver, List<String> kexecs, String strategy,
                               RehearsalPlan plan, long seed, int slotsPerMapping, boolean progress) {
    public static List<String> defaultKexecs() {
        return List.of("planned", "planned", "crash");
    }
}
