package org.pkstore.persist.registry;

import net.openhft.chronicle.algo.hashing.LongHashFunction;
import org.pkstore.persist.CorruptFileException;
import org.pkstore.persist.PersistException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The header Chronicle Map (the version the root pom pins) writes at the start of every persisted
 * map, read without opening the map, so that a truncated or altered registry is refused before
 * {@code recoverPersistedTo} re-extends or rewrites it. Layout (ChronicleMapBuilder.writeHeader,
 * SizePrefixedBlob; little-endian):
 * <pre>
 *  0       8            12                          12 + size
 *  +-------+------------+---------------------------+-------------------------------------------
 *  | xxh64 | size word  | self-bootstrapping header | global mutable state, segment headers, tiers
 *  | (r39) | ready bit, | (TextWire text: key/value |
 *  |       | 30-bit size| types and the geometry)   |
 *  +-------+------------+---------------------------+-------------------------------------------
 * </pre>
 * The checksum is {@code LongHashFunction.xx_r39()} over the size word and the text (the size word
 * taken with the ready bit set, as it was when the checksum was computed). What it does not cover
 * is everything after the text: the entries have their own checksums (checked only by a recovery),
 * and the file length is only bounded from below by the geometry the text states
 * ({@code actualSegments} x ({@code segmentHeaderSize} + {@code tierSize})): extra tiers may follow.
 * The exact length and content of a cleanly closed registry are in its {@link RegistrySeal}.
 */
public final class ChronicleMapFileHeader {
    public static final int CHECKSUM_OFFSET = 0;
    public static final int SIZE_WORD_OFFSET = 8;
    public static final int TEXT_OFFSET = 12;
    /** SizePrefixedBlob: bit 31 set while not complete, bit 30 marks metadata, 30 bits of size. */
    static final int NOT_COMPLETE = 0x8000_0000;
    static final int SIZE_MASK = 0x3FFF_FFFF;
    /** ChronicleMapBuilder's MAX_BOOTSTRAPPING_HEADER_SIZE. */
    static final int MAX_TEXT_SIZE = 16 << 10;

    private final boolean complete;
    private final int textSize;
    private final long minimumLength;

    private ChronicleMapFileHeader(boolean complete, int textSize, long minimumLength) {
        this.complete = complete;
        this.textSize = textSize;
        this.minimumLength = minimumLength;
    }

    /** False when the map was left being created or recovered (the next recovery completes it). */
    public boolean complete() { return complete; }
    public int textSize() { return textSize; }
    /** The least length the header's geometry needs: header, segment headers, one tier per segment. */
    public long minimumLength() { return minimumLength; }

    /** Reads and checks the header and the file length against it; refuses with file, offset and reason. */
    public static ChronicleMapFileHeader read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long length = ch.size();
            if (length < TEXT_OFFSET) {
                throw new CorruptFileException(file, length, "truncated: " + length
                        + " bytes, shorter than a Chronicle Map header (" + TEXT_OFFSET + ")");
            }
            // one read covers the longest header Chronicle writes: no second read for the text
            ByteBuffer all = ByteBuffer.allocate((int) Math.min(length, TEXT_OFFSET + MAX_TEXT_SIZE))
                    .order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, all, 0);
            int sizeWord = all.getInt(SIZE_WORD_OFFSET);
            int textSize = sizeWord & SIZE_MASK;
            if (textSize <= 0 || textSize > MAX_TEXT_SIZE || (sizeWord & ~(NOT_COMPLETE | SIZE_MASK)) != 0) {
                throw new CorruptFileException(file, SIZE_WORD_OFFSET, String.format(
                        "size word 0x%08x is not a Chronicle Map data header of 1..%d bytes", sizeWord, MAX_TEXT_SIZE));
            }
            if (length < TEXT_OFFSET + textSize) {
                throw new CorruptFileException(file, length, "truncated: " + length + " bytes, the header alone is "
                        + (TEXT_OFFSET + textSize));
            }
            all.putInt(SIZE_WORD_OFFSET, sizeWord & SIZE_MASK); // checksummed as ready
            long computed = LongHashFunction.xx_r39().hashBytes(all, SIZE_WORD_OFFSET, textSize + 4);
            long stored = all.getLong(CHECKSUM_OFFSET);
            if (computed != stored) {
                throw new CorruptFileException(file, CHECKSUM_OFFSET, String.format("Chronicle Map header checksum "
                        + "mismatch: stored 0x%016x, computed 0x%016x over bytes [8, %d): the header was altered",
                        stored, computed, TEXT_OFFSET + textSize));
            }
            String text = new String(all.array(), TEXT_OFFSET, textSize, StandardCharsets.ISO_8859_1);
            long segments = field(text, "actualSegments");
            long segmentHeader = field(text, "segmentHeaderSize");
            long tier = field(text, "tierSize");
            if (segments <= 0 || segmentHeader <= 0 || tier <= 0) {
                throw new CorruptFileException(file, TEXT_OFFSET, "the Chronicle Map header states no geometry "
                        + "(actualSegments, segmentHeaderSize, tierSize)");
            }
            long minimum = TEXT_OFFSET + textSize + segments * (segmentHeader + tier);
            if (length < minimum) {
                throw new CorruptFileException(file, length, "truncated: " + length + " bytes, the header's geometry ("
                        + segments + " segments of " + tier + "-byte tiers) needs at least " + minimum);
            }
            return new ChronicleMapFileHeader((sizeWord & NOT_COMPLETE) == 0, textSize, minimum);
        } catch (IOException e) {
            throw new PersistException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The value of the last {@code NAME: DIGITS} in the header text whose name starts a word, or
     * -1: what the regex {@code \bNAME: (\d+)} finds last, by String.indexOf (a cold mount reads
     * nine headers; a regex there ran interpreted).
     */
    static long field(String text, String name) {
        String key = name + ": ";
        for (int at = text.lastIndexOf(key); at >= 0; at = at == 0 ? -1 : text.lastIndexOf(key, at - 1)) {
            if (at > 0 && isWordChar(text.charAt(at - 1))) {
                continue;
            }
            int from = at + key.length();
            int to = from;
            while (to < text.length() && text.charAt(to) >= '0' && text.charAt(to) <= '9') {
                to++;
            }
            if (to > from) {
                return Long.parseLong(text, from, to, 10);
            }
        }
        return -1;
    }

    private static boolean isWordChar(char c) {
        return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    // The size word alone, for the open/recover path (Registry): Chronicle sets NOT_COMPLETE while it
    // creates a file and while recoverPersistedTo works on it, and clears it last. Any open of a file
    // with NOT_COMPLETE set, recovery included, first polls it 600 x 100 ms
    // (ChronicleMapBuilder.waitUntilReady): a writer killed in either leaves a file whose next open
    // stalls 60 s unless the bit is cleared on a private copy first (docs/FORMAT.md 8.2).

    /** The size word, or 0 for a file too short to have one. */
    static int sizeWord(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < TEXT_OFFSET) {
                return 0;
            }
            ByteBuffer b = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, b, SIZE_WORD_OFFSET);
            return b.getInt(0);
        }
    }

    /** What Chronicle's open waits for: NOT_COMPLETE clear and a header size (a non-positive word is not ready). */
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

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long pos = at;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                break;
            }
            pos += n;
        }
        b.clear();
    }
}
