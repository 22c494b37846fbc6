package org.pkstore.persist.registry;

import org.pkstore.persist.ChecksummedTextFile;
import org.pkstore.persist.CorruptFileException;
import org.pkstore.persist.PersistException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * What a registry file was when the mount was last cleanly closed: its length and a CRC-32C of
 * every 64 KiB chunk, so that a planned boot (and {@code verify}) can tell a truncated or altered
 * registry from a good one and name the first chunk that differs. Chronicle Map's own header
 * checksum covers only its configuration text ({@link ChronicleMapFileHeader}).
 *
 * <p>{@code registry/NAME.seal}, text, written to a temporary name and renamed after the registry
 * was closed by a clean unmount; ends in a CRC-32C line over everything before it:
 * <pre>
 *  pkstore-registry-seal-v1
 *  generation 7
 *  length 21975040
 *  chunk 65536
 *  crc 0x1a2b3c4d 0x00000000 ...     (one per chunk, 16 a line)
 *  crc32c 0x5e6f7a8b
 * </pre>
 * A seal whose generation is not the superblock's was written before the last writer's generation
 * began (that writer changed the registry and did not unmount cleanly): it says nothing and is not
 * used.
 */
public final class RegistrySeal {
    public static final String SUFFIX = ".seal";
    public static final String COMPAT = "pkstore-registry-seal-v1";
    public static final int CHUNK = 64 << 10;
    private static final int PER_LINE = 16;
    /**
     * One read buffer a thread, kept: a fresh direct buffer for each registry cost more than
     * reading the registry (~0.9 ms each, its memory new each time).
     */
    private static final ThreadLocal<ByteBuffer> READ_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(CHUNK));

    private final long generation;
    private final long length;
    private final int[] chunkCrcs;

    private RegistrySeal(long generation, long length, int[] chunkCrcs) {
        this.generation = generation;
        this.length = length;
        this.chunkCrcs = chunkCrcs;
    }

    public long generation() { return generation; }
    public long length() { return length; }

    public static Path fileOf(Path registryFile) {
        String n = registryFile.getFileName().toString();
        return registryFile.resolveSibling(n.substring(0, n.length() - ".cmap".length()) + SUFFIX);
    }

    /** Computes the seal of {@code registryFile} as it is now. */
    public static RegistrySeal of(Path registryFile, long generation) {
        try (FileChannel ch = FileChannel.open(registryFile, StandardOpenOption.READ)) {
            long length = ch.size();
            int chunks = (int) ((length + CHUNK - 1) / CHUNK);
            int[] crcs = new int[chunks];
            ByteBuffer buf = READ_BUFFER.get();
            CRC32C crc = new CRC32C();
            for (int i = 0; i < chunks; i++) {
                buf.clear();
                long pos = (long) i * CHUNK;
                while (buf.hasRemaining() && pos + buf.position() < length) {
                    if (ch.read(buf, pos + buf.position()) < 0) {
                        break;
                    }
                }
                buf.flip();
                crc.reset();
                crc.update(buf);
                crcs[i] = (int) crc.getValue();
            }
            return new RegistrySeal(generation, length, crcs);
        } catch (IOException e) {
            throw new PersistException("cannot read " + registryFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * The length part of {@link #check}, from the file's size alone (one stat, no read): what the
     * boot checks before it writes anything; the content is checked before the registry is opened.
     */
    public void checkLength(Path registryFile) {
        try {
            refuseLength(registryFile, Files.size(registryFile));
        } catch (IOException e) {
            throw new PersistException("cannot read " + registryFile + ": " + e.getMessage(), e);
        }
    }

    private void refuseLength(Path registryFile, long now) {
        if (now != length) {
            throw new CorruptFileException(registryFile, Math.min(now, length), (now < length
                    ? "truncated: " : "length changed: ") + now + " bytes, " + length
                    + " when the mount was cleanly closed (generation " + generation + ")");
        }
    }


    /** Seals every registry file of the mount (after they were closed by a clean unmount). */
    public static void sealAll(Path mountDir, long generation) {
        for (String name : Registries.NAMES) {
            Path f = Registries.fileOf(mountDir, name);
            if (Files.isRegularFile(f)) {
                of(f, generation).write(fileOf(f));
            }
        }
    }

    public void write(Path sealFile) {
        StringBuilder sb = new StringBuilder(64 + chunkCrcs.length * 11);
        sb.append("generation ").append(generation).append('\n');
        sb.append("length ").append(length).append('\n');
        sb.append("chunk ").append(CHUNK).append('\n');
        for (int i = 0; i < chunkCrcs.length; i += PER_LINE) {
            sb.append("crc");
            for (int j = i; j < Math.min(chunkCrcs.length, i + PER_LINE); j++) {
                ChecksummedTextFile.appendHex32(sb.append(' '), chunkCrcs[j]);
            }
            sb.append('\n');
        }
        ChecksummedTextFile.write(sealFile, COMPAT, sb);
    }

    /** Null when there is none; refuses a damaged seal, naming the byte offset of the bad line. */
    public static RegistrySeal read(Path sealFile) {
        String[] lines = ChecksummedTextFile.readLines(sealFile, COMPAT, "seal", "seal");
        if (lines == null) {
            return null;
        }
        long gen = -1;
        long length = -1;
        int[] crcs = new int[16];
        int crcCount = 0;
        long offset = lines[0].length() + 1;
        for (int i = 1; i < lines.length; offset += lines[i].length() + 1, i++) {
            String[] w = lines[i].split(" ");
            try {
                switch (w[0]) {
                    case "generation": gen = Long.parseLong(w[1]); break;
                    case "length": length = Long.parseLong(w[1]); break;
                    case "chunk":
                        if (Integer.parseInt(w[1]) != CHUNK) {
                            throw new CorruptFileException(sealFile, offset, "chunk size " + w[1] + ", expected " + CHUNK);
                        }
                        break;
                    case "crc":
                        for (int j = 1; j < w.length; j++) {
                            if (crcCount == crcs.length) {
                                crcs = Arrays.copyOf(crcs, 2 * crcCount);
                            }
                            if (w[j].length() < 3) {
                                throw new NumberFormatException(w[j]);
                            }
                            crcs[crcCount++] = (int) Long.parseLong(w[j], 2, w[j].length(), 16);
                        }
                        break;
                    default: throw new CorruptFileException(sealFile, offset, "unknown line \"" + w[0] + "\"");
                }
            } catch (ArrayIndexOutOfBoundsException | NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new CorruptFileException(sealFile, offset, "malformed line: " + lines[i]);
            }
        }
        if (gen < 0 || length < 0 || crcCount != (length + CHUNK - 1) / CHUNK) {
            throw new CorruptFileException(sealFile, 0, "incomplete seal: generation, length or chunk checksums missing");
        }
        return new RegistrySeal(gen, length, Arrays.copyOf(crcs, crcCount));
    }

    /**
     * Compares the registry file with this seal; refuses a different length, or names the first
     * chunk whose content differs. Reads the whole file ({@link #checkLength} is the part that does not).
     */
    public void check(Path registryFile) {
        RegistrySeal now = of(registryFile, generation);
        refuseLength(registryFile, now.length);
        for (int i = 0; i < chunkCrcs.length; i++) {
            if (now.chunkCrcs[i] != chunkCrcs[i]) {
                throw new CorruptFileException(registryFile, (long) i * CHUNK, String.format("altered: the %d-byte chunk"
                        + " at this offset has CRC-32C 0x%08x, 0x%08x when the mount was cleanly closed (generation %d)",
                        CHUNK, now.chunkCrcs[i], chunkCrcs[i], generation));
            }
        }
    }
}
