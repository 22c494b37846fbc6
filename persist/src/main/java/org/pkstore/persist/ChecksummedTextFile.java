package org.pkstore.persist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The layout of pkstore's small text records (the handover record, registry seals): US-ASCII lines,
 * the first a compatibility string, the last the CRC-32C of every byte before it:
 * <pre>
 *   COMPAT\n
 *   key value ...\n         (one or more lines, the record's own)
 *   crc32c 0x%08x\n
 * </pre>
 * Written whole under {@code NAME.tmp} and renamed over the file (one counted
 * {@link PersistentStores.Kind#FILE_RENAME}), so a kill leaves the old record or the new one.
 */
public final class ChecksummedTextFile {
    private static final String CRC_KEY = "crc32c ";

    private ChecksummedTextFile() {}

    /** Writes {@code compat} then {@code body} (whole lines) and the checksum line, atomically. */
    public static void write(Path file, String compat, CharSequence body) {
        String text = compat + "\n" + body;
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        StringBuilder crcLine = new StringBuilder(text.length() + CRC_KEY.length() + 11).append(text).append(CRC_KEY);
        String all = appendHex32(crcLine, (int) Checksums.crc32c(bytes, 0, bytes.length)).append('\n').toString();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(tmp, all.getBytes(StandardCharsets.US_ASCII));
            PersistentStores.store(PersistentStores.Kind.FILE_RENAME);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new PersistException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    /**
     * Appends {@code value} as {@code 0x} and eight lower-case hex digits (what {@code "0x%08x"}
     * prints): a seal has one per 64 KiB chunk, and the unmount writes them in a JVM whose
     * Formatter code is cold (String.format cost a 1M-mapping unmount tens of milliseconds).
     */
    public static StringBuilder appendHex32(StringBuilder sb, int value) {
        sb.append('0').append('x');
        for (int shift = 28; shift >= 0; shift -= 4) {
            sb.append(HEX_DIGITS[(value >>> shift) & 0xf]);
        }
        return sb;
    }

    /**
     * The record's lines, the compatibility line first (null when the file does not exist), refusing
     * with file, offset and reason a truncated, modified or foreign one. {@code what} names the record
     * in the reasons ("record", "seal"), {@code compatName} in the incompatibility reason.
     */
    public static String[] readLines(Path file, String compat, String what, String compatName) {
        if (!Files.exists(file)) {
            return null;
        }
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PersistException(file + ": " + e.getMessage(), e);
        }
        String text = new String(all, StandardCharsets.US_ASCII);
        int crcLine = text.lastIndexOf(CRC_KEY);
        if (crcLine < 0 || (crcLine > 0 && text.charAt(crcLine - 1) != '\n')) {
            throw new CorruptFileException(file, all.length, "no crc32c line: the " + what + " is truncated");
        }
        long stored;
        try {
            stored = Long.decode(text.substring(crcLine + CRC_KEY.length()).trim());
        } catch (NumberFormatException e) {
            throw new CorruptFileException(file, crcLine, "unreadable crc32c line");
        }
        if (stored != Checksums.crc32c(all, 0, crcLine)) {
            throw new CorruptFileException(file, crcLine, "checksum mismatch: the " + what + " was modified or torn");
        }
        String[] lines = text.substring(0, crcLine).split("\n");
        if (!compat.equals(lines[0])) {
            throw new CorruptFileException(file, 0, "incompatible " + compatName + " \"" + lines[0] + "\", expected " + compat);
        }
        return lines;
    }
}
