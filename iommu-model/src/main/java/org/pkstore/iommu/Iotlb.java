package org.pkstore.iommu;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The IOTLB of one {@link IommuUnit}: translations cached per (VMID, PASID, 4 KiB IOVA page) until
 * software invalidates them. Like hardware it is NOT coherent with the page tables: a table change
 * without an invalidation leaves the old translation in use, which is exactly what
 * VFIO_IOMMU_CACHE_INVALIDATE exists for.
 *
 * <p>{@link #NO_PASID} tags requests without a PASID. Only successful translations are cached
 * (VT-d and SMMUv3 do not cache faulting walks). There is no paging-structure cache in this model,
 * so the leaf hint of an address invalidation narrows nothing; it is counted.
 */
public final class Iotlb {
    public static final int NO_PASID = -1;

    /** One cached translation: the page's PA and the permission bits (Prot.READ / WRITE) granted. */
    public record Entry(long pa, int perm) {}

    /**
     * (VMID, PASID, page). Stored keys are never changed; {@link #probe} is the one mutable key a
     * lookup fills in, so that a hit allocates nothing on any JDK (JDK 25's escape analysis did not
     * remove a fresh key record per lookup).
     */
    private static final class Key {
        int vmid;
        int pasid;
        long page;

        Key(int vmid, int pasid, long page) {
            set(vmid, pasid, page);
        }

        Key set(int v, int p, long pg) {
            vmid = v;
            pasid = p;
            page = pg;
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.vmid == vmid && k.pasid == pasid && k.page == page;
        }

        @Override
        public int hashCode() {
            return (31 * vmid + pasid) * 31 + Long.hashCode(page);
        }
    }

    private final Map<Key, Entry> entries = new HashMap<>();
    private final Key probe = new Key(0, 0, 0);
    private long hits;
    private long misses;
    private long fills;
    private long invalidations;
    private long entriesInvalidated;
    private long leafHints;

    /** The cached entry for the page holding {@code iova}, or null (a miss). Counts. */
    public synchronized Entry lookup(int vmid, int pasid, long iova) {
        Entry e = entries.get(probe.set(vmid, pasid, iova >>> 12));
        if (e == null) {
            misses++;
        } else {
            hits++;
        }
        return e;
    }

    /** Caches the translation of the page holding {@code iova} ({@code pagePa} is the page's PA). */
    public synchronized void fill(int vmid, int pasid, long iova, long pagePa, int perm) {
        entries.put(new Key(vmid, pasid, iova >>> 12), new Entry(pagePa & ~0xFFFL, perm));
        fills++;
    }

    /** Every entry. */
    public synchronized long invalidateAll() {
        return drop(k -> true);
    }

    /** Domain-selective: every entry tagged {@code vmid}. */
    public synchronized long invalidateVmid(int vmid) {
        return drop(k -> k.vmid == vmid);
    }

    /** PASID-selective within a VMID. */
    public synchronized long invalidatePasid(int vmid, int pasid) {
        return drop(k -> k.vmid == vmid && k.pasid == pasid);
    }

    /**
     * Page-selective: entries of {@code vmid} whose page meets {@code [iova, iova + size)}; of
     * {@code pasid} only, unless it is {@code anyPasid}.
     */
    public synchronized long invalidateRange(int vmid, boolean anyPasid, int pasid, long iova, long size, boolean leaf) {
        if (leaf) {
            leafHints++;
        }
        long first = iova >>> 12;
        long last = size <= 0 ? first - 1 : (iova + size - 1) >>> 12;
        return drop(k -> k.vmid == vmid && (anyPasid || k.pasid == pasid) && k.page >= first && k.page <= last);
    }

    private interface KeyTest {
        boolean test(Key k);
    }

    private long drop(KeyTest t) {
        invalidations++;
        long n = 0;
        for (Iterator<Key> it = entries.keySet().iterator(); it.hasNext(); ) {
            if (t.test(it.next())) {
                it.remove();
                n++;
            }
        }
        entriesInvalidated += n;
        return n;
    }

    public synchronized int size() { return entries.size(); }
    public synchronized long hits() { return hits; }
    public synchronized long misses() { return misses; }
    public synchronized long fills() { return fills; }
    /** Invalidation commands received. */
    public synchronized long invalidations() { return invalidations; }
    /** Entries those commands removed. */
    public synchronized long entriesInvalidated() { return entriesInvalidated; }
    public synchronized long leafHints() { return leafHints; }
}
