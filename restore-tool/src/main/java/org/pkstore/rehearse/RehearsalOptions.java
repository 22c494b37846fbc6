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
 * of {@code killPoints}, chosen at random with {@code seed}; at a {@code recovery:} point the
 * recovering boot is then killed too, 1 to {@code recoveryKills} times in a row.
 */
public record RehearsalOptions(Path workDir, IommuDriver driver, List<KexecKind> kexecs, StrategyOption strategy,
                               RehearsalPlan plan, long seed, int slotsPerMapping,
                               List<String> killPoints, int recoveryKills) {
    /** Inside MAP_DMA/UNMAP_DMA churn: "random" (a random instant of it) and named steps. */
    public static final List<String> CHURN_POINTS = List.of("random", "map:tables", "map:record", "unmap:tables");
    /** Inside container/group setup: the host attaches a further VM (container, groups 3 and 4). */
    public static final List<String> SETUP_POINTS = List.of("setiommu:attached", "setiommu:domain", "group:attached");
    /** Inside a hotswap of one domain to freshly built tables. */
    public static final List<String> HOTSWAP_POINTS = List.of("hotswap:published", "hotswap:device", "hotswap:switched");
    /**
     * Inside the recovering boot: registry recovery steps (persist Registry.OpenStep: copied, inside
     * Chronicle's recovery, recovered, renamed over the live file) and a random instant of the boot.
     */
    public static final List<String> RECOVERY_POINTS = List.of("recovery:copied", "recovery:recovering",
            "recovery:recovered", "recovery:published", "recovery:random");
    /** Every kill point {@code --kill-points} takes. */
    public static final List<String> KILL_POINTS = concat(CHURN_POINTS, SETUP_POINTS, HOTSWAP_POINTS, RECOVERY_POINTS);

    /** One kill of the recovering boot per recovery point, as before there was a choice. */
    public RehearsalOptions(Path workDir, IommuDriver driver, List<KexecKind> kexecs, StrategyOption strategy,
                            RehearsalPlan plan, long seed, int slotsPerMapping, List<String> killPoints) {
        this(workDir, driver, kexecs, strategy, plan, seed, slotsPerMapping, killPoints, 1);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        List<String> all = new java.util.ArrayList<>();
        for (List<String> l : lists) {
            all.addAll(l);
        }
        return List.copyOf(all);
    }

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
