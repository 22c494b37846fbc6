package org.pkstore.persist.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a reattach after kexec needs, per container, as one value: its page-table file, VMID, domain,
 * attached groups, PASIDs and guest bindings, and where its pending faults are. The preserved record
 * ({@link org.pkstore.persist.PreservedRecord}) stores exactly this in a fixed layout; the registries
 * remain the source of truth and {@link #of(Registries)} is how they say it, to write the record and
 * to check a record read at boot against them.
 *
 * @param overflow more than the record's fixed layout holds (containers, groups, PASIDs, bindings):
 *                 the record is then not enough for a reattach and the registries must be read
 */
public record ReattachState(List<Container> containers, boolean overflow) {
    public static final int MAX_CONTAINERS = 14;
    public static final int MAX_GROUPS = 4;
    public static final int MAX_PASIDS = 16;
    public static final int MAX_BINDINGS = 2;
    /** Longest page-table file name the record holds (ASCII, NUL padded to 48 bytes). */
    public static final int MAX_FILE_NAME = 47;

    /** A guest page table bound to a host PASID (VFIO_IOMMU_BIND). */
    public record Binding(int hpasid, int format, long flags, long gpgd, long gpasid) {}

    /**
     * One container. {@code domainVmid} is the VMID in its domain's record (what the device-table
     * entry carries); {@code firstFaultSeq}..{@code lastFaultSeq} the sequence numbers of its pending
     * faults (0..0 when none).
     */
    public record Container(int containerId, int iommuType, int vmid, int pasidQuota, int flags, long domainId,
                            int domainVmid, String pgtableFile, List<Integer> groups, List<Integer> pasids,
                            List<Binding> bindings, int pendingFaults, long firstFaultSeq, long lastFaultSeq) {}

    /** The state as the registries hold it now (containers in id order, lists sorted). */
    public static ReattachState of(Registries r) {
        Map<Integer, List<Integer>> groups = new TreeMap<>();
        for (GroupRecord g : r.groups.values()) {
            groups.computeIfAbsent(g.containerId(), c -> new ArrayList<>()).add(g.groupId());
        }
        Map<Integer, List<Integer>> pasids = new TreeMap<>();
        for (PasidRecord p : r.pasids.values()) {
            pasids.computeIfAbsent(p.containerId(), c -> new ArrayList<>()).add(p.pasid());
        }
        Map<Integer, List<Binding>> bindings = new TreeMap<>();
        for (BindingRecord b : r.bindings.values()) {
            bindings.computeIfAbsent(b.containerId(), c -> new ArrayList<>())
                    .add(new Binding(b.hpasid(), b.format(), b.flags(), b.gpgd(), b.gpasid()));
        }
        Map<Integer, long[]> faults = new TreeMap<>(); // count, first, last
        for (long key : r.faults.keys()) {
            if (key <= 0) {
                continue; // a delivered page request awaiting its response is not pending
            }
            FaultRecord f = r.faults.get(key);
            if (f == null) {
                continue;
            }
            long[] a = faults.computeIfAbsent(f.containerId(), c -> new long[] {0, Long.MAX_VALUE, 0});
            a[0]++;
            a[1] = Math.min(a[1], key);
            a[2] = Math.max(a[2], key);
        }
        Map<Integer, ContainerRecord> byId = new TreeMap<>();
        for (ContainerRecord c : r.containers.values()) {
            byId.put(c.containerId(), c);
        }
        List<Container> out = new ArrayList<>();
        boolean overflow = byId.size() > MAX_CONTAINERS;
        for (ContainerRecord c : byId.values()) {
            DomainRecord d = c.domainId() == 0 ? null : r.domains.get(c.domainId());
            List<Integer> g = sorted(groups.get(c.containerId()));
            List<Integer> p = sorted(pasids.get(c.containerId()));
            List<Binding> b = bindings.getOrDefault(c.containerId(), List.of());
            b = new ArrayList<>(b);
            b.sort((x, y) -> Integer.compare(x.hpasid(), y.hpasid()));
            long[] f = faults.getOrDefault(c.containerId(), new long[] {0, 0, 0});
            overflow |= g.size() > MAX_GROUPS || p.size() > MAX_PASIDS || b.size() > MAX_BINDINGS
                    || c.pgtableFile().length() > MAX_FILE_NAME;
            out.add(new Container(c.containerId(), c.iommuType(), c.vmid(), c.pasidQuota(), c.flags(), c.domainId(),
                    d == null ? -1 : d.vmid(), c.pgtableFile(), g, p, List.copyOf(b), (int) f[0],
                    f[0] == 0 ? 0 : f[1], f[2]));
        }
        return new ReattachState(List.copyOf(out), overflow);
    }

    private static List<Integer> sorted(List<Integer> xs) {
        if (xs == null) {
            return List.of();
        }
        List<Integer> s = new ArrayList<>(xs);
        s.sort(null);
        return List.copyOf(s);
    }

    /** Where this state (read from the record) and the registries' differ, or null when they agree. */
    public String differenceFrom(ReattachState registries) {
        if (overflow != registries.overflow()) {
            return "overflow " + overflow + " in the record, " + registries.overflow() + " in the registries";
        }
        Map<Integer, Container> theirs = new TreeMap<>();
        for (Container c : registries.containers()) {
            theirs.put(c.containerId(), c);
        }
        Map<Integer, Container> ours = new TreeMap<>();
        for (Container c : containers) {
            ours.put(c.containerId(), c);
        }
        if (!ours.keySet().equals(theirs.keySet())) {
            return "containers " + ours.keySet() + " in the record, " + theirs.keySet() + " in the registries";
        }
        for (Container c : containers) {
            Container t = theirs.get(c.containerId());
            if (!c.equals(t)) {
                return "container " + c.containerId() + ": record " + c + ", registries " + t;
            }
        }
        return null;
    }
}
