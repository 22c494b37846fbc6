package org.pkstore.persist;

import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Asserts that opening a damaged file is refused with the right file, offset and reason, and writes nothing. */
final class Refusals {
    private Refusals() {}

    /** Runs {@code open}, which must throw CorruptFileException, and checks that no file under {@code dir} changed. */
    static CorruptFileException assertRefused(Path dir, Path file, long offset, String reasonPart, Executable open) {
        Map<String, TestFiles.FileState> before = TestFiles.dirState(dir);
        CorruptFileException e = assertThrows(CorruptFileException.class, open);
        assertEquals(file, e.file(), "file named by " + e.getMessage());
        assertEquals(offset, e.offset(), "offset named by " + e.getMessage());
        assertTrue(e.reason().contains(reasonPart), "reason '" + e.reason() + "' should contain '" + reasonPart + "'");
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(e.reason()), e.getMessage());
        assertEquals(before, TestFiles.dirState(dir), "a refused open must modify nothing (SHA-256, size, mtime)");
        return e;
    }
}
