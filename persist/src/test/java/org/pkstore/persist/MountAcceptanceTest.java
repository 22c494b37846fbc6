package org.pkstore.persist;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.registry.ChronicleMapFileHeader;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.RegistrySeal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.persist.Refusals.assertRefused;

/**
 * The boot's check (MountAcceptance, run by every read-write mount before it writes): registry
 * files against their Chronicle Map header and their seal, and the handover record of a planned
 * boot; after a crash neither seal nor handover record is used. A boot that opens the registries
 * in the background checks their content in that open, before any registry is written.
 */
class MountAcceptanceTest {
    @TempDir
    Path tmp;
    Path dir;
    Path containers;
    long generation;
    long rootPa;

    @BeforeEach
    void populate() {
        dir = tmp.resolve("mnt");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            generation = m.generation();
            PageTableFile f = m.createTableFile(m.pageTablePath("dom1"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 16, 1);
            rootPa = f.allocatePage();
            f.setRootPa(rootPa);
            for (int i = 1; i <= 50; i++) {
                m.registries().containers.put(i, new ContainerRecord(i, 1, 1, "dom1", 1, 1, 0));
            }
        }
        containers = Registries.fileOf(dir, "containers");
    }

    private void crash() {
        TestFiles.writeInt(dir.resolve(Superblock.FILE_NAME), Superblock.CLEAN_OFFSET, 0);
    }

    @Test
    void cleanUnmountSealsEveryRegistryAndTheMountIsAccepted() {
        for (String n : Registries.NAMES) {
            assertTrue(Files.exists(RegistrySeal.fileOf(Registries.fileOf(dir, n))), n);
        }
        MountAcceptance a = MountAcceptance.assess(dir);
        assertEquals(MountAcceptance.Decision.ACCEPT, a.decision(), a.refusals().toString());
        assertTrue(a.handover().startsWith("none, although the last writer unmounted cleanly"), a.handover());
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertEquals(50, m.registries().containers.size());
        }
    }

    @Test
    void registryHeaderAlteredIsRefusedBeforeAnyRecovery() {
        TestFiles.flipBit(containers, 16, 3); // inside the header text
        assertRefused(dir, containers, ChronicleMapFileHeader.CHECKSUM_OFFSET, "the header was altered",
                () -> PkernfsMount.mountReadWrite(dir).close());
        crash();
        assertRefused(dir, containers, ChronicleMapFileHeader.CHECKSUM_OFFSET, "the header was altered",
                () -> PkernfsMount.mountReadWrite(dir).close());
    }

    @Test
    void registryTruncatedBelowItsGeometryIsRefusedEvenAfterACrash() throws Exception {
        long third = Files.size(containers) / 3;
        TestFiles.truncate(containers, third);
        crash();
        assertRefused(dir, containers, third, "truncated", () -> PkernfsMount.mountReadWrite(dir).close());
    }

    @Test
    void registryContentAlteredAfterACleanUnmountIsRefusedAtTheChunk() throws Exception {
        long at = Files.size(containers) - 100;
        TestFiles.flipBit(containers, at & ~7L, 0);
        assertRefused(dir, containers, (at & ~7L) / RegistrySeal.CHUNK * RegistrySeal.CHUNK, "altered",
                () -> PkernfsMount.mountReadWrite(dir).close());
        // after a crash the seal is not used: the recovery is what decides
        crash();
        assertEquals(MountAcceptance.Decision.RECOVER, MountAcceptance.assess(dir).decision());
        PkernfsMount.mountReadWrite(dir).close();
    }

    @Test
    void registryContentAlteredIsRefusedByTheBackgroundOpenBeforeAnyRegistryIsWritten() throws Exception {
        long at = Files.size(containers) - 100;
        long chunk = (at & ~7L) / RegistrySeal.CHUNK * RegistrySeal.CHUNK;
        TestFiles.flipBit(containers, at & ~7L, 0);
        Map<String, TestFiles.FileState> registriesBefore = TestFiles.dirState(dir.resolve(Registries.DIR));
        // the boot with the registries in the background reads headers, seals and lengths: accepted
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir, true)) {
            assertEquals(Registries.NAMES.size(), m.acceptance().deferredSeals().size());
            assertEquals(m.generation() - 1, m.acceptance().generation());
            // the open checks the content before it opens any registry: refused, file, chunk, reason
            CorruptFileException e = assertThrows(CorruptFileException.class, m::registries);
            assertEquals(containers, e.file(), e.getMessage());
            assertEquals(chunk, e.offset(), e.getMessage());
            assertTrue(e.reason().contains("altered"), e.reason());
            assertThrows(CorruptFileException.class, m::registries); // and stays refused
        }
        // no registry was written, and no seal: they are consumed only by an open that goes ahead
        Map<String, TestFiles.FileState> registriesAfter = TestFiles.dirState(dir.resolve(Registries.DIR));
        for (String n : Registries.NAMES) {
            for (String file : List.of(n + ".cmap", n + ".seal")) {
                assertEquals(registriesBefore.get(file), registriesAfter.get(file), file + " was written");
            }
        }
        // so the seals still vouch for the registries as the clean unmount left them: verify's check,
        // the inline boot and the background one refuse them again
        MountAcceptance verify = MountAcceptance.assess(dir);
        assertEquals(MountAcceptance.Decision.REFUSE, verify.decision());
        assertEquals(containers, verify.refusals().get(0).file());
        assertEquals(chunk, verify.refusals().get(0).offset());
        assertRefused(dir, containers, chunk, "altered", () -> PkernfsMount.mountReadWrite(dir).close());
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir, true)) {
            assertThrows(CorruptFileException.class, m::registries);
        }
    }

    @Test
    void openingTheRegistriesConsumesTheSealsAndACleanUnmountWritesThemAgain() {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir, true)) {
            for (String n : Registries.NAMES) {
                assertTrue(Files.exists(RegistrySeal.fileOf(Registries.fileOf(dir, n))), n + ": consumed before the open");
            }
            m.registries();
            for (String n : Registries.NAMES) {
                assertFalse(Files.exists(RegistrySeal.fileOf(Registries.fileOf(dir, n))), n + ": still sealed while open");
            }
        }
        for (String n : Registries.NAMES) {
            assertTrue(Files.exists(RegistrySeal.fileOf(Registries.fileOf(dir, n))), n + ": not sealed at the clean unmount");
        }
    }

    @Test
    void aBootKilledBeforeItsBackgroundOpenLeavesTheSealsForTheNextBootToCheck() throws Exception {
        long at = Files.size(containers) - 100;
        TestFiles.flipBit(containers, at & ~7L, 0);
        // the boot of the next generation began (superblock dirty, generation + 1) and died before
        // its registries' open: what beginGeneration leaves, as the real boot writes it
        try (Superblock sb = Superblock.open(dir.resolve(Superblock.FILE_NAME), false)) {
            sb.beginGeneration(sb.generation() + 1, false);
        }
        MountAcceptance verify = MountAcceptance.assess(dir);
        assertEquals(MountAcceptance.Decision.REFUSE, verify.decision(), verify.refusals().toString());
        assertEquals(containers, verify.refusals().get(0).file());
        assertRefused(dir, containers, (at & ~7L) / RegistrySeal.CHUNK * RegistrySeal.CHUNK, "altered",
                () -> PkernfsMount.mountReadWrite(dir).close());
    }

    @Test
    void registryLengthChangedIsRefusedByTheBackgroundBootBeforeAnythingIsWritten() throws Exception {
        long length = Files.size(containers);
        TestFiles.extend(containers, 4096); // the header's geometry is a lower bound only: the seal has the length
        assertRefused(dir, containers, length, "length changed", () -> PkernfsMount.mountReadWrite(dir, true).close());
        assertTrue(MountAcceptance.assessForBoot(dir).deferredSeals().stream()
                .noneMatch(d -> d.registry().equals(containers)));
    }

    @Test
    void aBackgroundBootOfAnIntactMountChecksTheContentAndOpensTheRegistries() {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir, true)) {
            assertEquals(Registries.NAMES.size(), m.acceptance().deferredSeals().size());
            assertEquals(50, m.registries().containers.size());
        }
        // an accepted background boot leaves nothing deferred to anyone else: verify sees a clean mount
        assertEquals(MountAcceptance.Decision.ACCEPT, MountAcceptance.assess(dir).decision());
        assertTrue(MountAcceptance.assess(dir).deferredSeals().isEmpty());
    }

    @Test
    void handoverRecordIsCheckedByAPlannedBootOnly() {
        Path pt = dir.resolve("pgtables/dom1.pt");
        new HandoverRecord(generation, 1, List.of(new HandoverRecord.Entry("pgtables/dom1.pt", 1, 1,
                "pkstore-iommu-pgtable-v1", PageTableFileDescriptor.LAYOUT_VERSION, readPaBase(pt), rootPa + 4096)))
                .write(dir);
        assertRefused(dir, pt, PageTableFileDescriptor.ROOT_PA_OFFSET, "handed over",
                () -> PkernfsMount.mountReadWrite(dir).close());

        Path rec = dir.resolve(HandoverRecord.FILE_NAME);
        long third = TestFiles.state(rec).size() / 3;
        TestFiles.truncate(rec, third);
        assertRefused(dir, rec, third, "truncated", () -> PkernfsMount.mountReadWrite(dir).close());

        crash();
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.acceptance().handover().contains("not used after a crash"), m.acceptance().handover());
        }
    }

    @Test
    void matchingHandoverRecordIsAccepted() {
        try (PkernfsMount m = PkernfsMount.mountReadOnly(dir)) {
            HandoverRecord.describe(m).write(dir);
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.acceptance().handover().startsWith("checked 1 files"), m.acceptance().handover());
        }
    }

    private static long readPaBase(Path pt) {
        try (PageTableFile f = PageTableFile.openReadOnly(pt)) {
            return f.paBase();
        }
    }
}
