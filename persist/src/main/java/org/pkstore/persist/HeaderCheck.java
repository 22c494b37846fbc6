package org.pkstore.persist;

import java.nio.file.Path;

/**
 * The checks every pkstore file header starts with, in this order: magic, layout version (0 means
 * the creation never finished: the version word is published last), compatibility string, and the
 * CRC-32C of the immutable fields. Each refusal names the file, the field's offset and the reason.
 */
final class HeaderCheck {
    private HeaderCheck() {}

    /** Offsets and expected values of one file kind's common header fields. */
    record Layout(String what, long magic, int versionOffset, int version, int compatOffset, int compatLength,
                  String compat, int checksumOffset) {}

    static void check(Path path, FileBytes r, Layout l) {
        long magic = r.readLong(0);
        if (magic != l.magic()) {
            throw new CorruptFileException(path, 0, String.format("wrong magic 0x%016x: not a pkstore %s", magic, l.what()));
        }
        int version = r.readVolatileInt(l.versionOffset());
        if (version != l.version()) {
            throw new CorruptFileException(path, l.versionOffset(), version == 0
                    ? "layout version is 0: the " + l.what() + " was never completely created"
                    : "unknown layout version " + version + " (this pkstore reads " + l.version() + ")");
        }
        String compat = FixedString.read(r, l.compatOffset(), l.compatLength());
        if (!l.compat().equals(compat)) {
            throw new CorruptFileException(path, l.compatOffset(), "incompatible format \"" + compat + "\", expected \""
                    + l.compat() + "\"");
        }
        long stored = r.readLong(l.checksumOffset());
        long actual = Checksums.crc32c(r, 0, l.checksumOffset());
        if (stored != actual) {
            throw new CorruptFileException(path, l.checksumOffset(), String.format(
                    "header checksum mismatch: stored 0x%08x, computed 0x%08x", stored, actual));
        }
    }
}
