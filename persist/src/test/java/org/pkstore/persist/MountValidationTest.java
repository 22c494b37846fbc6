package org.pkstore.persist;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.registry.ContainerRecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.persist.Refusals.assertRefused;
import static org.pkstore.persist.Superblock.*;

/**
 * PkernfsMount.mountReadWrite refusing a mount whose superblock, page-table file, guest memory or
 * journal is damaged, and modifying nothing in any file of the mount directory (lock file included).
 */
class MountValidationTest {
    @TempDir
    Path tmp;
    Path dir;
    Path sb;
    long generation;

    @BeforeEach
    void populate() {
        dir = tmp.resolve("mnt");
        sb = dir.resolve(FILE_NAME);
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            generation = m.generation();
            PageTableFile f = m.createTableFile(m.pageTablePath("dom1"), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                    1, 16, 1);
            f.setRootPa(f.allocatePage());
            m.createTableFile(m.iommuTablePath("unit0"), PageTableFileDescriptor.KIND_IOMMU_TABLES, 0, 8, 0);
            m.createGuestMemory("vm", 8192).writeLong(FIRST_MEMORY_PA, 77);
            m.registries().containers.put(1, new ContainerRecord(1, 1, 1, "dom1", 1, 1, 0));
        }
    }

    /** A refused mount names file/offset/reason, writes nothing anywhere, and leaves the lock free. */
    private void refused(Path file, long offset, String reason) {
        assertRefused(dir, file, offset, reason, () -> PkernfsMount.mountReadWrite(dir).close());
        assertFalse(MountLock.isHeld(dir), "a refused mount releases the writer lock");
    }

    @Test
    void intactMountMountsAgain() {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertEquals(generation + 1, m.generation());
            assertEquals(77, m.openGuestMemory("vm").readLong(FIRST_MEMORY_PA));
            assertEquals("dom1", m.registries().containers.get(1).pgtableFile());
            assertEquals(2, m.pageTableFiles().size() + m.iommuTableFiles().size());
        }
    }

    /**
     * One way to damage one file of the mount, and what the refusal must name.
     *
     * @param file   path relative to the mount directory
     * @param offset the offset the refusal must name
     * @param reason a part of the reason it must give
     */
    record Corruption(String name, String file, Consumer<Path> damage, long offset, String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final String PT = PkernfsMount.PGTABLES_DIR + "/dom1" + PkernfsMount.PGTABLE_SUFFIX;
    static final String HW = PkernfsMount.IOMMU_DIR + "/unit0" + PkernfsMount.IOMMU_SUFFIX;
    static final String MEM = PkernfsMount.MEM_DIR + "/vm" + PkernfsMount.MEM_SUFFIX;

    static Stream<Corruption> corruptions() {
        return Stream.of(
                new Corruption("superblock wrong magic", FILE_NAME, f -> TestFiles.writeLong(f, MAGIC_OFFSET, 0),
                        MAGIC_OFFSET, "wrong magic"),
                new Corruption("superblock version 0", FILE_NAME, f -> TestFiles.writeInt(f, VERSION_OFFSET, 0),
                        VERSION_OFFSET, "never completely created"),
                new Corruption("superblock unknown version", FILE_NAME, f -> TestFiles.writeInt(f, VERSION_OFFSET, 2),
                        VERSION_OFFSET, "unknown layout version 2"),
                new Corruption("superblock incompatible compat string", FILE_NAME,
                        f -> TestFiles.writeString(f, COMPAT_OFFSET, "pkstore-pkernfs-v2", COMPAT_LENGTH),
                        COMPAT_OFFSET, "incompatible format \"pkstore-pkernfs-v2\""),
                new Corruption("superblock bad checksum", FILE_NAME, f -> TestFiles.flipBit(f, CREATED_OFFSET, 0),
                        CHECKSUM_OFFSET, "checksum mismatch"),
                new Corruption("superblock truncated", FILE_NAME, f -> TestFiles.truncate(f, 60), 60, "truncated"),
                new Corruption("superblock too long", FILE_NAME, f -> TestFiles.extend(f, 4096), SIZE, "size mismatch"),
                new Corruption("superblock clean flag 2", FILE_NAME, f -> TestFiles.writeInt(f, CLEAN_OFFSET, 2),
                        CLEAN_OFFSET, "clean flag 2"),
                new Corruption("superblock table PA cursor out of its window", FILE_NAME,
                        f -> TestFiles.writeLong(f, NEXT_TABLE_PA_OFFSET, FIRST_MEMORY_PA), NEXT_TABLE_PA_OFFSET,
                        "next table PA"),
                new Corruption("superblock memory PA cursor not aligned", FILE_NAME,
                        f -> TestFiles.writeLong(f, NEXT_MEMORY_PA_OFFSET, FIRST_MEMORY_PA + 4096), NEXT_MEMORY_PA_OFFSET,
                        "next guest memory PA"),
                new Corruption("page-table file checksum", PT,
                        f -> TestFiles.flipBit(f, PageTableFileDescriptor.OWNER_ID_OFFSET, 1),
                        PageTableFileDescriptor.CHECKSUM_OFFSET, "checksum mismatch"),
                new Corruption("page-table file bad root", PT,
                        f -> TestFiles.writeLong(f, PageTableFileDescriptor.ROOT_PA_OFFSET, 12),
                        PageTableFileDescriptor.ROOT_PA_OFFSET, "root table PA"),
                new Corruption("IOMMU table file truncated", HW, f -> TestFiles.truncate(f, 5000), 5000, "truncated"),
                new Corruption("guest memory version 0", MEM, f -> TestFiles.writeInt(f, GuestMemoryFile.VERSION_OFFSET, 0),
                        GuestMemoryFile.VERSION_OFFSET, "never completely created"),
                new Corruption("intent journal wrong magic", IntentJournal.FILE_NAME,
                        f -> TestFiles.writeLong(f, IntentJournal.MAGIC_OFFSET, 5), IntentJournal.MAGIC_OFFSET, "wrong magic"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void aDamagedFileIsRefused(Corruption c) {
        Path f = dir.resolve(c.file());
        c.damage().accept(f);
        refused(f, c.offset(), c.reason());
    }

    @Test
    void refusedMountCanBeRepairedAndMounted() {
        String original = TestFiles.sha256(sb);
        long word = TestFiles.readLong(sb, MAGIC_OFFSET);
        TestFiles.writeLong(sb, MAGIC_OFFSET, 0);
        refused(sb, MAGIC_OFFSET, "wrong magic");
        TestFiles.writeLong(sb, MAGIC_OFFSET, word);
        assertEquals(original, TestFiles.sha256(sb));
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertFalse(m.recovering(), "the refused attempt did not dirty the superblock");
            assertEquals(generation + 1, m.generation(), "the refused attempt did not use a generation");
        }
    }

    @Test
    void readOnlyMountRefusesACorruptSuperblockToo() {
        TestFiles.writeInt(sb, VERSION_OFFSET, 9);
        assertRefused(dir, sb, VERSION_OFFSET, "unknown layout version 9", () -> PkernfsMount.mountReadOnly(dir).close());
    }

    @Test
    void newMountDirectoryGetsEveryFile() {
        Path fresh = tmp.resolve("fresh");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(fresh)) {
            assertEquals(1, m.generation());
            assertFalse(m.recovering());
        }
        for (String f : new String[] {FILE_NAME, MountLock.FILE_NAME, IntentJournal.FILE_NAME}) {
            assertTrue(Files.isRegularFile(fresh.resolve(f)), f);
        }
        assertEquals(SIZE, fresh.resolve(FILE_NAME).toFile().length());
        assertEquals(ProcessHandle.current().pid(), MountLock.recordedHolder(fresh));
    }

    /** What a writer killed during Page/GuestMemory/Superblock creation leaves: a ".creating" file only. */
    @Test
    void filesAKilledCreationLeftBehindAreIgnoredAndRemoved() throws Exception {
        Path pt = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("half.pt" + MappedRegion.CREATING_SUFFIX);
        Path mem = dir.resolve(PkernfsMount.MEM_DIR).resolve("half.gmem" + MappedRegion.CREATING_SUFFIX);
        Files.write(pt, new byte[8192]); // magic written, version still 0
        TestFiles.writeLong(pt, PageTableFileDescriptor.MAGIC_OFFSET, PageTableFileDescriptor.MAGIC);
        Files.write(mem, new byte[4096]);
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertEquals(1, m.pageTableFiles().size(), "only the complete dom1.pt");
            assertFalse(Files.exists(pt), "removed by the mount");
            assertFalse(Files.exists(mem), "removed by the mount");
            // and the names are free for a new creation
            m.createTableFile(m.pageTablePath("half"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 8, 2).allocatePage();
            m.createGuestMemory("half", 4096);
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertEquals(2, m.pageTableFiles().size());
        }

        Path fresh = tmp.resolve("fresh");
        Files.createDirectories(fresh);
        Path sbHalf = fresh.resolve(FILE_NAME + MappedRegion.CREATING_SUFFIX);
        Files.write(sbHalf, new byte[SIZE]); // the very first mount was killed creating its superblock
        try (PkernfsMount m = PkernfsMount.mountReadWrite(fresh)) {
            assertEquals(1, m.generation());
        }
        assertFalse(Files.exists(sbHalf));
    }

    @Test
    void creationLeavesNoTemporaryFile() {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            m.createTableFile(m.pageTablePath("new"), PageTableFileDescriptor.KIND_DOMAIN_TABLES, 1, 8, 2);
            m.createGuestMemory("new", 4096);
        }
        for (String name : TestFiles.dirState(dir).keySet()) {
            assertFalse(name.endsWith(MappedRegion.CREATING_SUFFIX), name);
        }
        assertTrue(Files.isRegularFile(dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("new.pt")));
    }
}
