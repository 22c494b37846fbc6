package org.pkstore.persist.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.PkernfsMount;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each recovering boot leaves a line in registry/recovery.log; clean boots leave none. */
class RegistryRecoveryLogTest {
    @TempDir
    Path dir;

    @Test
    void recoveringBootsAreRecordedAndCleanBootsAreNot() {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            m.registries().vmids.put(7, new VmidRecord(7, 1, 0));
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertEquals(List.of(), RegistryRecoveryLog.read(dir), "a clean end recovers nothing");
            m.abandon(); // as SIGKILL: no clean unmount
        }
        long recoveringGeneration;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            assertTrue(m.recovering());
            recoveringGeneration = m.generation();
            assertEquals(new VmidRecord(7, 1, 0), m.registries().vmids.get(7));
            m.abandon();
        }
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            List<RegistryRecoveryLog.Line> log = RegistryRecoveryLog.read(dir);
            List<RegistryRecoveryLog.Line> summaries = log.stream().filter(l -> l.registry().equals("-")).toList();
            assertEquals(2, summaries.size(), log::toString);
            assertEquals(recoveringGeneration, summaries.get(0).generation(), log::toString);
            assertEquals(m.generation(), summaries.get(1).generation(), log::toString);
            assertTrue(summaries.get(1).what().startsWith("recovering boot: "), log::toString);
        }
    }

    @Test
    void aDamagedOrForeignLogIsReadBoundedAndWithoutItsBadLines() throws IOException {
        Path f = RegistryRecoveryLog.fileOf(dir);
        Files.createDirectories(f.getParent());
        StringBuilder text = new StringBuilder("3\tvmids\trepaired a segment lock\nnot a line\n\u0000\u0001\n4\t-\trecovering boot: 0 repair(s)\n");
        text.append("x".repeat(RegistryRecoveryLog.MAX_BYTES * 2));
        Files.writeString(f, text, StandardCharsets.UTF_8);
        List<RegistryRecoveryLog.Line> log = RegistryRecoveryLog.read(dir);
        assertEquals(List.of(new RegistryRecoveryLog.Line(3, "vmids", "repaired a segment lock"),
                new RegistryRecoveryLog.Line(4, "-", "recovering boot: 0 repair(s)")), log);
    }

    @Test
    void theLogKeepsItsLastLines() {
        for (int i = 0; i < RegistryRecoveryLog.MAX_LINES + 10; i++) {
            RegistryRecoveryLog.append(dir, i, List.of());
        }
        List<RegistryRecoveryLog.Line> log = RegistryRecoveryLog.read(dir);
        assertEquals(RegistryRecoveryLog.MAX_LINES, log.size());
        assertEquals(RegistryRecoveryLog.MAX_LINES + 9, log.get(log.size() - 1).generation());
    }
}
