package org.pkstore.cli;

import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.Superblock;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.FaultRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.VmidRecord;

import org.pkstore.vfio.MountReachability;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The checks of {@code pkstore verify} on top of what loading a {@link MountModel} already found
 * (headers and checksums, every walked descriptor, device-table structure): allocation bitmaps,
 * leaked pages, physical windows, devices against domains, and the registries against each other,
 * the tables and the device tables. Every finding names a file and an offset (or a registry key).
 */
final class Verifier {
    private static final int MAX_LISTED = 20;

    private final MountModel m;
    private final MountView v;
    private final List<Finding> out = new ArrayList<>();
    private final Map<String, Integer> perKindCap = new HashMap<>();

    private Verifier(MountModel m) {
        this.m = m;
        this.v = m.view;
    }

    /** The findings of a full verification, those of loading included, errors first in file order. */
    static List<Finding> verify(MountModel m) {
        Verifier x = new Verifier(m);
        x.out.addAll(m.findings);
        x.mountState();
        x.tableFiles();
        x.windows();
        x.devices();
        if (m.registriesRead) {
            x.registries();
        } else {
            x.out.add(Finding.note("registry", "registry", -1,
                    "registries unreadable: their cross-checks against the tables were skipped"));
        }
        // by file, then offset (registry entries by key); the order of the checks is kept otherwise
        x.out.sort(Comparator.comparing((Finding f) -> f.file() == null ? "" : f.file())
                .thenComparingLong(f -> f.offset() != null ? f.offsetValue() : f.key() != null ? f.key() : Long.MAX_VALUE));
        return x.out;
    }

    private void add(Finding f) {
        // a damaged file can produce thousands of identical-kind findings: keep the first few per file and kind
        String k = f.file() + "|" + f.kind();
        int n = perKindCap.merge(k, 1, Integer::sum);
        if (n <= MAX_LISTED * 5) {
            out.add(f);
        } else if (n == MAX_LISTED * 5 + 1) {
            out.add(Finding.note(f.kind(), f.file(), -1, "more findings of this kind in this file are not listed"));
        }
    }

    // ---- mount state ---------------------------------------------------------------------------------

    private void mountState() {
        MountModel.SuperblockInfo sb = m.superblock();
        if (sb.held()) {
            add(Finding.note("live", Superblock.FILE_NAME, -1, "held by pid " + sb.heldByPid()
                    + ": a host is running, the state may change while it is verified"));
        } else if (Boolean.FALSE.equals(sb.clean())) {
            add(Finding.note("unclean", Superblock.FILE_NAME, Superblock.CLEAN_OFFSET,
                    "the last writer (pid " + sb.lastWriterPid() + ") did not unmount cleanly: the next read-write mount recovers"));
        }
        MountModel.JournalInfo j = m.journal();
        if (j != null && j.active()) {
            add(Finding.note("pending-intent", "intent.log", org.pkstore.persist.IntentJournal.STATE_OFFSET,
                    "intent #" + j.sequence() + " " + j.opName() + " is active: the next boot undoes or finishes it"));
        }
    }

    // ---- table files ---------------------------------------------------------------------------------

    private void tableFiles() {
        for (MountView.TableFile t : v.domainFiles) {
            if (!t.ok()) {
                continue;
            }
            bitmap(t);
            PageTableFile f = t.file();
            if ((f.mutationSeq() & 1) != 0) {
                add(Finding.note("update-in-progress", t.rel(), PageTableFileDescriptor.MUTATION_SEQ_OFFSET,
                        "mutation sequence " + f.mutationSeq() + " is odd: an update was under way (live writer, or a crash)"));
            }
            DomainScan s = m.scans.get(t.name());
            if (s == null) {
                continue;
            }
            for (Finding f2 : s.leaks(MAX_LISTED)) {
                add(f2);
            }
            if (s.leavesOutsideMemory > 0) {
                add(Finding.note("outside-memory", t.rel(), -1, s.leavesOutsideMemory + " leaves map memory outside every "
                        + "guest memory file (first at IOVA 0x" + Long.toHexString(s.firstLeafOutsideMemory) + ")"));
            }
        }
        for (DeviceScan d : m.units) {
            bitmap(d.table);
            for (Finding f : DomainScan.leaks(d.table, d.reachable, MAX_LISTED)) {
                add(f);
            }
        }
    }

    /** Header and bitmap pages, and the bits past the capacity, must be marked allocated forever. */
    private void bitmap(MountView.TableFile t) {
        PageTableFile f = t.file();
        for (long p = 0; p < f.firstTablePage(); p++) {
            if (!f.isAllocated(p)) {
                add(Finding.error("bitmap", t.rel(), PageTableFileDescriptor.BITMAP_OFFSET + (p >>> 6) * 8,
                        "page " + p + " (header or bitmap) is marked free: the allocator could hand it out"));
            }
        }
        long words = (f.capacityPages() + 63) / 64;
        long last = PageTableFileDescriptor.BITMAP_OFFSET + (words - 1) * 8;
        long tail = f.capacityPages() % 64;
        if (tail != 0) {
            long word = f.region().readVolatileLong(last);
            long want = -1L << tail;
            if ((word & want) != want) {
                add(Finding.error("bitmap", t.rel(), last, "bits past the capacity (" + f.capacityPages()
                        + " pages) are not all set"));
            }
        }
    }

    // ---- physical windows -----------------------------------------------------------------------------

    private record Window(String rel, long base, long limit, boolean memory) {}

    private void windows() {
        List<Window> w = new ArrayList<>();
        for (MountView.TableFile t : v.domainFiles) {
            if (t.ok()) {
                w.add(new Window(t.rel(), t.file().paBase(), t.file().paLimit(), false));
            }
        }
        for (MountView.TableFile t : v.unitFiles) {
            if (t.ok()) {
                w.add(new Window(t.rel(), t.file().paBase(), t.file().paLimit(), false));
            }
        }
        for (MountView.MemFile g : v.memoryFiles) {
            if (g.problem() == null) {
                w.add(new Window(g.rel(), g.paBase(), g.paBase() + g.size(), true));
            }
        }
        w.sort(Comparator.comparingLong(Window::base));
        for (int i = 1; i < w.size(); i++) {
            Window a = w.get(i - 1);
            Window b = w.get(i);
            if (b.base() < a.limit()) {
                add(Finding.error("pa-window", b.rel(), b.memory() ? org.pkstore.persist.GuestMemoryFile.PA_BASE_OFFSET
                        : PageTableFileDescriptor.PA_BASE_OFFSET, String.format("physical window [0x%x, 0x%x) overlaps %s's "
                        + "[0x%x, 0x%x): the same physical page would belong to two files", b.base(), b.limit(), a.rel(),
                        a.base(), a.limit())));
            }
        }
        ByteBuffer sb = MountView.readHeader(v.dir.resolve(Superblock.FILE_NAME), Superblock.SIZE);
        long nextTable = sb.getLong(Superblock.NEXT_TABLE_PA_OFFSET);
        long nextMemory = sb.getLong(Superblock.NEXT_MEMORY_PA_OFFSET);
        for (Window x : w) {
            long cursor = x.memory() ? nextMemory : nextTable;
            long first = x.memory() ? Superblock.FIRST_MEMORY_PA : Superblock.FIRST_TABLE_PA;
            if (x.base() < first || x.limit() > cursor) {
                add(Finding.error("pa-window", x.rel(), x.memory() ? org.pkstore.persist.GuestMemoryFile.PA_BASE_OFFSET
                        : PageTableFileDescriptor.PA_BASE_OFFSET, String.format("physical window [0x%x, 0x%x) is outside "
                        + "what the superblock handed out, [0x%x, 0x%x): the next file created would overlap it",
                        x.base(), x.limit(), first, cursor)));
            }
        }
    }

    // ---- devices against domains ----------------------------------------------------------------------

    private void devices() {
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                if (!d.present()) {
                    continue;
                }
                long off = d.entryPa() - u.file.paBase();
                DomainScan s = m.scanWithRoot(d.stage2Root());
                if (m.registriesRead) {
                    String why = MountReachability.unbacked(d.unit(), d.did(), m.domains.values(),
                            vmid -> m.vmids.containsKey(Integer.toUnsignedLong(vmid)));
                    if (why != null) {
                        add(Finding.error("device-domain", u.table.rel(), off, "device " + d.bdf() + " is present with DID "
                                + Integer.toUnsignedString(d.did()) + " but " + why + ": another VM could be given that VMID"));
                    }
                }
                if (s == null && intentKeeps(d.stage2Root())) {
                    add(Finding.note("device-root", u.table.rel(), off, "device " + d.bdf() + " walks 0x"
                            + Long.toHexString(d.stage2Root()) + ", a tree the open " + m.journal().opName()
                            + " intent still needs: the next boot finishes the swap (kept live, never reclaimed)"));
                    continue;
                }
                if (s == null) {
                    MountView.TableFile holder = v.tableFileAt(d.stage2Root());
                    add(Finding.error("device-root", u.table.rel(), off, "device " + d.bdf() + "'s stage-2 root 0x"
                            + Long.toHexString(d.stage2Root()) + (holder == null ? " lies in no page-table file"
                            : " is inside " + holder.rel() + " but is not its root table") + ": its DMA walks unknown memory"));
                    continue;
                }
                DomainRecord r = m.domainOfFile(s.table.name());
                if (r != null && m.registriesRead) {
                    if (r.vmid() != d.did()) {
                        add(Finding.error("vmid", u.table.rel(), off, "device " + d.bdf() + " is tagged DID/VMID " + d.did()
                                + " but its domain " + r.domainId() + " (" + s.table.rel() + ") has VMID "
                                + Integer.toUnsignedString(r.vmid()) + ": IOTLB entries would be tagged wrongly"));
                    }
                    if (r.unitId() != d.unit()) {
                        add(Finding.error("device-root", u.table.rel(), off, "device " + d.bdf() + " on unit " + d.unit()
                                + " walks domain " + r.domainId() + ", which the registry puts on unit " + r.unitId()));
                    }
                }
            }
        }
    }

    /** True when the journal's open intent names {@code root} as a tree it still needs. */
    private boolean intentKeeps(long root) {
        for (long r : MountReachability.intentRoots(m.pendingIntent)) {
            if (r == root && root != 0) {
                return true;
            }
        }
        return false;
    }

    // ---- registries ----------------------------------------------------------------------------------

    private static String reg(String name) {
        return "registry/" + name + ".cmap";
    }

    private void registries() {
        Map<Integer, Integer> vmidUsers = new TreeMap<>();
        for (ContainerRecord c : m.containers.values()) {
            String f = reg("containers");
            if (c.vmid() != -1) {
                vmidUsers.merge(c.vmid(), 1, Integer::sum);
                if (!m.vmids.containsKey(Integer.toUnsignedLong(c.vmid()))) {
                    add(Finding.registryError("vmid", f, (long) c.containerId(), "container " + c.containerId()
                            + " uses VMID " + Integer.toUnsignedString(c.vmid()) + ", which the vmids registry does not hold"));
                }
            }
            if (c.domainId() != 0 && !m.domains.containsKey(c.domainId())) {
                add(Finding.registryError("registry-ref", f, (long) c.containerId(), "container " + c.containerId()
                        + " names domain " + c.domainId() + ", which the domains registry does not hold"));
            }
            if (!c.pgtableFile().isEmpty() && v.domainFile(c.pgtableFile()) == null) {
                add(Finding.registryError("registry-ref", f, (long) c.containerId(), "container " + c.containerId()
                        + " names page-table file pgtables/" + c.pgtableFile() + ".pt, which does not exist"));
            }
        }
        Map<String, Long> fileOwner = new HashMap<>();
        for (DomainRecord d : m.domains.values()) {
            String f = reg("domains");
            MountView.TableFile t = v.domainFile(d.pgtableFile());
            if (t == null) {
                add(Finding.registryError("registry-ref", f, d.domainId(), "domain " + d.domainId()
                        + " uses pgtables/" + d.pgtableFile() + ".pt, which does not exist"));
            } else if (t.ok() && t.file().format() != d.format()) {
                add(Finding.registryError("registry-ref", f, d.domainId(), "domain " + d.domainId() + " has format "
                        + d.format() + " but " + t.rel() + " holds format " + t.file().format()));
            }
            Long prev = fileOwner.put(d.pgtableFile(), d.domainId());
            if (prev != null) {
                add(Finding.registryError("registry-ref", f, d.domainId(), "domains " + prev + " and " + d.domainId()
                        + " both use pgtables/" + d.pgtableFile() + ".pt"));
            }
            ContainerRecord c = m.containers.get((long) d.containerId());
            if (c == null) {
                add(Finding.registryError("registry-ref", f, d.domainId(), "domain " + d.domainId() + " belongs to container "
                        + d.containerId() + ", which the containers registry does not hold"));
            } else if (c.vmid() != d.vmid()) {
                add(Finding.registryError("vmid", f, d.domainId(), "domain " + d.domainId() + " has VMID "
                        + Integer.toUnsignedString(d.vmid()) + " but its container " + c.containerId() + " has "
                        + Integer.toUnsignedString(c.vmid())));
            }
            boolean unitFile = v.unitFiles.stream().anyMatch(u -> u.ok() && MountView.unitId(u) == d.unitId());
            if (!unitFile) {
                add(Finding.registryError("registry-ref", f, d.domainId(), "domain " + d.domainId() + " is on unit "
                        + d.unitId() + ", which has no device-table file in iommu/"));
            }
        }
        // the holders the recovering boot rebuilds the counts from (org.pkstore.vfio.VmidOwners): container records,
        // and a VMID named only by a domain record or a present device entry's DID holds one more
        List<org.pkstore.vfio.VmidOwners.DeviceHold> holds = new ArrayList<>();
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                if (d.present()) {
                    holds.add(new org.pkstore.vfio.VmidOwners.DeviceHold(d.unit(), d.bdf(), d.did(), List.of()));
                }
            }
        }
        vmids(org.pkstore.vfio.VmidOwners.vmidCounts(m.containers.values(), m.domains.values(), holds, note -> { }));
        for (PasidRecord p : m.pasids.values()) {
            if (!m.containers.containsKey((long) p.containerId())) {
                add(Finding.registryError("pasid", reg("pasids"), (long) p.pasid(), "PASID " + p.pasid()
                        + " is owned by container " + p.containerId() + ", which the containers registry does not hold"));
            }
        }
        bindings();
        for (GroupRecord g : m.groups.values()) {
            if (!m.containers.containsKey((long) g.containerId())) {
                add(Finding.registryError("registry-ref", reg("groups"), (long) g.groupId(), "group " + g.groupId()
                        + " is attached to container " + g.containerId() + ", which does not exist"));
            }
        }
        for (Map.Entry<Long, FaultRecord> e : m.faults.entrySet()) {
            if (!m.containers.containsKey((long) e.getValue().containerId())) {
                add(Finding.registryError("registry-ref", reg("faults"), e.getKey(), "fault for container "
                        + e.getValue().containerId() + ", which does not exist"));
            }
        }
        guestStages();
        SmmuNestedScan.check(m).forEach(this::add);
        dma();
    }

    private void vmids(Map<Integer, Integer> users) {
        for (VmidRecord r : m.vmids.values()) {
            int n = users.getOrDefault(r.vmid(), 0);
            if (n != r.users()) {
                add(Finding.registryError("vmid", reg("vmids"), Integer.toUnsignedLong(r.vmid()), "VMID "
                        + Integer.toUnsignedString(r.vmid()) + " records " + r.users() + " users but " + n
                        + " holders (containers; a domain record or device entry naming it alone) use it" + (n == 0 ? " (a leaked VMID)" : "")));
            }
        }
        // one tag, one configuration (docs/UAPI.md, SET_VMID row): domains of one unit sharing a VMID
        // must translate every IOVA alike, else a device of one hits the other's cached translations
        Map<String, List<DomainRecord>> perUnitVmid = new TreeMap<>();
        for (DomainRecord d : m.domains.values()) {
            perUnitVmid.computeIfAbsent(d.unitId() + "/" + Integer.toUnsignedString(d.vmid()), k -> new ArrayList<>())
                    .add(d);
        }
        perUnitVmid.forEach((k, ds) -> {
            for (int i = 1; i < ds.size(); i++) {
                sharedVmid(ds.get(0), ds.get(i));
            }
        });
    }

    private void sharedVmid(DomainRecord first, DomainRecord other) {
        DomainScan a = m.scans.get(first.pgtableFile());
        DomainScan b = m.scans.get(other.pgtableFile());
        String both = "domains " + first.domainId() + " (" + first.pgtableFile() + ") and " + other.domainId() + " ("
                + other.pgtableFile() + ") share VMID " + Integer.toUnsignedString(first.vmid()) + " on unit "
                + first.unitId();
        if (a == null || b == null || a.ranges == null || b.ranges == null || a.hasErrors() || b.hasErrors()) {
            add(Finding.note("shared-vmid", reg("vmids"), -1, both + "; their tables could not both be walked, "
                    + "so whether they translate alike is not known"));
            return;
        }
        if (first.format() != other.format()) {
            add(Finding.error("shared-vmid", b.table.rel(), -1, both + " but use different stage-2 formats"));
            return;
        }
        long at = RangeList.firstDifference(a.ranges, b.ranges);
        if (at >= 0) {
            add(Finding.error("shared-vmid", b.table.rel(), -1, both + " but translate IOVA 0x" + Long.toHexString(at)
                    + " differently (" + describe(a.ranges, at) + " versus " + describe(b.ranges, at)
                    + "): a device of one would use the other's IOTLB entries"));
        }
    }

    private static String describe(RangeList r, long iova) {
        int i = r.find(iova);
        return i < 0 ? "unmapped" : "PA 0x" + Long.toHexString(r.pa(i) + (iova - r.iova(i))) + " prot " + r.prot(i);
    }

    /** Devices attached to the domain of container {@code c} (through the device tables). */
    private List<DeviceScan.Device> devicesOf(int containerId) {
        ContainerRecord c = m.containers.get((long) containerId);
        DomainRecord d = c == null ? null : m.domains.get(c.domainId());
        DomainScan s = d == null ? null : m.scans.get(d.pgtableFile());
        return s == null ? List.of() : m.devicesWithRoot(s.root);
    }

    /** The bind flags a VT-d PASID entry holds (SRE, EAFE): the rest is registry bookkeeping. */
    private static final long VTD_ENTRY_FLAGS = org.pkstore.vfio.uapi.IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_SRE
            | org.pkstore.vfio.uapi.IommuGpasidBindDataVtd.IOMMU_SVA_VTD_GPASID_EAFE;

    private void bindings() {
        String f = reg("bindings");
        for (BindingRecord b : m.bindings.values()) {
            PasidRecord p = m.pasids.get((long) b.hpasid());
            if (p == null) {
                add(Finding.registryError("binding", f, (long) b.hpasid(), "binding of PASID " + b.hpasid()
                        + " (container " + b.containerId() + ") points to a PASID that is not allocated"));
            } else if (p.containerId() != b.containerId()) {
                add(Finding.registryError("binding", f, (long) b.hpasid(), "PASID " + b.hpasid() + " is owned by container "
                        + p.containerId() + " but bound by container " + b.containerId()));
            }
            if (!m.containers.containsKey((long) b.containerId())) {
                add(Finding.registryError("binding", f, (long) b.hpasid(), "binding of PASID " + b.hpasid()
                        + " belongs to container " + b.containerId() + ", which does not exist"));
                continue;
            }
            for (DeviceScan.Device d : devicesOf(b.containerId())) {
                if ("smmuv3".equals(d.driver())) {
                    continue; // no host PASID record: the STE and the guest's CD say it (SmmuNestedScan)
                }
                BoundPasidEntry e = null;
                for (BoundPasidEntry x : d.bound()) {
                    if (x.pasid() == b.hpasid()) {
                        e = x;
                    }
                }
                if (e == null) {
                    add(Finding.registryError("binding", f, (long) b.hpasid(), "PASID " + b.hpasid() + " is bound in the "
                            + "registry but not in device " + d.bdf() + "'s PASID table (unit " + d.unit() + ")"));
                } else if (e.gpgd() != b.gpgd() || e.addrWidth() != b.addrWidth()
                        // a VT-d PASID entry has no gpasid (bookkeeping, registry only) but has SRE and EAFE
                        || ("vtd".equals(d.driver()) ? e.vtdFlags() != (b.vtdFlags() & VTD_ENTRY_FLAGS) : e.gpasid() != b.gpasid())) {
                    add(Finding.registryError("binding", f, (long) b.hpasid(), "PASID " + b.hpasid() + " on device " + d.bdf()
                            + ": the device table says gpgd 0x" + Long.toHexString(e.gpgd()) + " gpasid " + e.gpasid()
                            + ", the registry gpgd 0x" + Long.toHexString(b.gpgd()) + " gpasid " + b.gpasid()));
                }
            }
        }
        for (DeviceScan u : m.units) {
            for (DeviceScan.Device d : u.devices) {
                if ("smmuv3".equals(d.driver())) {
                    continue; // valid CDs are the guest's own (in its memory, within S1CDMax): SmmuNestedScan
                }
                DomainScan s = d.present() ? m.scanWithRoot(d.stage2Root()) : null;
                DomainRecord r = s == null ? null : m.domainOfFile(s.table.name());
                for (BoundPasidEntry e : d.bound()) {
                    BindingRecord b = m.bindings.get((long) e.pasid());
                    if (b == null) {
                        add(Finding.error("binding", u.table.rel(), d.entryPa() - u.file.paBase(), "PASID " + e.pasid()
                                + " is bound in device " + d.bdf() + "'s PASID table but has no binding record"));
                    } else if (r != null && b.containerId() != r.containerId()) {
                        add(Finding.error("binding", u.table.rel(), d.entryPa() - u.file.paBase(), "PASID " + e.pasid()
                                + " on device " + d.bdf() + " is bound by container " + b.containerId()
                                + " but the device belongs to container " + r.containerId() + "'s domain"));
                    }
                }
            }
        }
    }

    private void guestStages() {
        for (GuestStageRecord g : m.guestStages.values()) {
            if (!m.containers.containsKey((long) g.containerId())) {
                add(Finding.registryError("registry-ref", reg("guest-stages"), (long) g.containerId(),
                        "guest stage of container " + g.containerId() + ", which does not exist"));
                continue;
            }
            for (DeviceScan.Device d : devicesOf(g.containerId())) {
                if ("vtd".equals(d.driver())) {
                    add(Finding.registryError("guest-stage", reg("guest-stages"), (long) g.containerId(),
                            "container " + g.containerId() + " has a guest stage on VT-d device " + d.bdf()
                                    + ", whose tables have no guest PASID table (nesting is per PASID)"));
                    continue;
                }
                long want = g.basePtr() & SmmuStreamTableEntry.W0_S1CTXPTR;
                if (d.guestStageBase() != want) {
                    add(Finding.registryError("guest-stage", reg("guest-stages"), (long) g.containerId(),
                            "container " + g.containerId() + "'s guest stage base 0x" + Long.toHexString(g.basePtr())
                                    + " is not in device " + d.bdf() + "'s entry (it holds 0x"
                                    + Long.toHexString(d.guestStageBase()) + ")"));
                }
            }
        }
    }

    /** Every DMA record is mapped exactly so in its domain's tables, and every mapping has a record. */
    private void dma() {
        String f = reg("dma");
        Map<Integer, List<DmaMappingRecord>> byContainer = new TreeMap<>();
        for (Map.Entry<Long, DmaMappingRecord> e : m.dma.entrySet()) {
            DmaMappingRecord r = e.getValue();
            if (!m.containers.containsKey((long) r.containerId())) {
                add(Finding.registryError("registry-ref", f, e.getKey(), "DMA mapping at IOVA 0x" + Long.toHexString(r.iova())
                        + " belongs to container " + r.containerId() + ", which does not exist"));
                continue;
            }
            byContainer.computeIfAbsent(r.containerId(), k -> new ArrayList<>()).add(r);
        }
        for (ContainerRecord c : m.containers.values()) {
            DomainRecord d = m.domains.get(c.domainId());
            DomainScan s = d == null ? null : m.scans.get(d.pgtableFile());
            if (s == null || s.ranges == null || s.hasErrors()) {
                continue; // no tables to compare with, or already reported as damaged
            }
            List<DmaMappingRecord> recs = new ArrayList<>(byContainer.getOrDefault(c.containerId(), List.of()));
            recs.sort(Comparator.comparingLong(DmaMappingRecord::iova));
            PageTableFormat fmt = s.format;
            RangeList r = s.ranges;
            for (DmaMappingRecord rec : recs) {
                String bad = mismatch(r, fmt, rec);
                if (bad != null) {
                    add(Finding.registryError("dma", f, rec.key(), "container " + c.containerId() + " mapping [0x"
                            + Long.toHexString(rec.iova()) + ", 0x" + Long.toHexString(rec.iova() + rec.size()) + ") -> 0x"
                            + Long.toHexString(rec.pa()) + ": " + bad + " in " + s.table.rel()));
                }
            }
            // mapped in the tables but covered by no record
            int k = 0;
            for (int i = 0; i < r.size(); i++) {
                long cur = r.iova(i);
                long end = r.end(i);
                while (cur < end) {
                    while (k < recs.size() && recs.get(k).iova() + recs.get(k).size() <= cur) {
                        k++;
                    }
                    if (k >= recs.size() || recs.get(k).iova() > cur) {
                        long gapEnd = k >= recs.size() ? end : Math.min(end, recs.get(k).iova());
                        add(Finding.error("dma", s.table.rel(), -1, String.format("IOVA [0x%x, 0x%x) is mapped in the "
                                + "tables but no DMA mapping record of container %d covers it", cur, gapEnd, c.containerId())));
                        cur = gapEnd;
                    } else {
                        cur = Math.min(end, recs.get(k).iova() + recs.get(k).size());
                    }
                }
            }
        }
    }

    private static String mismatch(RangeList r, PageTableFormat fmt, DmaMappingRecord rec) {
        int want = fmt.protOf(fmt.makeLeaf(0, rec.prot(), PageTableGeometry.LEAF_LEVEL), PageTableGeometry.LEAF_LEVEL);
        long end = rec.iova() + rec.size();
        long cur = rec.iova();
        int i = r.find(cur);
        while (cur < end) {
            if (i < 0 || i >= r.size() || r.iova(i) > cur) {
                return String.format("IOVA 0x%x is not mapped", cur);
            }
            long pa = r.pa(i) + (cur - r.iova(i));
            if (pa != rec.pa() + (cur - rec.iova())) {
                return String.format("IOVA 0x%x maps to 0x%x, the record says 0x%x", cur, pa, rec.pa() + (cur - rec.iova()));
            }
            if (r.prot(i) != want) {
                return String.format("IOVA 0x%x is mapped %s, the record says %s", cur, Prot.toString(r.prot(i)),
                        Prot.toString(want));
            }
            cur = Math.min(end, r.end(i));
            i++;
        }
        return null;
    }
}
