package org.pkstore.iommu;

import org.pkstore.persist.registry.Registry;
import org.pkstore.persist.registry.VmidRecord;

import java.util.Map;
import java.util.TreeMap;

/**
 * VMIDs (VT-d DIDs, SMMUv3 S2VMIDs) 1..65535 for a 16-bit VMID width, refcounted by their users
 * (containers: the containers of one VM share one VMID through VFIO_IOMMU_SET_VMID), persisted in
 * {@code registries.vmids} (key = VMID) so that they survive kexec. A VMID is free again when its
 * last user releases it. 0 is never handed out (reserved, as KVM/arm64 reserves VMID 0 for the host).
 */
public final class VmidAllocator {
    private final Registry<VmidRecord> registry;
    private final int max;
    private final TreeMap<Integer, Integer> users = new TreeMap<>();

    public VmidAllocator(Registry<VmidRecord> registry, int widthBits) {
        this.registry = registry;
        this.max = (1 << widthBits) - 1;
        registry.forEach((k, r) -> users.put(r.vmid(), r.users()));
    }

    public int max() { return max; }

    public synchronized boolean inRange(long vmid) {
        return vmid >= 1 && vmid <= max;
    }

    /** A fresh VMID with one user, or -ENOSPC. */
    public synchronized int allocate() {
        int v = 1;
        for (int used : users.keySet()) {
            if (used != v) {
                break;
            }
            v++;
        }
        if (v > max) {
            return -Errno.ENOSPC;
        }
        set(v, 1);
        return v;
    }

    /** One more user of {@code vmid} (taking it if free). 0 or -EINVAL when out of range. */
    public synchronized int acquire(int vmid) {
        if (!inRange(vmid)) {
            return -Errno.EINVAL;
        }
        set(vmid, users.getOrDefault(vmid, 0) + 1);
        return 0;
    }

    /** One user fewer; the VMID is freed with its last user. */
    public synchronized void release(int vmid) {
        Integer n = users.get(vmid);
        if (n == null) {
            return;
        }
        set(vmid, n - 1);
    }

    public synchronized int users(int vmid) {
        return users.getOrDefault(vmid, 0);
    }

    public synchronized boolean inUse(int vmid) {
        return users.containsKey(vmid);
    }

    public synchronized Map<Integer, Integer> snapshot() {
        return new TreeMap<>(users);
    }

    /** Recovery: replaces every count with what the container records say. */
    public synchronized void rebuild(Map<Integer, Integer> counts) {
        for (int v : new TreeMap<>(users).keySet()) {
            if (!counts.containsKey(v)) {
                set(v, 0);
            }
        }
        counts.forEach((v, n) -> {
            if (!users.getOrDefault(v, 0).equals(n)) {
                set(v, n);
            }
        });
    }

    private void set(int vmid, int n) {
        if (n <= 0) {
            users.remove(vmid);
            registry.remove(vmid);
        } else {
            users.put(vmid, n);
            registry.put(vmid, new VmidRecord(vmid, n, 0));
        }
    }
}
