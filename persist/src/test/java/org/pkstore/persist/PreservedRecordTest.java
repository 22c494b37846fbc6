package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.registry.ReattachState;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.pkstore.persist.Refusals.assertRefused;

/** The preserved record: round trip, a torn update falls back to the previous slot, damage is refused. */
class PreservedRecordTest {
    @TempDir
    Path dir;

    private static ReattachState state(int vmid, int faults) {
        ReattachState.Container c = new ReattachState.Container(1, 1, vmid, 64, 0, 7, vmid, "vm0-c1",
                List.of(1), List.of(100, 101), List.of(new ReattachState.Binding(100, 1, 3, 0x1234_5000L, 100)),
                faults, faults == 0 ? 0 : 5, faults == 0 ? 0 : 4 + faults);
        ReattachState.Container d = new ReattachState.Container(2, 1, vmid, 64, 0, 8, vmid, "vm0-c2",
                List.of(2), List.of(), List.of(), 0, 0, 0);
        return new ReattachState(List.of(c, d), false);
    }

    @Test
    void roundTripsTheNewestSlotAndTheOperationWord() {
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 3)) {
            r.write(state(5, 0), 3);
            r.write(state(6, 2), 3);
            r.beginOperation(0x3b71);
        }
        Path file = PreservedRecord.pathIn(dir);
        PreservedRecord.Contents c = PreservedRecord.read(file);
        assertEquals(2, c.sequence());
        assertEquals(3, c.generation());
        assertEquals(0x3b71, c.operationUnderWay(), "an ioctl was under way: the record may be behind");
        assertNull(c.state().differenceFrom(state(6, 2)), c.state().toString());
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 4)) {
            r.write(state(7, 0), 4);
        }
        c = PreservedRecord.read(file);
        assertEquals(3, c.sequence());
        assertEquals(0, c.operationUnderWay());
        assertNull(c.state().differenceFrom(state(7, 0)));
    }

    @Test
    void aTornUpdateLeavesThePreviousSlot() throws Exception {
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 1)) {
            r.write(state(5, 0), 1); // slot A
            r.write(state(6, 0), 1); // slot B, the newest
        }
        Path file = PreservedRecord.pathIn(dir);
        flipByte(file, PreservedRecord.SLOT_B + PreservedRecord.ENTRIES_OFFSET + 8); // B's first VMID: CRC fails
        PreservedRecord.Contents c = PreservedRecord.read(file);
        assertEquals(1, c.sequence());
        assertNull(c.state().differenceFrom(state(5, 0)));
    }

    @Test
    void bothSlotsDamagedIsRefusedNamingSlotA() throws Exception {
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 1)) {
            r.write(state(5, 0), 1);
            r.write(state(6, 0), 1);
        }
        Path file = PreservedRecord.pathIn(dir);
        flipByte(file, PreservedRecord.SLOT_A + PreservedRecord.ENTRIES_OFFSET);
        flipByte(file, PreservedRecord.SLOT_B + PreservedRecord.ENTRIES_OFFSET);
        assertRefused(dir, file, PreservedRecord.SLOT_A, "no valid slot", () -> PreservedRecord.read(file));
    }

    @Test
    void truncatedForeignAndDamagedHeadersAreRefused() throws Exception {
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 1)) {
            r.write(state(5, 0), 1);
        }
        Path file = PreservedRecord.pathIn(dir);
        byte[] good = Files.readAllBytes(file);

        flipByte(file, PreservedRecord.COMPAT_OFFSET + 3);
        assertRefused(dir, file, PreservedRecord.COMPAT_OFFSET, "compatibility", () -> PreservedRecord.read(file));
        Files.write(file, good);
        flipByte(file, PreservedRecord.MAGIC_OFFSET);
        assertRefused(dir, file, PreservedRecord.MAGIC_OFFSET, "bad magic", () -> PreservedRecord.read(file));
        Files.write(file, good);
        flipByte(file, PreservedRecord.OPERATION_OFFSET - 9); // inside the header CRC's range, not a checked field
        assertRefused(dir, file, PreservedRecord.HEADER_CRC_OFFSET, "header checksum", () -> PreservedRecord.read(file));
        Files.write(file, good);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(PreservedRecord.SLOT_B + 100);
        }
        assertRefused(dir, file, PreservedRecord.SLOT_B + 100, "truncated", () -> PreservedRecord.read(file));
        Files.write(file, new byte[(int) PreservedRecord.FILE_SIZE]);
        assertRefused(dir, file, PreservedRecord.MAGIC_OFFSET, "bad magic", () -> PreservedRecord.read(file));
    }

    @Test
    void aRefusedRecordIsWrittenAgainByItsWriter() throws Exception {
        Path file = PreservedRecord.pathIn(dir);
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[100]);
        try (PreservedRecord r = PreservedRecord.openOrCreate(dir, 2)) {
            r.write(state(9, 1), 2);
        }
        assertNull(PreservedRecord.read(file).state().differenceFrom(state(9, 1)));
    }

    private static void flipByte(Path file, long offset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x5a);
        }
    }
}
