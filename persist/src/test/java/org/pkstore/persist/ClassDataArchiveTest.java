package org.pkstore.persist;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The archive's life: trained when missing or older than the jar, adopted only after a clean exit. */
class ClassDataArchiveTest {
    @TempDir
    Path dir;
    private String classPath;
    private Path jar;
    private final boolean aot = Runtime.version().feature() >= 24;

    @BeforeEach
    void jarClassPath() throws IOException {
        classPath = System.getProperty("java.class.path");
        jar = Files.write(dir.resolve("pkstore.jar"), new byte[] {1});
        System.setProperty("java.class.path", jar.toString());
    }

    @AfterEach
    void restore() {
        System.setProperty("java.class.path", classPath);
        System.clearProperty("pkstore.cds");
    }

    private Path archive() {
        return dir.resolve("pkstore-classdataarchivetest-jdk" + Runtime.version().feature() + (aot ? ".aot" : ".jsa"));
    }

    private static Path flagPath(ClassDataArchive a, String prefix) {
        return a.flags().stream().filter(f -> f.startsWith(prefix)).map(f -> Path.of(f.substring(prefix.length())))
                .findFirst().orElseThrow(() -> new AssertionError("no " + prefix + " in " + a.flags()));
    }

    @Test
    void firstLaunchTrainsAndACleanExitAdoptsTheArchive() throws IOException {
        ClassDataArchive first = ClassDataArchive.forMain(ClassDataArchiveTest.class);
        assertFalse(first.uses());
        Path training = flagPath(first, aot ? "-XX:AOTCacheOutput=" : "-XX:ArchiveClassesAtExit=");
        Files.write(training, new byte[] {42});
        first.exited(0);
        assertTrue(Files.exists(archive()));
        assertFalse(Files.exists(training));

        ClassDataArchive second = ClassDataArchive.forMain(ClassDataArchiveTest.class);
        assertTrue(second.uses());
        assertEquals(archive(), flagPath(second, aot ? "-XX:AOTCache=" : "-XX:SharedArchiveFile="));
        assertTrue(second.flags().containsAll(ClassDataArchive.MAP_AT_REQUESTED_ADDRESS), second.flags().toString());
    }

    /** The JVM running the tests accepts the mapping flags (a JDK that dropped them would refuse to start). */
    @Test
    void theJvmAcceptsTheMappingFlags() throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ClassDataArchive.MAP_AT_REQUESTED_ADDRESS);
        cmd.add("-Xshare:auto");
        cmd.add("-version");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "java -version did not end");
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void aLaunchThatMayNotTrainStartsWithoutAnArchiveAndLeavesTheTrainingToTheNext() throws IOException {
        ClassDataArchive setup = ClassDataArchive.forMain(ClassDataArchiveTest.class, false);
        assertFalse(setup.uses());
        assertTrue(setup.flags().stream().noneMatch(f -> f.startsWith("-XX:ArchiveClassesAtExit=")
                || f.startsWith("-XX:AOTCacheOutput=") || f.startsWith("-XX:SharedArchiveFile=")
                || f.startsWith("-XX:AOTCache=")), setup.flags().toString());
        assertEquals(java.time.Duration.ZERO, setup.exitAllowance());
        setup.exited(0);
        assertFalse(Files.exists(archive()));
        ClassDataArchive next = ClassDataArchive.forMain(ClassDataArchiveTest.class, true);
        flagPath(next, aot ? "-XX:AOTCacheOutput=" : "-XX:ArchiveClassesAtExit=");
    }

    @Test
    void aKilledTrainerLeavesNoArchive() throws IOException {
        ClassDataArchive a = ClassDataArchive.forMain(ClassDataArchiveTest.class);
        Path training = flagPath(a, aot ? "-XX:AOTCacheOutput=" : "-XX:ArchiveClassesAtExit=");
        Files.write(training, new byte[] {42});
        a.exited(128 + 9);
        assertFalse(Files.exists(training));
        assertFalse(Files.exists(archive()));
    }

    @Test
    void anArchiveOlderThanTheJarIsTrainedAgain() throws IOException {
        Files.write(archive(), new byte[] {42});
        Files.setLastModifiedTime(archive(), FileTime.from(Instant.now().minusSeconds(60)));
        assertFalse(ClassDataArchive.forMain(ClassDataArchiveTest.class).uses());
    }

    @Test
    void directoriesOnTheClassPathOrSwitchedOffGetNoArchiveFlags() {
        System.setProperty("pkstore.cds", "off");
        ClassDataArchive off = ClassDataArchive.forMain(ClassDataArchiveTest.class);
        System.clearProperty("pkstore.cds");
        System.setProperty("java.class.path", dir.toString());
        ClassDataArchive dirs = ClassDataArchive.forMain(ClassDataArchiveTest.class);
        for (ClassDataArchive a : new ClassDataArchive[] {off, dirs}) {
            assertFalse(a.uses());
            assertTrue(a.flags().stream().noneMatch(f -> f.contains("Archive") || f.contains("AOTCache")), a.flags().toString());
            assertTrue(a.flags().contains("-XX:+DisplayVMOutputToStderr"), "VM output stays off stdout: " + a.flags());
        }
    }
}
