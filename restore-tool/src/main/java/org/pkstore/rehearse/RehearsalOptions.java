package org.pkstore.rehearse;

import org.pkstore.iommu.IommuDriver;
import org.pkstore.vfio.trace.KexecKind;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What a rehearsal does. {@code kexecs} is the sequence, each planned or crash; {@code strategy}
 * says how each kexec restores (see {@link StrategyOption}). Each crash kexec kills the host at one
 * of {@code killPoints}, chosen at random with {@code seed}.
 */
public record RehearsalOptions(Path workDir, IommuDriver driver, List<KexecKind> kexecs, StrategyOption strategy,
                               RehearsalPlan plan, long seed, int slotsPerMapping,
                               List<String> killPoints) {
    /** Named kill points inside multi-step ioctls, besides "random" (a random instant of churn). */
    public static final List<String> KILL_POINTS = List.of("random", "map:tables", "map:record", "unmap:tables");

    public static List<KexecKind> defaultKexecs() {
        return List.of(KexecKind.PLANNED, KexecKind.PLANNED, KexecKind.CRASH);
    }

    /** A kexec kind as the CLI and the report write it: "planned" or "crash". */
    public static String kexecName(KexecKind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    public static Optional<KexecKind> kexecByName(String name) {
        for (KexecKind k : KexecKind.values()) {
            if (kexecName(k).equals(name)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
