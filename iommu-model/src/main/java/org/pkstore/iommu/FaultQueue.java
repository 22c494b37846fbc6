package org.pkstore.iommu;

import org.pkstore.persist.registry.FaultRecord;
import org.pkstore.persist.registry.Registry;
import org.pkstore.vfio.uapi.IommuFaultPageRequest;
import org.pkstore.vfio.uapi.IommuUapi;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The faults of one container that the VMM has not read yet, in the order they happened, plus the
 * page requests it has read but not answered. Both are persisted in {@code registries.faults} so
 * that they survive kexec:
 * <ul>
 *   <li>key {@code +seq}: an undelivered fault (VFIO_IOMMU_READ_FAULTS has not returned it);</li>
 *   <li>key {@code -seq}: a delivered page request waiting for VFIO_IOMMU_PAGE_RESPONSE.</li>
 * </ul>
 * Sequence numbers are global and increasing (one counter for all queues of a kernel).
 */
public final class FaultQueue {
    /** Most faults one container holds; further faults are dropped (counted), as the Linux fault FIFO does. */
    public static final int CAPACITY = 4096;

    private final int containerId;
    private final Registry<FaultRecord> registry;
    private final AtomicLong seq;
    private final TreeMap<Long, byte[]> queued = new TreeMap<>();
    private final TreeMap<Long, byte[]> awaitingResponse = new TreeMap<>();
    private long dropped;

    public FaultQueue(int containerId, Registry<FaultRecord> registry, AtomicLong seq) {
        this.containerId = containerId;
        this.registry = registry;
        this.seq = seq;
        registry.forEach((k, r) -> {
            if (r.containerId() == containerId) {
                (k > 0 ? queued : awaitingResponse).put(Math.abs(k), r.fault());
            }
        });
    }

    public int containerId() { return containerId; }

    /** Queues a 64-byte struct iommu_fault; false when the queue is full (dropped). */
    public synchronized boolean push(byte[] fault) {
        if (queued.size() >= CAPACITY) {
            dropped++;
            return false;
        }
        long s = seq.incrementAndGet();
        registry.put(s, new FaultRecord(s, containerId, fault.clone()));
        queued.put(s, fault.clone());
        return true;
    }

    public synchronized int pending() { return queued.size(); }
    public synchronized int awaitingResponse() { return awaitingResponse.size(); }
    public synchronized long dropped() { return dropped; }

    /** The oldest {@code max} faults, removed from the queue (page requests move to awaiting-response). */
    public synchronized List<byte[]> take(int max) {
        List<byte[]> out = new ArrayList<>();
        while (out.size() < max && !queued.isEmpty()) {
            var e = queued.pollFirstEntry();
            long s = e.getKey();
            byte[] f = e.getValue();
            if (FaultRecords.type(f) == IommuUapi.IOMMU_FAULT_PAGE_REQ) {
                registry.put(-s, new FaultRecord(s, containerId, f));
                awaitingResponse.put(s, f);
            }
            registry.remove(s);
            out.add(f);
        }
        return out;
    }

    /** The oldest {@code max} queued faults, without removing them (READ_FAULTS copies out, then takes). */
    public synchronized List<byte[]> peek(int max) {
        List<byte[]> out = new ArrayList<>();
        for (byte[] f : queued.values()) {
            if (out.size() >= max) {
                break;
            }
            out.add(f);
        }
        return out;
    }

    /** A copy of the queued faults, oldest first, without removing them. */
    public synchronized List<byte[]> peek() {
        List<byte[]> out = new ArrayList<>();
        for (byte[] f : queued.values()) {
            out.add(f.clone());
        }
        return out;
    }

    /**
     * Removes the oldest page request with {@code grpid} (and {@code pasid} when
     * {@code matchPasid}), delivered or still queued. False when there is none.
     */
    public synchronized boolean respond(int grpid, boolean matchPasid, int pasid) {
        for (TreeMap<Long, byte[]> m : List.of(awaitingResponse, queued)) {
            for (var e : m.entrySet()) {
                byte[] f = e.getValue();
                if (FaultRecords.type(f) != IommuUapi.IOMMU_FAULT_PAGE_REQ || FaultRecords.prmGrpid(f) != grpid) {
                    continue;
                }
                if (matchPasid && ((FaultRecords.prmFlags(f) & IommuFaultPageRequest.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) == 0
                        || FaultRecords.prmPasid(f) != pasid)) {
                    continue;
                }
                long s = e.getKey();
                m.remove(s);
                registry.remove(m == awaitingResponse ? -s : s);
                return true;
            }
        }
        return false;
    }

    /** The container is released: its faults go with it. */
    public synchronized void destroy() {
        for (long s : queued.keySet()) {
            registry.remove(s);
        }
        for (long s : awaitingResponse.keySet()) {
            registry.remove(-s);
        }
        queued.clear();
        awaitingResponse.clear();
    }
}
