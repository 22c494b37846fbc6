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

import java.nio.file.Files;
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

    /**
     * Every structural invariant of a recovered mount; empty when all hold. Ownership and
     * consistency are the shared definitions: VMID/PASID holders from {@link VmidOwners}, a present
     * device-table entry backed through {@link MountReachability#unbacked}, live pages from
     * {@link MountReachability#reachable} (the boot sweep's and {@code verify}'s own).
     */
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
        // device tables, read as the device reads them: what they hold, and the roots they name per table file
        Map<Path, PageTableFile> files = new TreeMap<>();
        for (Path p : mount.pageTableFiles()) {
            files.put(p, mount.openTableFile(p));
        }
        List<VmidOwners.DeviceHold> holds = new ArrayList<>();
        Map<Path, TreeSet<Long>> deviceRoots = new TreeMap<>();
        for (HostTopology.Unit u : topology.units().values()) {
            Path hw = mount.iommuTablePath("unit" + u.id());
            if (!Files.exists(hw)) {
                continue;
            }
            List<Bdf> devices = new ArrayList<>();
            topology.groups().values().stream().filter(g -> g.unitId() == u.id()).forEach(g -> devices.addAll(g.devices()));
            try (DeviceTableReader reader = DeviceTableReader.openReadOnly(hw)) {
                holds.addAll(VmidOwners.deviceHolds(u.id(), reader, devices));
                for (Bdf bdf : devices) {
                    DeviceTableReader.DeviceView v = reader.view(bdf);
                    if (v.problem() != null) {
                        broken.add("device-entry: " + bdf + ": " + v.problem());
                    } else if (v.present()) {
                        checkDevice(broken, bdf, u.id(), v, byId, domains, vmids, bindings, dma, files, deviceRoots);
                    }
                }
            }
        }
        // VMIDs: the registry is exactly what every holder says, and every holder's VMID is held
        Map<Integer, Integer> vmidHolders = VmidOwners.vmidCounts(byId.values(), domains.values(), holds, note -> {});
        Map<Integer, Integer> vmidHeld = new TreeMap<>();
        vmids.values().forEach(v -> vmidHeld.put(v.vmid(), v.users()));
        if (!vmidHeld.equals(vmidHolders)) {
            broken.add("vmid-owners: the vmids registry holds " + vmidHeld + ", its holders (containers, domains, devices) say "
                    + vmidHolders);
        }
        for (DomainRecord d : domains.values()) {
            ContainerRecord c = byId.get(d.containerId());
            if (c == null) {
                broken.add("domain-container: domain " + d.domainId() + " names container " + d.containerId() + ", which has no record");
            } else if (d.vmid() != c.vmid()) {
                broken.add("domain-vmid: domain " + d.domainId() + " has VMID " + d.vmid() + " but its container "
                        + c.containerId() + " has " + c.vmid());
            }
        }
        // PASIDs and bindings: the same, against PASID records, bindings and device-table bound entries
        Map<Integer, Integer> pasidHolders = VmidOwners.pasidOwners(byId.values(), domains.values(), pasids.values(),
                bindings.values(), holds, note -> {});
        Map<Integer, Integer> pasidHeld = new TreeMap<>();
        pasids.values().forEach(p -> pasidHeld.put(p.pasid(), p.containerId()));
        if (!pasidHeld.equals(pasidHolders)) {
            broken.add("pasid-owners: the pasids registry holds " + pasidHeld + ", its holders say " + pasidHolders);
        }
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
        // pages: reachable once, and allocated exactly when live by the shared reachability definition
        for (Map.Entry<Path, PageTableFile> e : files.entrySet()) {
            checkPages(broken, e.getValue(), deviceRoots.getOrDefault(e.getKey(), new TreeSet<>()), mount.journal().pending());
        }
        return broken;
    }

    /**
     * A present entry: backed by a domain record with its DID whose VMID is held (the shared
     * definition), walking a root in that domain's file, translating every mapping of the domain's
     * container, its bound PASIDs bound by that container.
     */
    private static void checkDevice(List<String> broken, Bdf bdf, int unitId, DeviceTableReader.DeviceView v,
                                    Map<Integer, ContainerRecord> byId, Map<Long, DomainRecord> domains,
                                    Map<Long, VmidRecord> vmids, Map<Long, BindingRecord> bindings,
                                    Map<Long, DmaMappingRecord> dma, Map<Path, PageTableFile> files,
                                    Map<Path, TreeSet<Long>> deviceRoots) {
        PageTableFile file = null;
        for (Map.Entry<Path, PageTableFile> e : files.entrySet()) {
            PageTableFile f = e.getValue();
            if (v.stage2RootPa() >= f.paBase() && v.stage2RootPa() < f.paLimit()) {
                file = f;
                deviceRoots.computeIfAbsent(e.getKey(), k -> new TreeSet<>()).add(v.stage2RootPa());
            }
        }
        String why = MountReachability.unbacked(unitId, v.vmid(), domains.values(),
                vmid -> vmids.containsKey(Integer.toUnsignedLong(vmid)));
        if (why != null) {
            broken.add("device-domain: " + bdf + " is present (DID " + v.vmid() + "): " + why);
            return;
        }
        if (file == null) {
            broken.add("device-root: " + bdf + " walks 0x" + Long.toHexString(v.stage2RootPa()) + ", in no table file");
            return;
        }
        String fileName = file.path().getFileName().toString();
        DomainRecord d = null;
        for (DomainRecord r : domains.values()) {
            if (r.unitId() == unitId && r.vmid() == v.vmid()
                    && fileName.equals(r.pgtableFile() + PkernfsMount.PGTABLE_SUFFIX)) {
                d = r;
            }
        }
        if (d == null) {
            broken.add("device-file: " + bdf + " walks " + fileName + ", the file of no domain with VMID " + v.vmid());
            return;
        }
        ContainerRecord c = byId.get(d.containerId());
        for (BoundPasidEntry bp : v.boundPasids()) {
            BindingRecord b = bindings.get((long) bp.pasid());
            if (b == null || b.containerId() != d.containerId()) {
                broken.add("device-pasid: " + bdf + " has PASID " + bp.pasid() + " bound, no binding record of container " + d.containerId());
            }
        }
        if (c == null) {
            return; // domain-container reports it
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

    private static void checkPages(List<String> broken, PageTableFile f, TreeSet<Long> deviceRoots,
                                   org.pkstore.persist.IntentJournal.Intent pending) {
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
        BitSet live = MountReachability.reachable(f, deviceRoots, pending, new PageTableVisitor() {});
        if (!live.equals(reached)) {
            broken.add("reachability: " + name + " the shared definition reaches " + live.cardinality() + " pages, the walk "
                    + reached.cardinality());
        }
        for (long p = f.firstTablePage(); p < f.capacityPages(); p++) {
            boolean allocated = f.isAllocated(p);
            if (allocated && !live.get((int) p)) {
                broken.add("leaked-page: " + name + " page " + p + " is allocated, live by no root (header, device, open intent)");
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
