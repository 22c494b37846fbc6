package org.pkstore.persist.registry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The first 12 bytes of a Chronicle Map 2026.1 file: the part that says whether the file is
 * complete. Layout (Chronicle Map spec "Data Store Memory Layout" and "Self Bootstrapping Data";
 * {@code net.openhft.chronicle.hash.impl.SizePrefixedBlob} in the 2026.1 jar):
 *
 * <pre>
 *   0                   8                   12
 *   +-------------------+-------------------+---------------------------------
 *   | header checksum   |    size word      | self-bootstrapping header ...
 *   | (xxHash, LE u64)  |    (LE u32)       | (SIZE bytes of text wire)
 *   +-------------------+-------------------+---------------------------------
 *   size word:  bit 31 NOT_COMPLETE | bit 30 META_DATA | bits 29..0 SIZE
 * </pre>
 *
 * Chronicle sets NOT_COMPLETE while it creates a file (header written, data area being zeroed) and
 * while {@code recoverPersistedTo} works on it, and clears it last. Any open of a file with
 * NOT_COMPLETE set, recovery included, first polls it 600 times 100 ms
 * ({@code ChronicleMapBuilder.waitUntilReady}): a writer killed in either leaves a file whose next
 * open stalls 60 s. Chronicle treats a size word that is not positive as not ready.
 */
final class ChronicleMapHeader {
    static final int SIZE_WORD_OFFSET = 8;
    static final int LENGTH = 12;
    static final int NOT_COMPLETE = 1 << 31;
    static final int SIZE_MASK = (1 << 30) - 1;

    private ChronicleMapHeader() {}

    /** The size word, or 0 for a file too short to have one. */
    static int sizeWord(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < LENGTH) {
                return 0;
            }
            ByteBuffer b = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b, SIZE_WORD_OFFSET + b.position()) >= 0) {
                // a regular file returns what it has
            }
            return b.hasRemaining() ? 0 : b.getInt(0);
        }
    }

    /** What Chronicle's open waits for: NOT_COMPLETE clear and a header size. */
    static boolean isComplete(int sizeWord) {
        return sizeWord > 0;
    }

    /**
     * No header at all: the file was made by a creation killed before Chronicle wrote one (empty
     * file, or no size yet). No entry was ever put in it: puts only follow a complete creation.
     */
    static boolean hasNoHeader(int sizeWord) {
        return (sizeWord & SIZE_MASK) == 0;
    }

    /**
     * Clears NOT_COMPLETE so that {@code recoverPersistedTo} starts at once; only on a private copy
     * about to be recovered with {@code sameBuilderConfig = true}, which rewrites the whole header
     * from the builder, sets NOT_COMPLETE again and clears it when recovery is done.
     */
    static void clearNotComplete(Path file, int sizeWord) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(0, sizeWord & ~NOT_COMPLETE);
            while (b.hasRemaining()) {
                ch.write(b, SIZE_WORD_OFFSET + b.position());
            }
        }
    }
}
