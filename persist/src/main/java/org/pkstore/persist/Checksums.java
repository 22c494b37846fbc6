package org.pkstore.persist;

import java.util.zip.CRC32C;

/** CRC-32C over a region of a mapped file: every pkernfs header is checksummed the same way. */
final class Checksums {
    private Checksums() {}

    static long crc32c(MappedRegion region, long offset, int length) {
        byte[] buf = new byte[length];
        region.read(offset, buf, 0, length);
        CRC32C crc = new CRC32C();
        crc.update(buf, 0, length);
        return crc.getValue();
    }

    static long crc32c(byte[] buf, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(buf, off, len);
        return crc.getValue();
    }
}
