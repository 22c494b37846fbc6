package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.vfio.DomainHotswap;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.VmmAddressSpace;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioUapi;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The VMM of one host boot, driving the kernel only through ioctls ({@link VfioClient}). On the
 * first boot it does what a VMM does when it starts a VM with assigned devices; after a kexec what
 * docs/LIVE-UPDATE.md "Reattach" describes: reopen the same page-table file,
 * SET_PERSISTENT_PGTABLES again, attach the groups, SET_IOMMU (the domain is allocated on the
 * existing root), then MAP_DMA with the live-update flag for every mapping it had. Its own state
 * ({@link VmmState}) it keeps beside the mount, as QEMU keeps its own.
 */
final class GuestVmm {
    static final long GUEST_VADDR = 0x7f00_0000_0000L;
    static final String GUEST_MEMORY = "guest0";
    /** GPA of the guest's linear SMMUv3 CD table: a page of its own in the first GiB, clear of DMA slots. */
    static final long CD_TABLE_GPA = 0x0123_0800L;
    private static final int READ_WRITE =
            VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE;

    private final Path work;
    private final PkernfsMount mount;
    private final VfioKernel kernel;
    private final VfioClient client;
    private final HostBoot boot;
    private final List<Integer> containerFds = new ArrayList<>();
    private VmmState vmm;

    GuestVmm(Path work, HostBoot boot) {
        this.work = work;
        this.boot = boot;
        this.mount = boot.mount();
        this.kernel = boot.kernel();
        this.client = boot.client();
    }

    /** The container fds, in the order of the VMM state's containers. */
    List<Integer> containerFds() {
        return containerFds;
    }

    // ---- first boot: the VMM starts the VM ------------------------------------------------------

    HostReply.SetUp setup(RehearsalPlan plan) {
        if (plan.problem() != null) {
            throw new IllegalArgumentException(plan.problem());
        }
        vmm = new VmmState();
        vmm.driver = boot.driver().configName();
        VmmState.GuestMemory gm = new VmmState.GuestMemory();
        gm.name = GUEST_MEMORY;
        gm.vaddr = GUEST_VADDR;
        gm.size = plan.guestMemoryBytes;
        vmm.guestMemory.add(gm);
        check("mmap guest memory", kernel.mapGuestMemory(gm.vaddr, gm.size, gm.name));
        long t0 = System.nanoTime();
        double emptyAttachMs = 0;
        for (int c = 0; c < 2; c++) {
            VmmState.Container vc = new VmmState.Container();
            vc.group = c + 1;
            vc.bdf = c == 0 ? "00:01.0" : "00:02.0";
            vc.pgtableFile = "vm0-c" + c;
            vc.iommuType = VfioUapi.VFIO_TYPE1_NESTING_IOMMU;
            vc.mappings.add(mapping("ram-1g", 0, GUEST_VADDR, 1L << 30));
            vc.mappings.add(mapping("ram-2m", 1L << 30, GUEST_VADDR + (1L << 30), 1L << 29));
            // one VM, one guest: both containers map the same guest memory at the same IOVAs, as they
            // share one VMID (docs/UAPI.md, SET_VMID row: one tag, one configuration)
            vc.mappings.add(mapping("ram-4k", RehearsalPlan.SMALL_PAGES_IOVA, GUEST_VADDR + RehearsalPlan.SMALL_PAGES_OFFSET,
                    plan.smallMappings * 4096L));
            vc.mappings.add(mapping("ram-4k-bulk", plan.bulkPagesIova(), GUEST_VADDR + plan.bulkPagesOffset(),
                    plan.largeMappings * 4096L));
            vmm.containers.add(vc);
            long ta = System.nanoTime();
            int cfd = openAndAttach(vc, true, new AttachTimer());
            // the slower of the two: the host warms nothing up, so the kexec's attach it is compared
            // with runs cold code too (docs/REPORT.md, the attach check)
            emptyAttachMs = Math.max(emptyAttachMs, Millis.exact(System.nanoTime() - ta));
            for (VmmState.Mapping m : vc.mappings) {
                check("MAP_DMA " + m.label, client.mapDma(cfd, m.vaddr, m.iova, m.size, m.flags));
            }
        }
        long tMap = System.nanoTime();
        // docs/UAPI.md VFIO_IOMMU_GET_VMID, _SET_VMID rows: both containers of the VM share the first one's VMID
        VfioClient.Vmid v = client.getVmid(containerFds.get(0));
        check("GET_VMID", v.ret());
        check("SET_VMID", client.setVmid(containerFds.get(1), v.vmid()));
        // docs/UAPI.md VFIO_IOMMU_PASID_REQUEST, _BIND rows: PASIDs, a guest page table bound to the first
        List<Integer> pasids = new ArrayList<>();
        for (int i = 0; i < plan.pasids; i++) {
            VfioClient.Pasid p = client.allocPasid(containerFds.get(0), 1, (1 << 20) - 1);
            check("PASID alloc", p.ret());
            pasids.add(p.pasid());
        }
        if (!pasids.isEmpty()) {
            // the guest builds its own first-stage table in its RAM, then asks for it to be bound
            VmmState.Container c0 = vmm.containers.get(0);
            GuestStage1.Ram ram = new GuestStage1.Ram(mount.openGuestMemory(gm.name), gm.vaddr, c0.mappings);
            vmm.stage1 = GuestStage1.build(GuestStage1.formatFor(vmm.driver), ram, plan);
            vmm.stage1.pasid = pasids.get(0);
            vmm.stage1.bdf = c0.bdf;
            bindStage1(vmm.stage1.rootGpa, pasids);
        }
        // an unrecoverable fault the VMM has not read yet: it must survive the kexec
        kernel.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x7000_0000_0000L, Prot.WRITE);
        saveVmm();
        return new HostReply.SetUp(Millis.whole(tMap - t0), v.vmid(), pasids, boot.descriptorWrites(), emptyAttachMs);
    }

    /**
     * Binds the guest's first-stage root to the first PASID (docs/UAPI.md, VFIO_IOMMU_BIND row): for
     * VT-d the guest PGD is the first-level root GPA, 4-level (addr_width 48). SMMUv3 is nested
     * ({@link #bindSmmuNested}): the guest writes a context descriptor naming the root, then binds its
     * CD table.
     */
    private void bindStage1(long rootGpa, List<Integer> pasids) {
        int cfd = containerFds.get(0);
        if (boot.driver() == IommuDriver.VTD) {
            check("BIND gpasid", client.bindGuestPgtbl(cfd, true, pasids.get(0), rootGpa, pasids.get(0), true, 48, 0, 0, 0));
        } else {
            bindSmmuNested(rootGpa, List.of(pasids.get(0)));
        }
    }

    /**
     * SMMUv3 nested binding as a guest with a virtual SMMU makes it (docs/UAPI.md, BIND rows, format
     * SMMUV3): the guest writes a linear CD table into its own memory, through the VMM's mapping of
     * guest RAM (GPA x is at {@code GUEST_VADDR + x}), one CD per PASID at {@code 64 * PASID}
     * ({@link SmmuContextDescriptor#encode}: stage-1 root {@code stage1RootGpa}, ASID = the PASID,
     * 48-bit input), words 1..7 before word 0 (V) as Linux's arm_smmu_write_cd_entry orders them; then
     * the VMM binds each PASID with gpgd = the table's GPA. The host writes no CD.
     */
    void bindSmmuNested(long stage1RootGpa, List<Integer> pasids) {
        int cfd = containerFds.get(0);
        for (int pasid : pasids) {
            guestWrite(CD_TABLE_GPA + SmmuContextDescriptor.offset(pasid),
                    SmmuContextDescriptor.encode(stage1RootGpa, pasid, SmmuContextDescriptor.T0SZ_48));
        }
        for (int pasid : pasids) {
            check("BIND SSID " + pasid, client.bindSmmuCdTable(cfd, true, pasid, CD_TABLE_GPA, pasid));
        }
    }

    /** Stores {@code words} at guest-physical {@code gpa}, word 0 last, as the guest's CPU would. */
    private void guestWrite(long gpa, long[] words) {
        long vaddr = GUEST_VADDR + gpa;
        long pa = kernel.vmm().resolve(vaddr, 8L * words.length);
        for (VmmAddressSpace.Mapping m : kernel.vmm().mappings().values()) {
            if (pa >= 0 && m.memory().contains(pa, 8L * words.length)) {
                for (int i = words.length - 1; i >= 0; i--) {
                    m.memory().writeLong(pa + 8L * i, words[i]);
                }
                return;
            }
        }
        throw new IllegalStateException("GPA 0x" + Long.toHexString(gpa) + " is outside the guest's memory");
    }

    private static VmmState.Mapping mapping(String label, long iova, long vaddr, long size) {
        VmmState.Mapping m = new VmmState.Mapping();
        m.label = label;
        m.iova = iova;
        m.vaddr = vaddr;
        m.size = size;
        m.flags = READ_WRITE;
        return m;
    }

    /**
     * open container, page-table file; SET_PERSISTENT_PGTABLES; open group, SET_CONTAINER;
     * SET_IOMMU; each step's time recorded in {@code t}.
     */
    private int openAndAttach(VmmState.Container vc, boolean create, AttachTimer t) {
        int cfd = client.openContainer();
        check("open container", cfd);
        t.openContainer = t.lap();
        int pfd = client.openPageTableFile(vc.pgtableFile, create);
        check("open " + vc.pgtableFile, pfd);
        t.openPgtableFile = t.lap();
        check("SET_PERSISTENT_PGTABLES", client.setPersistentPgtables(cfd, pfd));
        t.setPersistentPgtables = t.lap();
        int gfd = client.openGroup(vc.group);
        check("open group " + vc.group, gfd);
        check("GROUP_SET_CONTAINER", client.setContainer(gfd, cfd));
        t.groupSetContainer = t.lap();
        check("SET_IOMMU", client.setIommu(cfd, vc.iommuType));
        t.setIommu = t.lap();
        containerFds.add(cfd);
        return cfd;
    }

    /** The laps of one {@link #openAndAttach}, in ms. */
    private static final class AttachTimer {
        private long since = System.nanoTime();
        double openContainer;
        double openPgtableFile;
        double setPersistentPgtables;
        double groupSetContainer;
        double setIommu;

        double lap() {
            long now = System.nanoTime();
            double ms = Millis.exact(now - since);
            since = now;
            return ms;
        }

        HostReply.AttachSteps steps() {
            return new HostReply.AttachSteps(openContainer, openPgtableFile, setPersistentPgtables, groupSetContainer,
                    setIommu);
        }
    }

    // ---- after a kexec: reattach ------------------------------------------------------------------

    HostReply.Reattached reattach(Strategy strategy) throws IOException {
        long tState = System.nanoTime();
        vmm = VmmState.read(work.resolve(WorkDirectory.VMM_STATE));
        long tMemory = System.nanoTime();
        for (VmmState.GuestMemory gm : vmm.guestMemory) {
            check("mmap guest memory", kernel.mapGuestMemory(gm.vaddr, gm.size, gm.name));
        }
        long tContainers = System.nanoTime();
        List<HostReply.ContainerReattach> per = new ArrayList<>();
        long totalAttachWrites = 0;
        long totalReestablishWrites = 0;
        for (VmmState.Container vc : vmm.containers) {
            long w0 = boot.descriptorWrites();
            long t0 = System.nanoTime();
            AttachTimer steps = new AttachTimer();
            int cfd = openAndAttach(vc, false, steps);
            long t1 = System.nanoTime();
            long w1 = boot.descriptorWrites();
            long leaves4k = 0;
            for (VmmState.Mapping m : vc.mappings) {
                int ret = client.liveUpdateMapDma(cfd, m.vaddr, m.iova, m.size, m.flags);
                if (ret != 0) {
                    long at = kernel.container(cfd).lastLiveUpdateMismatch();
                    throw new RehearsalException("live-update MAP_DMA " + m.label + " refused (" + VfioClient.result(ret)
                            + "): tables differ first at IOVA 0x" + Long.toHexString(at));
                }
                leaves4k += m.label.startsWith("ram-4k") ? m.size / 4096 : 0;
            }
            long t2 = System.nanoTime();
            long w2 = boot.descriptorWrites();
            totalAttachWrites += w1 - w0;
            totalReestablishWrites += w2 - w1;
            per.add(new HostReply.ContainerReattach(steps.steps(), vc.pgtableFile, leaves4k, Millis.exact(t1 - t0),
                    Millis.exact(t2 - t1), w1 - w0, w2 - w1, 0));
        }
        // a hotswap strategy swaps every domain's table before the VMM resumes (as the blackout always counted it)
        List<HostReply.Hotswap> swapped = strategy == Strategy.HOTSWAP ? hotswap() : null;
        // every domain attached, every live-update MAP_DMA accepted: the VMM resumes the guest here.
        // What follows is for the rehearsal's checks (VMIDs kept, pending faults delivered), after it.
        long tResumed = System.nanoTime();
        for (int i = 0; i < per.size(); i++) {
            HostReply.ContainerReattach c = per.get(i);
            per.set(i, new HostReply.ContainerReattach(c.attachSteps(), c.pgtableFile(), c.mappings4k(),
                    c.domainAttachMs(), c.reestablishMs(), c.descriptorWritesAttach(), c.descriptorWritesReestablish(),
                    client.getVmid(containerFds.get(i)).vmid()));
        }
        VfioClient.Faults f = client.readFaults(containerFds.get(0), 64);
        HostReply.ReattachSteps laps = new HostReply.ReattachSteps(Millis.exact(tMemory - tState),
                Millis.exact(tContainers - tMemory), Millis.exact(System.nanoTime() - tResumed), tState, tResumed);
        return new HostReply.Reattached(per, totalAttachWrites, totalReestablishWrites,
                f.ret() == 0 ? f.faults().size() : f.ret(), swapped, laps);
    }

    /** Hotswap every domain: see {@link DomainHotswap}. */
    private List<HostReply.Hotswap> hotswap() {
        List<HostReply.Hotswap> out = new ArrayList<>();
        for (int cfd : containerFds) {
            out.add(hotswap(cfd));
        }
        return out;
    }

    /** Hotswap the domain of the {@code index}th container (a hotswap kill point freezes inside it). */
    HostReply.HotswapDone hotswapContainer(int index) {
        return new HostReply.HotswapDone(hotswap(containerFds.get(index)));
    }

    private HostReply.Hotswap hotswap(int cfd) {
        DomainHotswap.Result h = DomainHotswap.swap(kernel, cfd);
        return new HostReply.Hotswap(h.pgtableFile(), "0x" + Long.toHexString(h.oldRoot()),
                "0x" + Long.toHexString(h.newRoot()), h.descriptorsWritten(), Millis.exact(h.buildNanos()),
                Millis.exact(h.switchNanos()), Millis.exact(h.freeNanos()), h.oldPagesFreed());
    }

    // ---- observation -----------------------------------------------------------------------------

    HostReply.HostState state() {
        List<Integer> vmids = new ArrayList<>();
        for (int cfd : containerFds) {
            vmids.add(client.getVmid(cfd).vmid());
        }
        List<String> pasids = new ArrayList<>();
        for (PasidRecord p : mount.registries().pasids.values()) {
            pasids.add(p.pasid() + "@c" + p.containerId());
        }
        List<String> bindings = new ArrayList<>();
        for (BindingRecord b : mount.registries().bindings.values()) {
            bindings.add("hpasid " + b.hpasid() + " gpasid " + b.gpasid() + " gpgd 0x" + Long.toHexString(b.gpgd()));
        }
        return new HostReply.HostState(mount.generation(), vmids, pasids, bindings, mount.registries().faults.size(),
                mount.registries().dmaMappings.size(), boot.descriptorWrites());
    }

    /**
     * Records versus tables, per container: every DMA record's range is mapped exactly, and the
     * domain maps nothing a record does not account for. After a crash this is what "entirely
     * present or entirely absent" means.
     */
    HostReply.Consistency consistency() {
        Map<String, HostReply.ContainerConsistency> out = new LinkedHashMap<>();
        for (int i = 0; i < containerFds.size(); i++) {
            var c = kernel.container(containerFds.get(i));
            var d = c.domain();
            long recordBytes = 0;
            long bad = 0;
            String firstBad = null;
            for (DmaMappingRecord m : c.mappings().values()) {
                recordBytes += m.size();
                long at = d.firstMismatch(m.iova(), m.size(), m.pa(), m.prot());
                if (at != -1) {
                    bad++;
                    if (firstBad == null) {
                        firstBad = "record iova 0x" + Long.toHexString(m.iova()) + " differs at 0x" + Long.toHexString(at);
                    }
                }
            }
            long mapped = d.pageTable().mappedBytes();
            out.put("container" + i, new HostReply.ContainerConsistency(c.mappings().size(), recordBytes, mapped, bad,
                    bad == 0 && mapped == recordBytes, firstBad));
        }
        return new HostReply.Consistency(out);
    }

    /** The first container's DMA records inside the churn window, "IOVA SIZE" in hex, by IOVA. */
    HostReply.ChurnWindow churnWindow() {
        List<String> out = new ArrayList<>();
        var c = kernel.container(containerFds.get(0));
        for (DmaMappingRecord m : c.mappings().values()) {
            if (m.iova() >= DmaChurn.CHURN_IOVA && m.iova() < DmaChurn.CHURN_IOVA + DmaChurn.CHURN_WINDOW) {
                out.add(Long.toHexString(m.iova()) + " " + Long.toHexString(m.size()));
            }
        }
        out.sort(null);
        return new HostReply.ChurnWindow(out);
    }

    /** The VMM drops whatever its churn left in the scratch window (it does not remember those). */
    HostReply.ChurnCleanedUp churnCleanup() {
        VfioClient.Unmapped u = client.unmapDma(containerFds.get(0), DmaChurn.CHURN_IOVA, DmaChurn.CHURN_WINDOW);
        check("UNMAP_DMA churn window", u.ret());
        return new HostReply.ChurnCleanedUp(u.size());
    }

    private void saveVmm() {
        try {
            vmm.write(work.resolve(WorkDirectory.VMM_STATE));
        } catch (IOException e) {
            throw new RehearsalException("cannot save VMM state: " + e.getMessage(), e);
        }
    }

    static void check(String what, long ret) {
        if (ret < 0) {
            throw new RehearsalException(what + " failed: " + VfioClient.result(ret));
        }
    }
}
