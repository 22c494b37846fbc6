package org.pkstore.cli;

import java.util.Arrays;

/**
 * Coalesced mappings of a domain in IOVA order, in parallel primitive arrays (a million of them cost
 * a few tens of MB, not a million objects): runs of leaves with contiguous IOVA and PA, the same
 * leaf size and the same permissions. Ends are exclusive.
 */
final class RangeList {
    private long[] iova = new long[64];
    private long[] pa = new long[64];
    private long[] size = new long[64];
    /** level << 16 | prot. */
    private int[] attr = new int[64];
    private long[] leaves = new long[64];
    private int n;

    /** Adds one leaf, extending the last range when it continues it. Leaves must come in IOVA order. */
    void add(long leafIova, long leafPa, long bytes, int level, int prot) {
        int a = level << 16 | prot;
        if (n > 0) {
            int l = n - 1;
            if (attr[l] == a && iova[l] + size[l] == leafIova && pa[l] + size[l] == leafPa) {
                size[l] += bytes;
                leaves[l]++;
                return;
            }
        }
        if (n == iova.length) {
            int c = n * 2;
            iova = Arrays.copyOf(iova, c);
            pa = Arrays.copyOf(pa, c);
            size = Arrays.copyOf(size, c);
            attr = Arrays.copyOf(attr, c);
            leaves = Arrays.copyOf(leaves, c);
        }
        iova[n] = leafIova;
        pa[n] = leafPa;
        size[n] = bytes;
        attr[n] = a;
        leaves[n] = 1;
        n++;
    }

    int size() { return n; }
    long iova(int i) { return iova[i]; }
    long end(int i) { return iova[i] + size[i]; }
    long pa(int i) { return pa[i]; }
    long bytes(int i) { return size[i]; }
    int level(int i) { return attr[i] >>> 16; }
    int prot(int i) { return attr[i] & 0xFFFF; }
    long leaves(int i) { return leaves[i]; }

    /** Index of the range holding {@code a}, or -1. */
    int find(long a) {
        int lo = 0;
        int hi = n - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (iova[mid] > a) {
                hi = mid - 1;
            } else if (iova[mid] + size[mid] <= a) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /**
     * The lowest IOVA that {@code x} and {@code y} translate differently (mapped in one only, or to
     * another PA, or with other permissions), or -1 when they translate every IOVA alike. Leaf sizes
     * do not count: a 2 MiB block and 512 pages with the same outputs translate identically.
     */
    static long firstDifference(RangeList x, RangeList y) {
        int i = 0;
        int j = 0;
        long at = 0;
        while (i < x.n || j < y.n) {
            // skip ranges that end at or before the position
            while (i < x.n && x.end(i) <= at) {
                i++;
            }
            while (j < y.n && y.end(j) <= at) {
                j++;
            }
            boolean inX = i < x.n && x.iova[i] <= at;
            boolean inY = j < y.n && y.iova[j] <= at;
            if (inX != inY) {
                return at;
            }
            if (inX) {
                if (x.pa[i] + (at - x.iova[i]) != y.pa[j] + (at - y.iova[j]) || x.prot(i) != y.prot(j)) {
                    return at;
                }
                at = Math.min(x.end(i), y.end(j));
            } else {
                long nx = i < x.n ? x.iova[i] : Long.MAX_VALUE;
                long ny = j < y.n ? y.iova[j] : Long.MAX_VALUE;
                if (nx == Long.MAX_VALUE && ny == Long.MAX_VALUE) {
                    return -1;
                }
                at = Math.min(nx, ny);
            }
        }
        return -1;
    }

    /** Index of the first range ending after {@code a} (n if none). */
    int firstEndingAfter(long a) {
        int lo = 0;
        int hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (iova[mid] + size[mid] <= a) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
