package org.pkstore.persist;

import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.core.Jvm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Child of {@link ChronicleClassPathTest}: initialises Chronicle Core's {@code Jvm} (whose
 * initialiser tries the affinity library when no thread has a JUnit frame, as here) and maps a file
 * through Chronicle Bytes, then acknowledges what it saw. Args: ACK_FILE MAPPED_FILE.
 */
public final class ChronicleStartChild {
    private ChronicleStartChild() {}

    public static void main(String[] args) throws IOException {
        ChronicleNativeBindings.select();
        boolean junitFrames = Thread.getAllStackTraces().values().stream()
                .flatMap(Arrays::stream)
                .anyMatch(frame -> frame.getClassName().contains(".junit"));
        Jvm.getProcessId(); // Jvm.<clinit>: the Class.forName of net.openhft.affinity.Affinity
        boolean affinityLoadable = loadable("net.openhft.affinity.Affinity");
        long read;
        try (MappedBytes bytes = MappedBytes.singleMappedBytes(Path.of(args[1]).toFile(), 4096)) {
            bytes.writeLong(0, 42);
            read = bytes.readVolatileLong(0);
        }
        Files.writeString(Path.of(args[0]), "started junit-frames=" + junitFrames + " affinity-loadable="
                + affinityLoadable + " read=" + read + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        System.exit(0);
    }

    private static boolean loadable(String name) {
        try {
            Class.forName(name, false, ChronicleStartChild.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
