package org.pkstore.cli;

import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.registry.FaultRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/** {@code pkstore diff MOUNT_A MOUNT_B}: what changed between two mounts, in mapping terms and in the registries. */
@Command(name = "diff", mixinStandardHelpOptions = true,
        header = "Compare two mounts: mappings, devices and registries.",
        description = {
                "Compares two mounts (e.g. a snapshot before and after a rehearsal, or two hosts): per domain "
                + "(matched by page-table file name) the IOVA ranges added, removed and changed (other PA, "
                + "permissions or page size); devices whose entry changed; registry entries added, removed or "
                + "changed. Read-only.",
                "",
                "Exit: 0 no difference; 1 differences; 2 unusable input."})
final class DiffCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "MOUNT_A", description = "The first (older) mount.")
    Path a;

    @Parameters(index = "1", paramLabel = "MOUNT_B", description = "The second (newer) mount.")
    Path b;

    record Side(String pa, String pageSize, String prot) {}

    record RangeChange(String domain, String change, String iova, String end, long size, Side a, Side b, List<String> what) {}

    record DomainChange(String domain, String change, long mappedBytesA, long mappedBytesB) {}

    record DeviceChange(int unit, String bdf, String change, Object a, Object b, List<String> what) {}

    record DeviceState(boolean present, String domainFile, String rootOffset, int did, boolean nested, String guestStageBase,
                       List<Integer> boundPasids) {}

    record RegistryChange(String registry, long key, String change, Object a, Object b) {}

    record Summary(int rangesAdded, int rangesRemoved, int rangesChanged, long bytesAdded, long bytesRemoved, long bytesChanged,
                   int domainsAdded, int domainsRemoved, int devicesChanged, int registryChanges) {}

    record Output(String a, String b, List<DomainChange> domains, List<RangeChange> ranges, List<DeviceChange> devices,
                  List<RegistryChange> registries, Summary summary, List<Finding> problemsA, List<Finding> problemsB) {}

    @Override
    int execute() {
        try (MountView va = MountView.open(a); MountView vb = MountView.open(b)) {
            MountModel ma = MountModel.load(va, true, progress("reading " + a));
            MountModel mb = MountModel.load(vb, true, progress("reading " + b));
            List<DomainChange> domains = new ArrayList<>();
            List<RangeChange> ranges = new ArrayList<>();
            TreeSet<String> names = new TreeSet<>(ma.scans.keySet());
            names.addAll(mb.scans.keySet());
            for (String n : names) {
                DomainScan sa = ma.scans.get(n);
                DomainScan sb = mb.scans.get(n);
                if (sa == null) {
                    domains.add(new DomainChange(n, "added", 0, sb.mappedBytes));
                    diffRanges(n, new RangeList(), sb.ranges, ranges);
                } else if (sb == null) {
                    domains.add(new DomainChange(n, "removed", sa.mappedBytes, 0));
                    diffRanges(n, sa.ranges, new RangeList(), ranges);
                } else {
                    diffRanges(n, sa.ranges, sb.ranges, ranges);
                }
            }
            List<DeviceChange> devices = diffDevices(ma, mb);
            List<RegistryChange> regs = new ArrayList<>();
            if (ma.registriesRead && mb.registriesRead) {
                diffRegistry("containers", ma.containers, mb.containers, regs);
                diffRegistry("groups", ma.groups, mb.groups, regs);
                diffRegistry("domains", ma.domains, mb.domains, regs);
                diffRegistry("vmids", ma.vmids, mb.vmids, regs);
                diffRegistry("pasids", ma.pasids, mb.pasids, regs);
                diffRegistry("bindings", ma.bindings, mb.bindings, regs);
                diffRegistry("guest-stages", ma.guestStages, mb.guestStages, regs);
                diffRegistry("faults", ma.faults, mb.faults, regs);
                diffRegistry("dma", ma.dma, mb.dma, regs);
            }
            Summary s = summary(domains, ranges, devices, regs);
            Output o = new Output(va.dir.toAbsolutePath().toString(), vb.dir.toAbsolutePath().toString(), domains, ranges,
                    devices, regs, s, errorsOf(ma), errorsOf(mb));
            if (json) {
                Json.write(out(), o);
            } else {
                print(o, ma.registriesRead && mb.registriesRead);
            }
            boolean differ = !domains.isEmpty() || !ranges.isEmpty() || !devices.isEmpty() || !regs.isEmpty();
            return differ ? ExitCodes.FOUND : ExitCodes.OK;
        }
    }

    private static List<Finding> errorsOf(MountModel m) {
        List<Finding> out = new ArrayList<>();
        for (Finding f : m.findings) {
            if (f.isError()) {
                out.add(f);
            }
        }
        return out;
    }

    // ---- ranges -------------------------------------------------------------------------------------

    /** Sweeps both coalesced lists boundary by boundary; adjacent segments of one kind are merged. */
    static void diffRanges(String domain, RangeList ra, RangeList rb, List<RangeChange> out) {
        int i = 0;
        int j = 0;
        long cur = Long.MIN_VALUE;
        Pending p = new Pending(domain, out);
        while (true) {
            while (i < ra.size() && ra.end(i) <= cur) {
                i++;
            }
            while (j < rb.size() && rb.end(j) <= cur) {
                j++;
            }
            if (i >= ra.size() && j >= rb.size()) {
                break;
            }
            boolean inA = i < ra.size() && ra.iova(i) <= cur;
            boolean inB = j < rb.size() && rb.iova(j) <= cur;
            if (!inA && !inB) {
                cur = Math.min(i < ra.size() ? ra.iova(i) : Long.MAX_VALUE, j < rb.size() ? rb.iova(j) : Long.MAX_VALUE);
                continue;
            }
            long next = Long.MAX_VALUE;
            if (i < ra.size()) {
                next = Math.min(next, inA ? ra.end(i) : ra.iova(i));
            }
            if (j < rb.size()) {
                next = Math.min(next, inB ? rb.end(j) : rb.iova(j));
            }
            long paA = inA ? ra.pa(i) + (cur - ra.iova(i)) : 0;
            long paB = inB ? rb.pa(j) + (cur - rb.iova(j)) : 0;
            if (inA && inB) {
                List<String> what = new ArrayList<>(3);
                if (paA != paB) {
                    what.add("pa");
                }
                if (ra.prot(i) != rb.prot(j)) {
                    what.add("prot");
                }
                if (ra.level(i) != rb.level(j)) {
                    what.add("page-size");
                }
                if (what.isEmpty()) {
                    p.flush();
                } else {
                    p.add("changed", cur, next, paA, ra.level(i), ra.prot(i), paB, rb.level(j), rb.prot(j), what);
                }
            } else if (inA) {
                p.add("removed", cur, next, paA, ra.level(i), ra.prot(i), 0, 0, 0, List.of());
            } else {
                p.add("added", cur, next, 0, 0, 0, paB, rb.level(j), rb.prot(j), List.of());
            }
            cur = next;
        }
        p.flush();
    }

    /** The change being built, extended while segments continue it. */
    private static final class Pending {
        private final String domain;
        private final List<RangeChange> out;
        private String kind;
        private long start;
        private long end;
        private long paA;
        private long paB;
        private int levelA;
        private int levelB;
        private int protA;
        private int protB;
        private List<String> what;

        Pending(String domain, List<RangeChange> out) {
            this.domain = domain;
            this.out = out;
        }

        void add(String k, long s, long e, long pa, int la, int pra, long pb, int lb, int prb, List<String> w) {
            boolean continuesA = k.equals("added") || paA + (end - start) == pa;
            boolean continuesB = k.equals("removed") || paB + (end - start) == pb;
            if (kind != null && kind.equals(k) && end == s && levelA == la && levelB == lb && protA == pra && protB == prb
                    && what.equals(w) && continuesA && continuesB) {
                end = e;
                return;
            }
            flush();
            kind = k;
            start = s;
            end = e;
            paA = pa;
            paB = pb;
            levelA = la;
            levelB = lb;
            protA = pra;
            protB = prb;
            what = w;
        }

        void flush() {
            if (kind == null) {
                return;
            }
            Side sa = kind.equals("added") ? null : new Side(Fmt.hex(paA), Fmt.pageName(levelA), Prot.toString(protA));
            Side sb = kind.equals("removed") ? null : new Side(Fmt.hex(paB), Fmt.pageName(levelB), Prot.toString(protB));
            out.add(new RangeChange(domain, kind, Fmt.hex(start), Fmt.hex(end), end - start, sa, sb, what));
            kind = null;
        }
    }

    // ---- devices ------------------------------------------------------------------------------------

    private static List<DeviceChange> diffDevices(MountModel ma, MountModel mb) {
        Map<String, DeviceState> da = devices(ma);
        Map<String, DeviceState> db = devices(mb);
        List<DeviceChange> out = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(da.keySet());
        keys.addAll(db.keySet());
        for (String k : keys) {
            int unit = Integer.parseInt(k.substring(0, k.indexOf(' ')));
            String bdf = k.substring(k.indexOf(' ') + 1);
            DeviceState x = da.get(k);
            DeviceState y = db.get(k);
            if (x == null) {
                out.add(new DeviceChange(unit, bdf, "added", null, y, List.of()));
            } else if (y == null) {
                out.add(new DeviceChange(unit, bdf, "removed", x, null, List.of()));
            } else if (!x.equals(y)) {
                List<String> what = new ArrayList<>();
                if (x.present() != y.present()) {
                    what.add("present");
                }
                if (!Objects.equals(x.domainFile(), y.domainFile()) || !Objects.equals(x.rootOffset(), y.rootOffset())) {
                    what.add("stage-2 root");
                }
                if (x.did() != y.did()) {
                    what.add("vmid");
                }
                if (x.nested() != y.nested() || !Objects.equals(x.guestStageBase(), y.guestStageBase())) {
                    what.add("guest stage");
                }
                if (!x.boundPasids().equals(y.boundPasids())) {
                    what.add("bound pasids");
                }
                out.add(new DeviceChange(unit, bdf, "changed", x, y, what));
            }
        }
        return out;
    }

    /** Device states by "unit bdf"; the root as (file, offset in file) so that mounts at other PAs compare. */
    private static Map<String, DeviceState> devices(MountModel m) {
        Map<String, DeviceState> out = new TreeMap<>();
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                MountView.TableFile t = d.present() ? m.view.tableFileAt(d.stage2Root()) : null;
                List<Integer> bound = new ArrayList<>();
                for (BoundPasidEntry e : d.bound()) {
                    bound.add(e.pasid());
                }
                out.put(d.unit() + " " + d.bdf(), new DeviceState(d.present(), t == null ? null : t.rel(),
                        t == null ? (d.present() ? Fmt.hex(d.stage2Root()) : null) : Fmt.hex(d.stage2Root() - t.file().paBase()),
                        d.did(), d.nested(), d.guestStageBase() == 0 ? null : Fmt.hex(d.guestStageBase()), bound));
            }
        }
        return out;
    }

    // ---- registries ---------------------------------------------------------------------------------

    private static <V> void diffRegistry(String name, Map<Long, V> a, Map<Long, V> b, List<RegistryChange> out) {
        TreeSet<Long> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (long k : keys) {
            V x = a.get(k);
            V y = b.get(k);
            if (x == null) {
                out.add(new RegistryChange(name, k, "added", null, y));
            } else if (y == null) {
                out.add(new RegistryChange(name, k, "removed", x, null));
            } else if (!same(x, y)) {
                out.add(new RegistryChange(name, k, "changed", x, y));
            }
        }
    }

    private static boolean same(Object x, Object y) {
        if (x instanceof FaultRecord && y instanceof FaultRecord) {
            FaultRecord p = (FaultRecord) x;
            FaultRecord q = (FaultRecord) y;
            return p.seq() == q.seq() && p.containerId() == q.containerId() && Arrays.equals(p.fault(), q.fault());
        }
        return x.equals(y);
    }

    private static Summary summary(List<DomainChange> domains, List<RangeChange> ranges, List<DeviceChange> devices,
                                   List<RegistryChange> regs) {
        int added = 0;
        int removed = 0;
        int changed = 0;
        long ba = 0;
        long br = 0;
        long bc = 0;
        for (RangeChange r : ranges) {
            switch (r.change()) {
                case "added": added++; ba += r.size(); break;
                case "removed": removed++; br += r.size(); break;
                default: changed++; bc += r.size(); break;
            }
        }
        int da = (int) domains.stream().filter(d -> d.change().equals("added")).count();
        return new Summary(added, removed, changed, ba, br, bc, da, domains.size() - da, devices.size(), regs.size());
    }

    private void print(Output o, boolean registries) {
        PrintWriter w = out();
        w.println("diff " + o.a() + " -> " + o.b());
        Map<String, List<RangeChange>> byDomain = new LinkedHashMap<>();
        for (RangeChange r : o.ranges()) {
            byDomain.computeIfAbsent(r.domain(), k -> new ArrayList<>()).add(r);
        }
        for (DomainChange d : o.domains()) {
            w.println("domain " + d.domain() + ": file " + d.change() + " (" + Fmt.size(d.change().equals("added")
                    ? d.mappedBytesB() : d.mappedBytesA()) + " mapped)");
        }
        for (Map.Entry<String, List<RangeChange>> e : byDomain.entrySet()) {
            w.println("domain " + e.getKey() + " (pgtables/" + e.getKey() + ".pt)");
            for (RangeChange r : e.getValue()) {
                String range = "[" + r.iova() + ", " + r.end() + ") " + Fmt.size(r.size());
                switch (r.change()) {
                    case "added":
                        w.println("  + " + range + "  -> " + side(r.b()));
                        break;
                    case "removed":
                        w.println("  - " + range + "  was " + side(r.a()));
                        break;
                    default:
                        w.println("  ~ " + range + "  " + side(r.a()) + " -> " + side(r.b()) + "  (" + String.join(", ", r.what()) + ")");
                }
            }
        }
        if (!o.devices().isEmpty()) {
            w.println("devices");
            for (DeviceChange d : o.devices()) {
                w.println("  " + (d.change().equals("added") ? "+" : d.change().equals("removed") ? "-" : "~") + " unit "
                        + d.unit() + " " + d.bdf() + (d.what().isEmpty() ? "" : " (" + String.join(", ", d.what()) + ")")
                        + (d.a() != null ? "  was " + describe((DeviceState) d.a()) : "")
                        + (d.b() != null ? "  now " + describe((DeviceState) d.b()) : ""));
            }
        }
        if (!registries) {
            w.println("registries: not compared (unreadable in one of the mounts)");
        } else if (!o.registries().isEmpty()) {
            w.println("registries");
            for (RegistryChange r : o.registries()) {
                String sign = r.change().equals("added") ? "+" : r.change().equals("removed") ? "-" : "~";
                w.println("  " + sign + " " + r.registry() + " key " + r.key() + ": "
                        + (r.a() != null && r.b() != null ? r.a() + " -> " + r.b() : r.a() != null ? r.a() : r.b()));
            }
        }
        Summary s = o.summary();
        if (o.domains().isEmpty() && o.ranges().isEmpty() && o.devices().isEmpty() && o.registries().isEmpty()) {
            w.println("no differences");
        } else {
            w.printf("%d ranges added (%s), %d removed (%s), %d changed (%s); %d devices changed; %d registry entries changed%n",
                    s.rangesAdded(), Fmt.size(s.bytesAdded()), s.rangesRemoved(), Fmt.size(s.bytesRemoved()),
                    s.rangesChanged(), Fmt.size(s.bytesChanged()), s.devicesChanged(), s.registryChanges());
        }
        for (Finding f : o.problemsA()) {
            err().println("A: " + f.line());
        }
        for (Finding f : o.problemsB()) {
            err().println("B: " + f.line());
        }
    }

    private static String describe(DeviceState d) {
        if (!d.present()) {
            return "not present" + (d.boundPasids().isEmpty() ? "" : ", bound PASIDs " + d.boundPasids());
        }
        return (d.domainFile() == null ? "root " + d.rootOffset() : d.domainFile() + " root +" + d.rootOffset()) + ", vmid "
                + d.did() + (d.nested() ? ", nested" : "") + (d.guestStageBase() != null ? ", guest " + d.guestStageBase() : "")
                + (d.boundPasids().isEmpty() ? "" : ", bound PASIDs " + d.boundPasids());
    }

    private static String side(Side s) {
        return s.pa() + " " + s.pageSize() + " " + s.prot();
    }
}
