package org.pkstore.persist;

import java.nio.charset.StandardCharsets;

/** NUL-padded ASCII fields of fixed width, as the compatibility strings in every header. */
final class FixedString {
    private FixedString() {}

    static void write(MappedRegion r, long offset, String s, int width) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        if (b.length >= width) {
            throw new IllegalArgumentException("'" + s + "' does not fit in " + width + " bytes");
        }
        byte[] field = new byte[width];
        System.arraycopy(b, 0, field, 0, b.length);
        r.write(offset, field, 0, width);
    }

    /** Reads up to the first NUL; non-printable bytes are shown as '?', so a foreign file reads safely. */
    static String read(FileBytes r, long offset, int width) {
        byte[] field = new byte[width];
        r.read(offset, field, 0, width);
        int n = 0;
        while (n < width && field[n] != 0) {
            if (field[n] < 0x20 || field[n] > 0x7e) {
                field[n] = '?';
            }
            n++;
        }
        return new String(field, 0, n, StandardCharsets.US_ASCII);
    }
}
