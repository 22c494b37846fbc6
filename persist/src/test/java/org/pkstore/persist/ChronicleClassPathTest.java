package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Chronicle's thread-affinity library and JNA stay off the class path (persist/pom.xml's exclusions,
 * docs/DEPENDENCIES.md "Excluded"), and Chronicle still starts without them where it would have
 * loaded them: in a JVM with no JUnit on its stacks, as every host, device and floor JVM is.
 */
class ChronicleClassPathTest {
    @TempDir
    Path tmp;

    @Test
    void affinityAndJnaAreNotOnTheClassPath() {
        ClassLoader loader = getClass().getClassLoader();
        for (String name : List.of("net.openhft.affinity.Affinity", "com.sun.jna.Native", "com.sun.jna.platform.linux.LibC")) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(name, false, loader),
                    name + " is back on the class path: a Chronicle upgrade brought it by a new path"
                            + " (docs/DEPENDENCIES.md, \"Excluded\")");
        }
    }

    @Test
    void chronicleStartsOutsideJUnitWithoutThem() {
        try (ChildJvm child = ChildJvm.start(tmp, "chronicle-start", ChronicleStartChild.class,
                tmp.resolve("mapped").toString())) {
            List<String> acks = child.awaitAcks(1, ChildJvm.START_TIMEOUT);
            assertEquals("started junit-frames=false affinity-loadable=false read=42", acks.get(0), child.describe());
            assertEquals(0, child.waitFor(Duration.ofSeconds(30)), child.describe());
        }
    }
}
