package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.FaultRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.VmidRecord;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What must hold on a mount after every recovery, read from the files only (registries, table
 * files, device tables through {@link DeviceTableReader} and {@link DeviceTranslation}, read-only
 * as the device JVM reads them). Each broken invariant is one line "invariant: detail".
 */
final class CrashInvariants {
    private CrashInvariants() {}

    /** The acknowledged logical state: compared against the uncrashed run's state before and after the interrupted step. */
    static String logicalState(Registries r) {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(collect(r.containers)).forEach((k, c) -> sb.append("container ").append(c.containerId())
                .append(" type ").append(c.iommuType()).append(" vmid ").append(c.vmid()).append(" file ")
                .append(c.pgtableFile()).append('\n'));
        new TreeMap<>(collect(r.dmaMappings)).forEach((k, m) -> sb.append("dma ").append(m.containerId()).append(" 0x")
                .append(Long.toHexString(m.iova())).append('+').append(Long.toHexString(m.size())).append(" va 0x")
                .append(Long.toHexString(m.vaddr())).append(" pa 0x").append(Long.toHexString(m.pa())).append(" prot ")
                .append(m.prot()).append('\n'));
        new TreeMap<>(collect(r.pasids)).forEach((k, p) -> sb.append("pasid ").append(p.pasid()).append(" of ")
                .append(p.containerId()).append('\n'));
        new TreeMap<>(collect(r.bindings)).forEach((k, b) -> sb.append("bind ").append(b.hpasid()).append(" of ")
                .append(b.containerId()).append(" gpasid ").append(b.gpasid()).append(" gpgd 0x")
                .append(Long.toHexString(b.gpgd())).append('\n'));
        new TreeMap<>(collect(r.faults)).forEach((k, f) -> sb.append("fault ").append(f.seq()).append(" of ")
                .append(f.containerId()).append('\n'));
        return sb.toString();
    }

    static <V> Map<Long, V> collect(org.pkstore.persist.registry.Registry<V> reg) {
        Map<Long, V> m = new TreeMap<>();
        reg.forEach(m::put);
        return m;
    }

    /** Every structural invariant of a recovered mount; empty when all hold. */
    static List<String> check(PkernfsMount mount, HostTopology topology) {
        List<String> broken = new ArrayList<>();
        Registries r = mount.registries();
        Map<Long, ContainerRecord> containers = collect(r.containers);
        Map<Long, DomainRecord> domains = collect(r.domains);
        Map<Long, VmidRecord> vmids = collect(r.vmids);
        Map<Long, PasidRecord> pasids = collect(r.pasids);
        Map<Long, BindingRecord> bindings = collect(r.bindings);
        Map<Long, GroupRecord> groups = collect(r.groups);
        Map<Long, DmaMappingRecord> dma = collect(r.dmaMappings);
        Map<Integer, ContainerRecord> byId = new TreeMap<>();
        containers.values().forEach(c -> byId.put(c.containerId(), c));

        if (mount.journal().pending() != null) {
            broken.add("journal-idle: an intent is still active after recovery");
        }
        // VMIDs: everything that names one, against the allocator
        Map<Integer, Integer> namedBy = new TreeMap<>();
        for (ContainerRecord c : byId.values()) {
            if (c.vmid() >= 0) {
                namedBy.merge(c.vmid(), 1, Integer::sum);
                if (!vmids.containsKey((long) c.vmid())) {
                    broken.add("vmid-held: container " + c.containerId() + " has VMID " + c.vmid() + ", which is free");
                }
            }
        }
        for (DomainRecord d : domains.values()) {
            ContainerRecord c = byId.get(d.containerId());
            if (c == null) {
                broken.add("domain-container: domain " + d.domainId() + " names container " + d.containerId() + ", which has no record");
            } else if (d.vmid() != c.vmid()) {
                broken.add("domain-vmid: domain " + d.domainId() + " has VMID " + d.vmid() + " but its container "
                        + c.containerId() + " has " + c.vmid());
            }
            if (d.vmid() >= 0 && !vmids.containsKey((long) d.vmid())) {
                broken.add("vmid-held: domain " + d.domainId() + " has VMID " + d.vmid() + ", which is free");
            }
        }
        for (VmidRecord v : vmids.values()) {
            int users = namedBy.getOrDefault(v.vmid(), 0);
            if (users == 0) {
                broken.add("vmid-orphan: VMID " + v.vmid() + " is held but no container names it");
            } else if (v.users() != users) {
                broken.add("vmid-users: VMID " + v.vmid() + " has " + v.users() + " users, " + users + " containers name it");
            }
        }
        // PASIDs and bindings
        for (PasidRecord p : pasids.values()) {
            if (!byId.containsKey(p.containerId())) {
                broken.add("pasid-orphan: PASID " + p.pasid() + " owned by container " + p.containerId() + ", which has no record");
            }
        }
        for (BindingRecord b : bindings.values()) {
            PasidRecord p = pasids.get((long) b.hpasid());
            if (p == null || p.containerId() != b.containerId()) {
                broken.add("binding-pasid: PASID " + b.hpasid() + " bound by container " + b.containerId()
                        + " but " + (p == null ? "not allocated" : "owned by " + p.containerId()));
            }
        }
        for (GroupRecord g : groups.values()) {
            if (g.containerId() >= 0 && !byId.containsKey(g.containerId())) {
                broken.add("group-container: group " + g.groupId() + " names container " + g.containerId() + ", which has no record");
            }
        }
        for (DmaMappingRecord m : dma.values()) {
            if (!byId.containsKey(m.containerId())) {
                broken.add("dma-container: mapping 0x" + Long.toHexString(m.iova()) + " of container " + m.containerId() + " has no container");
            }
        }

        // device tables, read as the device reads them; the roots they name per table file
        Map<Path, TreeSet<Long>> deviceRoots = new TreeMap<>();
        Map<Path, PageTableFile> files = new TreeMap<>();
        for (Path p : mount.pageTableFiles()) {
            files.put(p, mount.openTableFile(p));
        }
        for (Path hw : mount.iommuTableFiles()) {
            try (DeviceTableReader reader = DeviceTableReader.openReadOnly(hw)) {
                for (HostTopology.Group tg : topology.groups().values()) {
                    for (Bdf bdf : tg.devices()) {
                        DeviceTableReader.DeviceView v = reader.view(bdf);
                        if (v.problem() != null) {
                            broken.add("device-entry: " + bdf + ": " + v.problem());
                            continue;
                        }
                        if (!v.present()) {
                            continue;
                        }
                        checkDevice(broken, bdf, tg.id(), v, groups, byId, domains, vmids, bindings, dma, files, deviceRoots);
                    }
                }
            }
        }
        // pages: reachable once, nothing allocated unreachable
        for (Map.Entry<Path, PageTableFile> e : files.entrySet()) {
            checkPages(broken, e.getValue(), deviceRoots.getOrDefault(e.getKey(), new TreeSet<>()));
        }
        return broken;
    }

    private static void checkDevice(List<String> broken, Bdf bdf, int groupId, DeviceTableReader.DeviceView v,
                                    Map<Long, GroupRecord> groups, Map<Integer, ContainerRecord> byId,
                                    Map<Long, DomainRecord> domains, Map<Long, VmidRecord> vmids,
                                    Map<Long, BindingRecord> bindings, Map<Long, DmaMappingRecord> dma,
                                    Map<Path, PageTableFile> files, Map<Path, TreeSet<Long>> deviceRoots) {
        if (!vmids.containsKey((long) v.vmid())) {
            broken.add("device-vmid: " + bdf + " is present with DID " + v.vmid() + ", which is free");
        }
        PageTableFile file = null;
        for (Map.Entry<Path, PageTableFile> e : files.entrySet()) {
            PageTableFile f = e.getValue();
            if (v.stage2RootPa() >= f.paBase() && v.stage2RootPa() < f.paLimit()) {
                file = f;
                deviceRoots.computeIfAbsent(e.getKey(), k -> new TreeSet<>()).add(v.stage2RootPa());
            }
        }
        if (file == null) {
            broken.add("device-root: " + bdf + " walks 0x" + Long.toHexString(v.stage2RootPa()) + ", in no table file");
            return;
        }
        GroupRecord g = groups.get((long) groupId);
        ContainerRecord c = g == null ? null : byId.get(g.containerId());
        DomainRecord d = c == null ? null : domains.get(c.domainId());
        if (d == null) {
            broken.add("device-domain: " + bdf + " is present (DID " + v.vmid() + ") but no domain record backs it"
                    + (g == null ? " (no group record)" : c == null ? " (group names no container)" : ""));
            return;
        }
        if (d.vmid() != v.vmid()) {
            broken.add("device-did: " + bdf + " has DID " + v.vmid() + ", its domain " + d.domainId() + " VMID " + d.vmid());
        }
        if (!file.path().getFileName().toString().equals(d.pgtableFile() + PkernfsMount.PGTABLE_SUFFIX)) {
            broken.add("device-file: " + bdf + " walks " + file.path().getFileName() + ", its domain's file is " + d.pgtableFile());
        }
        for (BoundPasidEntry bp : v.boundPasids()) {
            BindingRecord b = bindings.get((long) bp.pasid());
            if (b == null || b.containerId() != c.containerId()) {
                broken.add("device-pasid: " + bdf + " has PASID " + bp.pasid() + " bound, no binding record of container " + c.containerId());
            }
        }
        DeviceTranslation walk = new DeviceTranslation(file);
        for (DmaMappingRecord m : dma.values()) {
            if (m.containerId() != c.containerId() || (m.prot() & Prot.READ) == 0) {
                continue;
            }
            for (long off : new long[] {0, m.size() - 8}) {
                long pa = walk.translate(v.stage2RootPa(), m.iova() + off, Prot.READ);
                if (pa != m.pa() + off) {
                    broken.add("device-translates: " + bdf + " IOVA 0x" + Long.toHexString(m.iova() + off) + " -> "
                            + (DeviceTranslation.isFault(pa) ? DeviceTranslation.faultName(pa) : "0x" + Long.toHexString(pa))
                            + ", mapped to 0x" + Long.toHexString(m.pa() + off));
                }
            }
        }
    }

    private static void checkPages(List<String> broken, PageTableFile f, TreeSet<Long> deviceRoots) {
        if (f.kind() != PageTableFileDescriptor.KIND_DOMAIN_TABLES) {
            return;
        }
        TreeSet<Long> roots = new TreeSet<>(deviceRoots);
        if (f.rootPa() != 0) {
            roots.add(f.rootPa());
        }
        PageTableWalker w = PageTableWalker.of(f);
        BitSet reached = new BitSet();
        String name = f.path().getFileName().toString();
        for (long root : roots) {
            BitSet thisTree = new BitSet();
            thisTree.set((int) f.pageIndexOf(root));
            List<String> twice = new ArrayList<>();
            w.walk(root, 0, 1L << 48, new PageTableVisitor() {
                @Override
                public void table(int level, long iova, long tablePa, int index, long descriptor) {
                    int page = (int) f.pageIndexOf(w.format().tableAddress(descriptor));
                    if (thisTree.get(page)) {
                        twice.add("page " + page);
                    }
                    thisTree.set(page);
                }

                @Override
                public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
                    broken.add("table-walk: " + name + " root 0x" + Long.toHexString(root) + " IOVA 0x"
                            + Long.toHexString(iova) + ": " + reason);
                }
            });
            for (String t : twice) {
                broken.add("page-twice: " + name + " " + t + " is reached by two descriptors under root 0x" + Long.toHexString(root));
            }
            BitSet shared = (BitSet) thisTree.clone();
            shared.and(reached);
            if (!shared.isEmpty()) {
                broken.add("page-twice: " + name + " pages " + shared + " belong to two trees");
            }
            reached.or(thisTree);
        }
        for (long p = f.firstTablePage(); p < f.capacityPages(); p++) {
            boolean allocated = f.isAllocated(p);
            if (allocated && !reached.get((int) p)) {
                broken.add("leaked-page: " + name + " page " + p + " is allocated, reachable from no root (header or device)");
                break; // one line per file is enough
            }
            if (!allocated && reached.get((int) p)) {
                broken.add("free-reachable: " + name + " page " + p + " is reachable but free");
                break;
            }
        }
    }

    /** The state a second recovery must not change: every table file's bitmap and tables, and the logical registries. */
    static String stateHash(PkernfsMount mount) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            List<Path> all = new ArrayList<>(mount.pageTableFiles());
            all.addAll(mount.iommuTableFiles());
            byte[] buf = new byte[PageTableFileDescriptor.PAGE_SIZE];
            for (Path p : all) {
                PageTableFile f = mount.openTableFile(p);
                md.update(p.getFileName().toString().getBytes());
                long rootPa = f.rootPa();
                md.update(Long.toString(rootPa).getBytes());
                for (long page = 1; page < f.capacityPages(); page++) {
                    if (page >= f.firstTablePage() && !f.isAllocated(page)) {
                        continue; // free pages' bytes do not matter
                    }
                    f.region().read(page * PageTableFileDescriptor.PAGE_SIZE, buf, 0, buf.length);
                    md.update(buf);
                }
            }
            md.update(logicalState(mount.registries()).getBytes());
            Registries r = mount.registries();
            collect(r.domains).values().forEach(d -> md.update(d.toString().getBytes()));
            collect(r.groups).values().forEach(g -> md.update(g.toString().getBytes()));
            collect(r.vmids).values().forEach(v -> md.update(v.toString().getBytes()));
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
