package org.pkstore.bench;

import java.nio.file.Path;

/**
 * Main of the child JVMs StartupBench starts: {@code noop} (JVM start and exit only),
 * {@code mount DIR} (create an empty pkernfs mount and unmount), {@code domain DIR FORMAT N}
 * (a mount with one domain of N dense 4 KiB mappings). Preparing in a child keeps Chronicle Map
 * unloaded in the benchmark's own fork, so that its first open there is really the first.
 */
public final class Child {
    private Child() {}

    public static void main(String[] args) {
        switch (args[0]) {
            case "noop":
                return;
            case "mount":
                org.pkstore.persist.PkernfsMount.mountReadWrite(Path.of(args[1])).close();
                return;
            case "domain":
                Domains.prepare(Path.of(args[1]), Fixtures.format(args[2]), Long.parseLong(args[3]));
                return;
            default:
                throw new IllegalArgumentException("unknown child command " + args[0]);
        }
    }
}
