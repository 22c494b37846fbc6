package org.pkstore.persist;

import java.util.zip.CRC32C;

/** CRC-32C over a region of a mapped file: every pkernfs header is checksummed the same way. */
final class Checksums {
    private Checksums() {}

    static long crc32c(FileBytes region, long offset, int length) {
        byte[] buf = new byte[length];
        region.read(offset, buf, 0, length);
        CRC32C crc = new CRC32C();
        crc.update(buf, 0, length);
        return crc.getValue();
    }

    /**
     * CRC-32C of a header's bytes [0, length) as they will read once the version word holds
     * {@code version}: computed without storing the version, so that the version word is written
     * exactly once, last, when the file is complete.
     */
    static long headerCrc32c(MappedRegion region, int length, int versionOffset, int version) {
        byte[] buf = new byte[length];
        region.read(0, buf, 0, length);
        java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.nativeOrder()).putInt(versionOffset, version);
        return crc32c(buf, 0, length);
    }

    static long crc32c(byte[] buf, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(buf, off, len);
        return crc.getValue();
    }
}
