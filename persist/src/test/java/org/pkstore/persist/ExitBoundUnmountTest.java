package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.RegistrySeal;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The planned kexec's unmount for a process that ends right after it
 * ({@link PkernfsMount#closeLeavingRegistriesMapped}): the registries are sealed while still mapped,
 * and those seals must describe the files exactly once Chronicle has closed them (as the process's
 * end leaves them), so that the next planned boot's content check and {@code verify} accept them.
 */
class ExitBoundUnmountTest {
    @TempDir
    Path tmp;

    @Test
    void sealsTakenWhileTheRegistriesAreMappedDescribeThemOnceClosed() {
        Path dir = tmp.resolve("mnt");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            m.registries().containers.put(1, new ContainerRecord(1, 1, 1, "dom1", 1, 1, 0));
        }
        PkernfsMount m = PkernfsMount.mountReadWrite(dir, true);
        Registries r = m.registries();
        for (long k = 0; k < 3000; k++) {
            r.dmaMappings.put(k, new DmaMappingRecord(1, k << 12, 4096, k << 12, (k + 1) << 12, 3));
        }
        for (long k = 0; k < 3000; k += 3) {
            r.dmaMappings.remove(k);
        }
        r.containers.put(2, new ContainerRecord(2, 1, 1, "dom2", 2, 1, 0));
        r.containers.get(1); // a read takes and releases a segment lock: nothing of it may stay in the file
        Registries left = m.closeLeavingRegistriesMapped();
        assertNotNull(left, "the registries were open: they are left to the caller");
        assertSame(r, left, "the mount's own registries");
        assertNull(m.closeLeavingRegistriesMapped(), "a second unmount does nothing");
        m.close(); // nor does a close after it
        try (Superblock sb = Superblock.open(dir.resolve(Superblock.FILE_NAME), true)) {
            assertTrue(sb.clean(), "the clean flag is stored as by close()");
        }
        left.close(); // what the process's end does to the mappings, writing nothing
        for (String n : Registries.NAMES) {
            Path f = Registries.fileOf(dir, n);
            RegistrySeal seal = RegistrySeal.read(RegistrySeal.fileOf(f));
            assertNotNull(seal, n + ": not sealed");
            assertEquals(m.generation(), seal.generation(), n);
            seal.check(f); // throws, naming the first differing chunk, if the close changed a byte
        }
        MountAcceptance a = MountAcceptance.assess(dir);
        assertEquals(MountAcceptance.Decision.ACCEPT, a.decision(), a.refusals().toString());
        try (PkernfsMount next = PkernfsMount.mountReadWrite(dir, true)) {
            assertFalse(next.recovering());
            assertEquals(2000, next.registries().dmaMappings.size());
            assertEquals(2, next.registries().containers.size());
        }
    }
}
