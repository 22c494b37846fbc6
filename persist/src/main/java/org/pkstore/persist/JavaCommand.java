package org.pkstore.persist;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds the command line of a child JVM (a host after kexec, a simulated device, a test's victim)
 * with the same java binary, class path and Chronicle flags as this JVM. The flags come from the
 * {@code pkstore.jvm.flags} system property when the build set it (surefire, the launcher) and
 * otherwise from this JVM's own --add-opens/--add-exports/-D arguments, so they are defined once,
 * in the root pom.
 */
public final class JavaCommand {
    /**
     * For a JVM whose start is on a blackout's path and that lives for seconds (a host after a
     * kexec, the blackout floor; not the simulated device, whose DMA loop needs C2): the C1
     * compiler only, whose code is ready at once, so that C2's compile threads do not take one of
     * this machine's two cores during the boot (a host boot 1.3-1.4 s to 0.8-0.9 s at load 6, docs/BENCHMARKS.md
     * "lean boot"), and no hsperfdata file (about 40-60 ms less to READY). The other flags measured
     * (-Xss, -Xms, -XX:CICompilerCount) made no difference above the noise and are not used.
     */
    public static final List<String> SHORT_LIVED_FLAGS = List.of("-XX:TieredStopAtLevel=1", "-XX:-UsePerfData");

    private JavaCommand() {}

    public static List<String> forMain(Class<?> main, String... args) {
        return forMain(main, List.of(), args);
    }

    /** As {@link #forMain(Class, String...)} with more JVM flags (a {@link ClassDataArchive}'s). */
    public static List<String> forMain(Class<?> main, List<String> moreFlags, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // JDK 24+ refuses -Xshare:* beside the AOT cache flags (the AOT cache implies sharing)
        boolean aotCache = moreFlags.stream().anyMatch(f -> f.startsWith("-XX:AOTCache"));
        for (String f : jvmFlags()) {
            if (!(aotCache && f.startsWith("-Xshare:"))) {
                cmd.add(f);
            }
        }
        cmd.addAll(moreFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    public static List<String> jvmFlags() {
        List<String> flags = new ArrayList<>();
        String configured = System.getProperty("pkstore.jvm.flags");
        if (configured != null && !configured.isBlank()) {
            for (String f : configured.trim().split("\\s+")) {
                flags.add(f);
            }
            flags.add("-Dpkstore.jvm.flags=" + configured.trim());
        } else {
            for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (a.startsWith("--add-") || a.startsWith("--enable-native-access")
                        || a.startsWith("--sun-misc-unsafe") || a.startsWith("-Dchronicle.")
                        || a.startsWith("-Dorg.slf4j.")) {
                    flags.add(a);
                }
            }
        }
        flags.add("-XX:+UseSerialGC");
        flags.add("-Xshare:auto");
        return flags;
    }
}
