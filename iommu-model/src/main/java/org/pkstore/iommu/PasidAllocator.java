package org.pkstore.iommu;

import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.Registry;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The system-wide PASID space 1..2^20-1 (VFIO_IOMMU_PASID_REQUEST): each PASID is owned by one
 * container, each container may hold at most its quota, and every allocation is persisted in
 * {@code registries.pasids} (key = PASID) so that PASIDs in use by a guest survive kexec.
 */
public final class PasidAllocator {
    public static final int MIN_PASID = 1;
    public static final int MAX_PASID = IommuUnit.MAX_PASID;
    public static final int DEFAULT_QUOTA = 64;

    private final Registry<PasidRecord> registry;
    private final BitSet used = new BitSet(MAX_PASID + 1);
    private final Map<Integer, Integer> owner = new HashMap<>();
    private final Map<Integer, Integer> counts = new HashMap<>();

    public PasidAllocator(Registry<PasidRecord> registry) {
        this.registry = registry;
        registry.forEach((k, r) -> take(r.pasid(), r.containerId()));
    }

    private void take(int pasid, int container) {
        used.set(pasid);
        owner.put(pasid, container);
        counts.merge(container, 1, Integer::sum);
    }

    /**
     * The lowest free PASID in {@code [min, max]} for {@code container}.
     *
     * @return the PASID, -EINVAL (min &gt; max or outside 1..2^20-1), -ENOSPC (none free, or the
     *         container's quota is used up)
     */
    public synchronized int allocate(int container, long min, long max, int quota) {
        if (min > max || min < MIN_PASID || max > MAX_PASID) {
            return -Errno.EINVAL;
        }
        if (counts.getOrDefault(container, 0) >= quota) {
            return -Errno.ENOSPC;
        }
        int p = used.nextClearBit((int) min);
        if (p > max) {
            return -Errno.ENOSPC;
        }
        registry.put(p, new PasidRecord(p, container));
        take(p, container);
        return p;
    }

    /** @return 0, -EINVAL (not allocated), -EPERM (another container's) */
    public synchronized int free(int container, long pasid) {
        if (pasid < MIN_PASID || pasid > MAX_PASID || !used.get((int) pasid)) {
            return -Errno.EINVAL;
        }
        int p = (int) pasid;
        if (owner.get(p) != container) {
            return -Errno.EPERM;
        }
        registry.remove(p);
        used.clear(p);
        owner.remove(p);
        counts.merge(container, -1, Integer::sum);
        return 0;
    }

    /** Owner of {@code pasid}, or -1 when it is not allocated. */
    public synchronized int ownerOf(long pasid) {
        if (pasid < MIN_PASID || pasid > MAX_PASID) {
            return -1;
        }
        Integer o = owner.get((int) pasid);
        return o == null ? -1 : o;
    }

    public synchronized int count(int container) {
        return counts.getOrDefault(container, 0);
    }

    public synchronized List<Integer> ownedBy(int container) {
        List<Integer> out = new ArrayList<>();
        owner.forEach((p, c) -> {
            if (c == container) {
                out.add(p);
            }
        });
        out.sort(null);
        return out;
    }

    /**
     * Recovery: makes the allocation exactly {@code owners} (PASID -> owning container), writing
     * only the records that differ, so a consistent mount is left untouched.
     */
    public synchronized void rebuild(Map<Integer, Integer> owners) {
        for (int p : new ArrayList<>(owner.keySet())) {
            Integer want = owners.get(p);
            if (want == null || !want.equals(owner.get(p))) {
                registry.remove(p);
                used.clear(p);
                counts.merge(owner.remove(p), -1, Integer::sum);
            }
        }
        owners.forEach((p, c) -> {
            if (p >= MIN_PASID && p <= MAX_PASID && !used.get(p)) {
                registry.put(p, new PasidRecord(p, c));
                take(p, c);
            }
        });
    }

    /** Frees every PASID of {@code container} (its release). */
    public synchronized void freeAll(int container) {
        for (int p : ownedBy(container)) {
            free(container, p);
        }
    }
}
