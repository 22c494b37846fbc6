package org.pkstore.persist.registry;

import org.pkstore.persist.PersistException;
import org.pkstore.persist.PersistentStores;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What the recovering boots did to the registries: {@code registry/recovery.log}, one line per
 * repair Chronicle Map's recovery reported (and one per recovering boot), so that {@code pkstore
 * inspect} can show after the fact what a crash cost. UTF-8 text, one record a line:
 * <pre>
 *   GENERATION TAB REGISTRY TAB WHAT
 * </pre>
 * REGISTRY is {@code -} on the line that opens a recovering boot ("recovering boot: N repairs").
 * The file keeps the last {@value #MAX_LINES} lines; it is rewritten whole under a temporary name
 * and renamed, so a kill leaves the previous log or the new one, never a torn one. It is bookkeeping
 * only: no boot reads it, and a damaged one is shown as it is (lines that do not parse are skipped).
 */
public final class RegistryRecoveryLog {
    public static final String FILE_NAME = "recovery.log";
    static final int MAX_LINES = 256;
    /** Bounded read: a log larger than this (damaged, or not ours) is read only this far. */
    static final int MAX_BYTES = 64 << 10;

    public record Line(long generation, String registry, String what) {
        String encode() {
            return generation + "\t" + registry + "\t" + what.replace('\t', ' ').replace('\n', ' ');
        }
    }

    private RegistryRecoveryLog() {}

    public static Path fileOf(Path mountDir) {
        return mountDir.resolve(Registries.DIR).resolve(FILE_NAME);
    }

    /** The lines of the mount's log, oldest first; empty when there is none. */
    public static List<Line> read(Path mountDir) {
        Path f = fileOf(mountDir);
        List<Line> out = new ArrayList<>();
        if (!Files.isRegularFile(f)) {
            return out;
        }
        try (InputStream in = Files.newInputStream(f)) {
            String text = new String(in.readNBytes(MAX_BYTES), StandardCharsets.UTF_8);
            for (String l : text.split("\n")) {
                String[] parts = l.split("\t", 3);
                if (parts.length == 3 && parts[0].matches("\\d{1,18}")) {
                    out.add(new Line(Long.parseLong(parts[0]), parts[1], parts[2]));
                }
            }
            return out;
        } catch (IOException e) {
            throw new PersistException(f + ": " + e.getMessage(), e);
        }
    }

    /** Appends one recovering boot's lines (its summary line first), keeping the last {@value #MAX_LINES}. */
    static void append(Path mountDir, long generation, List<Line> repairs) {
        List<Line> all = read(mountDir);
        all.add(new Line(generation, "-", "recovering boot: " + repairs.size() + " repair(s) by Chronicle Map recovery"));
        all.addAll(repairs);
        List<Line> kept = all.subList(Math.max(0, all.size() - MAX_LINES), all.size());
        StringBuilder text = new StringBuilder();
        for (Line l : kept) {
            text.append(l.encode()).append('\n');
        }
        Path f = fileOf(mountDir);
        Path tmp = f.resolveSibling(FILE_NAME + ".creating");
        try {
            Files.createDirectories(f.getParent());
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            PersistentStores.store(PersistentStores.Kind.FILE_RENAME);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new PersistException("cannot write " + f + ": " + e.getMessage(), e);
        }
    }
}
