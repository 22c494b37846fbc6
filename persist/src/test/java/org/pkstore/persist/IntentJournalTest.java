package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.pkstore.persist.IntentJournal.*;
import static org.pkstore.persist.Refusals.assertRefused;

/** The intent journal in one JVM; the kill between begin and end is in KillRecoveryTest. */
class IntentJournalTest {
    @TempDir
    Path tmp;

    private Path created() {
        Path f = tmp.resolve(FILE_NAME);
        IntentJournal.openOrCreate(f).close();
        return f;
    }

    @Test
    void beginEndPending() {
        Path f = tmp.resolve(FILE_NAME);
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            assertNull(j.pending());
            assertEquals(0, j.sequence());
            byte[] payload = "map 0x1000 -> 0x2000".getBytes(StandardCharsets.UTF_8);
            j.begin(5, payload);
            assertEquals(1, j.sequence());
            Intent i = j.pending();
            assertEquals(1, i.seq());
            assertEquals(5, i.op());
            assertArrayEquals(payload, i.payload());
            assertThrows(IllegalStateException.class, () -> j.begin(6, new byte[0]), "one slot");
            // an observer sees the active intent too
            try (IntentJournal ro = IntentJournal.openReadOnly(f)) {
                assertEquals(5, ro.pending().op());
                j.end();
                assertNull(ro.pending());
                assertThrows(PersistException.class, () -> ro.begin(1, new byte[0]), "read-only");
            }
            assertNull(j.pending());
            j.begin(6, new byte[0]);
            assertEquals(2, j.pending().seq());
            assertEquals(0, j.pending().payload().length);
            j.end();
            byte[] max = new byte[MAX_PAYLOAD];
            max[MAX_PAYLOAD - 1] = 9;
            j.begin(7, max);
            assertArrayEquals(max, j.pending().payload());
            j.end();
            assertThrows(IllegalArgumentException.class, () -> j.begin(8, new byte[MAX_PAYLOAD + 1]));
            assertNull(j.pending());
        }
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            assertEquals(3, j.sequence(), "the sequence survives reopening");
            assertNull(j.pending());
        }
    }

    @Test
    void activeIntentSurvivesReopen() {
        Path f = tmp.resolve(FILE_NAME);
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            j.begin(9, new byte[] {1, 2, 3});
        }
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            Intent i = j.pending();
            assertEquals(9, i.op());
            assertArrayEquals(new byte[] {1, 2, 3}, i.payload());
        }
    }

    @Test
    void pendingWithADamagedPayloadIsRefused() {
        Path f = tmp.resolve(FILE_NAME);
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            j.begin(9, new byte[] {1, 2, 3});
        }
        TestFiles.flipBit(f, PAYLOAD_OFFSET + 1, 0);
        try (IntentJournal j = IntentJournal.openOrCreate(f)) {
            CorruptFileException e = assertThrows(CorruptFileException.class, j::pending);
            assertEquals(PAYLOAD_CRC_OFFSET, e.offset());
            assertEquals(f, e.file());
        }
    }

    private void refused(Path f, long offset, String reason) {
        assertRefused(tmp, f, offset, reason, () -> IntentJournal.openReadOnly(f).close());
        assertRefused(tmp, f, offset, reason, () -> IntentJournal.openOrCreate(f).close());
    }

    @Test
    void wrongMagic() {
        Path f = created();
        TestFiles.writeLong(f, MAGIC_OFFSET, 1);
        refused(f, MAGIC_OFFSET, "wrong magic");
    }

    @Test
    void versionZero() {
        Path f = created();
        TestFiles.writeInt(f, VERSION_OFFSET, 0);
        refused(f, VERSION_OFFSET, "never completely created");
    }

    @Test
    void unknownVersion() {
        Path f = created();
        TestFiles.writeInt(f, VERSION_OFFSET, 2);
        refused(f, VERSION_OFFSET, "unknown layout version 2");
    }

    @Test
    void incompatibleCompatString() {
        Path f = created();
        TestFiles.writeString(f, COMPAT_OFFSET, "pkstore-intent-v2", COMPAT_LENGTH);
        TestFiles.fixChecksum(f, CHECKSUM_OFFSET); // a consistent header of another format
        refused(f, COMPAT_OFFSET, "incompatible format \"pkstore-intent-v2\"");
    }

    @Test
    void badChecksum() {
        Path f = created();
        TestFiles.flipBit(f, COMPAT_OFFSET + 20, 0); // the NUL padding of the compat string
        refused(f, CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void truncated() {
        Path f = created();
        TestFiles.truncate(f, 64);
        refused(f, 64, "truncated");
    }

    @Test
    void tooLong() {
        Path f = created();
        TestFiles.extend(f, 1);
        refused(f, SIZE, "size mismatch");
    }

    @Test
    void badState() {
        Path f = created();
        TestFiles.writeInt(f, STATE_OFFSET, 2);
        refused(f, STATE_OFFSET, "state 2");
    }

    @Test
    void badPayloadLength() {
        Path f = created();
        TestFiles.writeInt(f, LENGTH_OFFSET, MAX_PAYLOAD + 1);
        refused(f, LENGTH_OFFSET, "payload length 257");
    }
}
