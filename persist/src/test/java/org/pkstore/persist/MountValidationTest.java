package org.pkstore.persist;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.registry.ContainerRecord;

import java.nio.file.Files;
import java.nio.file.Path;

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

    @Test
    void superblockWrongMagic() {
        TestFiles.writeLong(sb, MAGIC_OFFSET, 0);
        refused(sb, MAGIC_OFFSET, "wrong magic");
    }

    @Test
    void superblockVersionZero() {
        TestFiles.writeInt(sb, VERSION_OFFSET, 0);
        refused(sb, VERSION_OFFSET, "never completely created");
    }

    @Test
    void superblockUnknownVersion() {
        TestFiles.writeInt(sb, VERSION_OFFSET, 2);
        refused(sb, VERSION_OFFSET, "unknown layout version 2");
    }

    @Test
    void superblockIncompatibleCompatString() {
        TestFiles.writeString(sb, COMPAT_OFFSET, "pkstore-pkernfs-v2", COMPAT_LENGTH);
        refused(sb, COMPAT_OFFSET, "incompatible format \"pkstore-pkernfs-v2\"");
    }

    @Test
    void superblockBadChecksum() {
        TestFiles.flipBit(sb, CREATED_OFFSET, 0);
        refused(sb, CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void superblockTruncated() {
        TestFiles.truncate(sb, 60);
        refused(sb, 60, "truncated");
    }

    @Test
    void superblockTooLong() {
        TestFiles.extend(sb, 4096);
        refused(sb, SIZE, "size mismatch");
    }

    @Test
    void superblockBadCleanFlag() {
        TestFiles.writeInt(sb, CLEAN_OFFSET, 2);
        refused(sb, CLEAN_OFFSET, "clean flag 2");
    }

    @Test
    void superblockTablePaCursorOutOfItsWindow() {
        TestFiles.writeLong(sb, NEXT_TABLE_PA_OFFSET, FIRST_MEMORY_PA);
        refused(sb, NEXT_TABLE_PA_OFFSET, "next table PA");
    }

    @Test
    void superblockMemoryPaCursorNotAligned() {
        TestFiles.writeLong(sb, NEXT_MEMORY_PA_OFFSET, FIRST_MEMORY_PA + 4096);
        refused(sb, NEXT_MEMORY_PA_OFFSET, "next guest memory PA");
    }

    @Test
    void corruptPageTableFile() {
        Path pt = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("dom1" + PkernfsMount.PGTABLE_SUFFIX);
        TestFiles.flipBit(pt, PageTableFileDescriptor.OWNER_ID_OFFSET, 1);
        refused(pt, PageTableFileDescriptor.CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void truncatedIommuTableFile() {
        Path hw = dir.resolve(PkernfsMount.IOMMU_DIR).resolve("unit0" + PkernfsMount.IOMMU_SUFFIX);
        TestFiles.truncate(hw, 5000);
        refused(hw, 5000, "truncated");
    }

    @Test
    void pageTableFileWithABadRoot() {
        Path pt = dir.resolve(PkernfsMount.PGTABLES_DIR).resolve("dom1" + PkernfsMount.PGTABLE_SUFFIX);
        TestFiles.writeLong(pt, PageTableFileDescriptor.ROOT_PA_OFFSET, 12);
        refused(pt, PageTableFileDescriptor.ROOT_PA_OFFSET, "root table PA");
    }

    @Test
    void corruptGuestMemoryFile() {
        Path g = dir.resolve(PkernfsMount.MEM_DIR).resolve("vm" + PkernfsMount.MEM_SUFFIX);
        TestFiles.writeInt(g, GuestMemoryFile.VERSION_OFFSET, 0);
        refused(g, GuestMemoryFile.VERSION_OFFSET, "never completely created");
    }

    @Test
    void corruptIntentJournal() {
        Path j = dir.resolve(IntentJournal.FILE_NAME);
        TestFiles.writeLong(j, IntentJournal.MAGIC_OFFSET, 5);
        refused(j, IntentJournal.MAGIC_OFFSET, "wrong magic");
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
