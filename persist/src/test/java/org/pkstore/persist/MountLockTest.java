package org.pkstore.persist;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.CrashChild;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The single-writer lock, in one JVM and across JVMs, and the generation/clean protocol around it. */
class MountLockTest {
    @TempDir
    Path tmp;

    private final List<ChildJvm> children = new ArrayList<>();

    @AfterEach
    void killChildren() {
        children.forEach(ChildJvm::close);
    }

    private ChildJvm child(String prefix, String... args) {
        ChildJvm c = ChildJvm.start(tmp.resolve("child"), prefix, CrashChild.class, args);
        children.add(c);
        return c;
    }

    /** Starts a child that tries a read-write mount; returns what it printed, asserting it was refused. */
    private String childMountRefused(Path dir, String prefix) {
        ChildJvm c = child(prefix, "try-mount", dir.toString());
        int rc = c.waitFor(Duration.ofSeconds(30));
        assertEquals(3, rc, "the child's mount must be refused\n" + c.describe());
        return String.join("\n", c.acks());
    }

    @Test
    void secondReadWriteMountInTheSameJvmFailsAtOnceNamingThePid() {
        Path dir = tmp.resolve("mnt");
        long me = ProcessHandle.current().pid();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            MountLockedException e = assertTimeoutPreemptively(Duration.ofSeconds(2),
                    () -> assertThrows(MountLockedException.class, () -> PkernfsMount.mountReadWrite(dir)));
            assertEquals(me, e.holderPid());
            assertTrue(e.getMessage().contains("pid " + me), e.getMessage());
            assertTrue(MountLock.isHeld(dir));
            assertEquals(me, MountLock.recordedHolder(dir));
            assertThrows(MountLockedException.class, () -> MountLock.acquire(dir));

            // Regression: the refused attempts above (and isHeld/recordedHolder) opened and closed the
            // lock file in this JVM, which on Linux used to drop this JVM's lock. Another JVM must
            // still be refused.
            String msg = childMountRefused(dir, "after-same-jvm");
            assertTrue(msg.contains("pid " + me), msg);
            assertTrue(m.registries() != null);
        }
        assertFalse(MountLock.isHeld(dir));
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering());
        }
    }

    @Test
    void readWriteMountFromAChildJvmFailsWhileThisJvmHoldsIt() {
        Path dir = tmp.resolve("mnt");
        long me = ProcessHandle.current().pid();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            String msg = childMountRefused(dir, "child-mount");
            assertTrue(msg.contains("held read-write by pid " + me), msg);
            // read-only mounts work while the writer holds it
            m.registries().containers.put(4, new ContainerRecord(4, 1, 1, "x", 0, 0, 0));
            try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
                assertTrue(ro.readOnly());
                assertEquals(m.generation(), ro.generation());
                assertTrue(ro.recovering(), "the writer has the mount open: not clean");
                assertEquals("x", ro.registries().containers.get(4).pgtableFile());
                assertThrows(PersistException.class, () -> ro.createGuestMemory("g", 4096));
            }
            assertTrue(MountLock.isHeld(dir), "a read-only mount leaves the writer's lock alone");
        }
        // released at unmount: the child gets it now
        ChildJvm c = child("child-mount-2", "try-mount", dir.toString());
        assertEquals(0, c.waitFor(Duration.ofSeconds(45)), c.describe());
    }

    @Test
    void afterTheHolderIsSigkilledANewMountSucceedsAndRecovers() {
        Path dir = tmp.resolve("mnt");
        long firstGeneration;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            firstGeneration = m.generation();
        }
        ChildJvm holder = child("holder", "hold", dir.toString());
        List<String> acks = holder.awaitAcks(1, ChildJvm.START_TIMEOUT);
        long childGeneration = Long.parseLong(acks.get(0).split(" ")[1]);
        assertEquals(firstGeneration + 1, childGeneration);

        MountLockedException e = assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> assertThrows(MountLockedException.class, () -> PkernfsMount.mountReadWrite(dir)));
        assertEquals(holder.pid(), e.holderPid());
        assertTrue(e.getMessage().contains("pid " + holder.pid()), e.getMessage());
        assertTrue(MountLock.isHeld(dir));
        assertEquals(holder.pid(), MountLock.recordedHolder(dir));
        try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
            assertEquals(childGeneration, ro.generation());
            assertEquals(holder.pid(), ro.superblock().writerPid());
            assertFalse(ro.superblock().clean());
        }

        holder.kill();
        assertFalse(MountLock.isHeld(dir), "the OS dropped the dead holder's lock");
        assertNotEquals(ProcessHandle.current().pid(), MountLock.recordedHolder(dir));
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.recovering(), "killed -> recovering");
            assertEquals(childGeneration + 1, m.generation());
            assertEquals(1, m.superblock().recoveries());
            assertEquals(ProcessHandle.current().pid(), m.superblock().writerPid());
            assertEquals(ProcessHandle.current().pid(), MountLock.recordedHolder(dir));
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering());
            assertEquals(childGeneration + 2, m.generation());
            assertEquals(1, m.superblock().recoveries());
        }
    }

    @Test
    void cleanUnmountMeansNoRecoveryAndTheNextGeneration() {
        Path dir = tmp.resolve("mnt");
        long before = System.currentTimeMillis();
        long g;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            g = m.generation();
            assertEquals(1, g);
            assertFalse(m.recovering());
            assertFalse(m.superblock().clean(), "dirty while mounted");
            assertEquals(0, m.registryRecoveryMillis());
            assertTrue(m.superblock().lastMountMillis() >= before);
            assertTrue(m.superblock().createdMillis() >= before);
        }
        try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
            assertTrue(ro.superblock().clean());
            assertFalse(ro.recovering());
            assertEquals(g, ro.generation());
        }
        for (int i = 1; i <= 3; i++) {
            try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
                assertFalse(m.recovering());
                assertEquals(g + i, m.generation());
                assertEquals(0, m.superblock().recoveries());
            }
        }
    }

    @Test
    void tableFilesAreMarkedCleanAtUnmountAndCarryTheGeneration() {
        Path dir = tmp.resolve("mnt");
        long g;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            g = m.generation();
            PageTableFile f = m.createTableFile(m.pageTablePath("d"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 8, 1);
            assertFalse(f.clean());
            assertEquals(g, f.generation());
            assertTrue(f.paBase() >= Superblock.FIRST_TABLE_PA);
            GuestMemoryFile mem = m.createGuestMemory("vm", 4096);
            assertEquals(Superblock.FIRST_MEMORY_PA, mem.paBase());
            GuestMemoryFile mem2 = m.createGuestMemory("vm2", 4096);
            assertEquals(Superblock.FIRST_MEMORY_PA + Superblock.PA_WINDOW_ALIGN, mem2.paBase(), "1 GiB windows");
        }
        try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
            PageTableFile f = ro.openTableFile(ro.pageTablePath("d"));
            assertTrue(f.clean());
            assertEquals(g, f.generation());
            assertEquals(List.of(ro.pageTablePath("d")), ro.pageTableFiles());
            assertEquals("d", PkernfsMount.baseName(ro.pageTableFiles().get(0), PkernfsMount.PGTABLE_SUFFIX));
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            PageTableFile f = m.openTableFile(m.pageTablePath("d"));
            assertFalse(f.clean());
            assertEquals(g + 1, f.generation());
            assertEquals(g, f.createdGeneration());
            GuestMemoryFile mem3 = m.createGuestMemory("vm3", 4096);
            assertEquals(Superblock.FIRST_MEMORY_PA + 2 * Superblock.PA_WINDOW_ALIGN, mem3.paBase(),
                    "the PA cursor persists: windows never overlap");
        }
    }

    @Test
    void unmountWithAnActiveIntentIsUncleanSoTheNextMountRecovers() {
        Path dir = tmp.resolve("mnt");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            m.journal().begin(3, new byte[] {4});
            assertTrue(m.journal().active());
        }
        assertFalse(MountLock.isHeld(dir));
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.recovering(), "the intent must be replayed");
            assertEquals(3, m.journal().pending().op());
            m.journal().end();
            assertFalse(m.journal().active());
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering());
        }
    }

    @Test
    void unmountDuringATableUpdateIsUncleanAndStillReleasesEverything() {
        Path dir = tmp.resolve("mnt");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            PageTableFile f = m.createTableFile(m.pageTablePath("d"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 8, 1);
            PageTableFile g = m.createTableFile(m.pageTablePath("e"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 8, 1);
            f.beginMutation();
            g.allocatePage();
        }
        assertFalse(MountLock.isHeld(dir), "the lock is released even though the unmount was not clean");
        try (PkernfsMount ro = PkernfsMount.mountReadOnly(dir)) {
            assertFalse(ro.superblock().clean());
            assertFalse(ro.openTableFile(ro.pageTablePath("d")).clean(), "the file in mid-update stays in use");
            assertTrue(ro.openTableFile(ro.pageTablePath("e")).clean());
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.recovering());
            PageTableFile f = m.openTableFile(m.pageTablePath("d"));
            assertEquals(0, f.mutationSeq() & 1, "the recovering writer evens the sequence");
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering());
        }
    }
}
