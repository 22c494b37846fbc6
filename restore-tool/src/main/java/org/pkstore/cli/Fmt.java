package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableGeometry;

/** Number formatting and parsing for humans: hex addresses, KiB/MiB/GiB sizes. Allocation-light. */
final class Fmt {
    private Fmt() {}

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** "0x1f". */
    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** "0x000000000000001f": 16 digits. */
    static String hex16(long v) {
        StringBuilder sb = new StringBuilder(18);
        appendHex16(sb, v);
        return sb.toString();
    }

    static void appendHex16(StringBuilder sb, long v) {
        sb.append('0').append('x');
        for (int s = 60; s >= 0; s -= 4) {
            sb.append(HEX[(int) (v >>> s) & 0xF]);
        }
    }

    /** Fixed {@code digits} hex digits after "0x". */
    static void appendHex(StringBuilder sb, long v, int digits) {
        sb.append('0').append('x');
        for (int s = (digits - 1) * 4; s >= 0; s -= 4) {
            sb.append(HEX[(int) (v >>> s) & 0xF]);
        }
    }

    /** "0x0000100000000": 13 digits, enough for a 48-bit address (the width of every column here). */
    static String addr(long v) {
        StringBuilder sb = new StringBuilder(15);
        appendHex(sb, v, 12);
        return sb.toString();
    }

    /** "4.00 KiB", "2.00 MiB", "1.50 GiB", "512 B". */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.2f %s", v, units[u]);
    }

    /** Leaf size name of a level: "1G", "2M", "4K". */
    static String pageName(int level) {
        return level == 1 ? "1G" : level == 2 ? "2M" : level == 3 ? "4K" : "L" + level;
    }

    static long pageBytes(int level) {
        return PageTableGeometry.blockSize(level);
    }

    /** Bytes as a hex string of two digits per byte, no separators. */
    static String bytesHex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(HEX[(x >>> 4) & 0xF]).append(HEX[x & 0xF]);
        }
        return sb.toString();
    }

    /**
     * Parses "0x1f", "31", "4k", "2M", "1G" (binary units, case-insensitive, on decimal or hex) and
     * underscores as digit separators.
     */
    static long parseNumber(String s, String what) {
        String t = s.trim().replace("_", "").toLowerCase();
        long mult = 1;
        if (!t.isEmpty() && !t.startsWith("0x")) {
            char last = t.charAt(t.length() - 1);
            if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
                mult = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : last == 'g' ? 1L << 30 : 1L << 40;
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            long v = t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
            return Math.multiplyExact(v, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw CliException.unusable(what + ": \"" + s + "\" is not a number (decimal, 0x hex, or with K/M/G)");
        }
    }

    /** "A-B" (end exclusive) or "A+SIZE" into {start, end}. */
    static long[] parseRange(String s, String what) {
        int plus = s.indexOf('+');
        int dash = s.indexOf('-', 1);
        long start;
        long end;
        if (plus > 0) {
            start = parseNumber(s.substring(0, plus), what);
            end = start + parseNumber(s.substring(plus + 1), what);
        } else if (dash > 0) {
            start = parseNumber(s.substring(0, dash), what);
            end = parseNumber(s.substring(dash + 1), what);
        } else {
            throw CliException.unusable(what + ": \"" + s + "\" is not a range (START-END, end exclusive, or START+SIZE)");
        }
        if (start < 0 || end <= start) {
            throw CliException.unusable(what + ": \"" + s + "\" is empty or reversed");
        }
        return new long[] {start, end};
    }
}
