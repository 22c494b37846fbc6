package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.HandoverRecord;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.vfio.DomainHotswap;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioUapi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * One host boot: the kernel model on a pkernfs mount, and the VMM that drives it through ioctls.
 * The VMM part does on the first boot what a VMM does when it starts a VM with assigned devices,
 * and after a kexec what seed 004 describes: reopen the same page-table file,
 * SET_PERSISTENT_PGTABLES again, attach the groups, SET_IOMMU (the domain is allocated on the
 * existing root), then MAP_DMA with the live-update flag for every mapping it had.
 */
final class HostSession {
    static final String MOUNT_DIR = "pkernfs";
    static final String VMM_STATE = "vmm-state.json";
    static final long GUEST_VADDR = 0x7f00_0000_0000L;
    static final String GUEST_MEMORY = "guest0";
    static final long CHURN_IOVA = 0x100_0000_0000L;

    private final Path work;
    private final Path mountDir;
    private final String driver;
    private final ObjectMapper json = new ObjectMapper();
    private PkernfsMount mount;
    private VfioKernel kernel;
    private VfioClient client;
    private VmmState vmm;
    private final List<Integer> containerFds = new ArrayList<>();
    private Thread churn;
    private volatile boolean churnStop;
    private volatile long churnOps;
    private volatile String churnError;

    HostSession(Path work, String driver) {
        this.work = work;
        this.mountDir = work.resolve(MOUNT_DIR);
        this.driver = driver;
    }

    static HostTopology topology(String driver) {
        return HostTopology.parse("unit 0 " + driver + "\ngroup 1 unit 0 device 00:01.0\ngroup 2 unit 0 device 00:02.0\n");
    }

    // ---- boot ------------------------------------------------------------------------------------

    Map<String, Object> boot() {
        long t0 = System.nanoTime();
        mount = PkernfsMount.mountReadWrite(mountDir);
        long tMount = System.nanoTime();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("generation", mount.generation());
        r.put("uncleanEnd", mount.recovering());
        // the handover record was checked by the mount (MountAcceptance): a mismatch refused it
        r.put("handover", mount.acceptance() == null ? "none" : mount.acceptance().handover());
        kernel = VfioKernel.boot(mount, topology(driver));
        client = new VfioClient(kernel);
        long tKernel = System.nanoTime();
        r.put("warmupMs", ms(warmUp()));
        r.put("mountMs", ms(tMount - t0));
        r.put("registryRecoveryMs", mount.registryRecoveryMillis());
        r.put("kernelBootMs", ms(tKernel - tMount));
        r.put("recovery", kernel.recoveryReport().toString());
        r.put("reclaimedPages", kernel.recoveryReport().totalReclaimedPages());
        r.put("intent", kernel.recoveryReport().intent() == null ? "none"
                : kernel.recoveryReport().intent() + " " + kernel.recoveryReport().intentAction());
        r.put("descriptorWritesAtBoot", descriptorWrites());
        return r;
    }

    /**
     * Loads and compiles the page-table open/attach/walk code on a scratch file, so that the
     * reattach timings measure the work and not this JVM's class loading (a kernel has no JIT).
     * Reported as its own line; touches nothing in the mount.
     */
    private long warmUp() {
        long t0 = System.nanoTime();
        Path dir = work.resolve("warmup");
        try {
            Files.createDirectories(dir);
            PageTableFormat fmt = topology(driver).unit(0).driver().stage2Format();
            Path p = dir.resolve("warmup.pt");
            Files.deleteIfExists(p);
            try (PageTableFile f = PageTableFile.create(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, fmt.id(), 64,
                    0x7000_0000_0000L, 0, 0)) {
                IoPageTable t = IoPageTable.create(f, fmt, PartialUnmapPolicy.SPLIT);
                t.map(0, 0x1000, 0x1000, Prot.READ | Prot.WRITE);
            }
            for (int i = 0; i < 200; i++) {
                try (PageTableFile f = PageTableFile.openReadWrite(p, 0)) {
                    IoPageTable t = IoPageTable.attach(f, fmt, PartialUnmapPolicy.SPLIT);
                    t.iovaToPhys(0);
                    t.mappedBytes();
                    f.markClean();
                }
            }
            deleteTree(dir);
        } catch (IOException e) {
            throw new RehearsalException("warm-up failed: " + e.getMessage(), e);
        }
        return System.nanoTime() - t0;
    }

    /** Descriptors this JVM has written to any table file of the mount so far. */
    long descriptorWrites() {
        long n = 0;
        List<Path> all = new ArrayList<>(mount.iommuTableFiles());
        all.addAll(mount.pageTableFiles());
        for (Path p : all) {
            n += mount.openTableFile(p).descriptorWrites();
        }
        return n;
    }

    // ---- first boot: the VMM starts the VM ------------------------------------------------------

    Map<String, Object> setup(RehearsalPlan plan) {
        long smallOff = RehearsalPlan.SMALL_PAGES_OFFSET;
        if (plan.problem() != null) {
            throw new IllegalArgumentException(plan.problem());
        }
        vmm = new VmmState();
        vmm.driver = driver;
        VmmState.GuestMemory gm = new VmmState.GuestMemory();
        gm.name = GUEST_MEMORY;
        gm.vaddr = GUEST_VADDR;
        gm.size = plan.guestMemoryBytes;
        vmm.guestMemory.add(gm);
        check("mmap guest memory", kernel.mapGuestMemory(gm.vaddr, gm.size, gm.name));
        long t0 = System.nanoTime();
        int rw = VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE;
        for (int c = 0; c < 2; c++) {
            VmmState.Container vc = new VmmState.Container();
            vc.group = c + 1;
            vc.bdf = c == 0 ? "00:01.0" : "00:02.0";
            vc.pgtableFile = "vm0-c" + c;
            vc.iommuType = VfioUapi.VFIO_TYPE1_NESTING_IOMMU;
            vc.mappings.add(mapping("ram-1g", 0, GUEST_VADDR, 1L << 30, rw));
            vc.mappings.add(mapping("ram-2m", 1L << 30, GUEST_VADDR + (1L << 30), 1L << 29, rw));
            vc.mappings.add(mapping("ram-4k", 2L << 30, GUEST_VADDR + smallOff,
                    (c == 0 ? plan.smallMappings : plan.largeMappings) * 4096L, rw));
            vmm.containers.add(vc);
            int cfd = openAndAttach(vc, true);
            for (VmmState.Mapping m : vc.mappings) {
                check("MAP_DMA " + m.label, client.mapDma(cfd, m.vaddr, m.iova, m.size, m.flags));
            }
        }
        long tMap = System.nanoTime();
        // seed 000: both containers of the VM share the first one's VMID
        VfioClient.Vmid v = client.getVmid(containerFds.get(0));
        check("GET_VMID", v.ret());
        check("SET_VMID", client.setVmid(containerFds.get(1), v.vmid()));
        // seed 003: PASIDs, a guest page table bound to the first; seed 002: guest-stage config
        List<Integer> pasids = new ArrayList<>();
        for (int i = 0; i < plan.pasids; i++) {
            VfioClient.Pasid p = client.allocPasid(containerFds.get(0), 1, (1 << 20) - 1);
            check("PASID alloc", p.ret());
            pasids.add(p.pasid());
        }
        if (!pasids.isEmpty()) {
            check("BIND gpasid", client.bindGuestPgtbl(containerFds.get(0), true, pasids.get(0), 0x1234_5000L,
                    pasids.get(0), true, 48, 0, 0, 0));
        }
        // an unrecoverable fault the VMM has not read yet: it must survive the kexec
        kernel.unit(0).dmaTranslate(Bdf.parse("00:01.0"), Iotlb.NO_PASID, 0x7000_0000_0000L, Prot.WRITE);
        saveVmm();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("mapMs", ms(tMap - t0));
        r.put("vmid", v.vmid());
        r.put("pasids", pasids);
        r.put("descriptorWrites", descriptorWrites());
        return r;
    }

    private static VmmState.Mapping mapping(String label, long iova, long vaddr, long size, int flags) {
        VmmState.Mapping m = new VmmState.Mapping();
        m.label = label;
        m.iova = iova;
        m.vaddr = vaddr;
        m.size = size;
        m.flags = flags;
        return m;
    }

    /** open container, group, page-table file; SET_PERSISTENT_PGTABLES; SET_CONTAINER; SET_IOMMU. */
    private int openAndAttach(VmmState.Container vc, boolean create) {
        return openAndAttach(vc, create, new LinkedHashMap<>());
    }

    /** As above, recording each step's time in {@code steps} (ms). */
    private int openAndAttach(VmmState.Container vc, boolean create, Map<String, Object> steps) {
        long t = System.nanoTime();
        int cfd = client.openContainer();
        check("open container", cfd);
        t = step(steps, "openContainer", t);
        int pfd = client.openPageTableFile(vc.pgtableFile, create);
        check("open " + vc.pgtableFile, pfd);
        t = step(steps, "openPgtableFile", t);
        check("SET_PERSISTENT_PGTABLES", client.setPersistentPgtables(cfd, pfd));
        t = step(steps, "setPersistentPgtables", t);
        int gfd = client.openGroup(vc.group);
        check("open group " + vc.group, gfd);
        check("GROUP_SET_CONTAINER", client.setContainer(gfd, cfd));
        t = step(steps, "groupSetContainer", t);
        check("SET_IOMMU", client.setIommu(cfd, vc.iommuType));
        step(steps, "setIommu", t);
        containerFds.add(cfd);
        return cfd;
    }

    private static long step(Map<String, Object> steps, String name, long since) {
        long now = System.nanoTime();
        steps.put(name, msExact(now - since));
        return now;
    }

    // ---- after kexec: seed 004 ------------------------------------------------------------------

    Map<String, Object> reattach(String strategy) throws IOException {
        vmm = json.readValue(work.resolve(VMM_STATE).toFile(), VmmState.class);
        for (VmmState.GuestMemory gm : vmm.guestMemory) {
            check("mmap guest memory", kernel.mapGuestMemory(gm.vaddr, gm.size, gm.name));
        }
        Map<String, Object> r = new LinkedHashMap<>();
        List<Map<String, Object>> per = new ArrayList<>();
        long totalAttachWrites = 0;
        long totalReestablishWrites = 0;
        for (VmmState.Container vc : vmm.containers) {
            Map<String, Object> c = new LinkedHashMap<>();
            long w0 = descriptorWrites();
            long t0 = System.nanoTime();
            Map<String, Object> steps = new LinkedHashMap<>();
            int cfd = openAndAttach(vc, false, steps);
            long t1 = System.nanoTime();
            c.put("attachSteps", steps);
            long w1 = descriptorWrites();
            long leaves4k = 0;
            for (VmmState.Mapping m : vc.mappings) {
                int ret = client.liveUpdateMapDma(cfd, m.vaddr, m.iova, m.size, m.flags);
                if (ret != 0) {
                    long at = kernel.container(cfd).lastLiveUpdateMismatch();
                    throw new RehearsalException("live-update MAP_DMA " + m.label + " refused (" + VfioClient.result(ret)
                            + "): tables differ first at IOVA 0x" + Long.toHexString(at));
                }
                leaves4k += m.label.equals("ram-4k") ? m.size / 4096 : 0;
            }
            long t2 = System.nanoTime();
            long w2 = descriptorWrites();
            totalAttachWrites += w1 - w0;
            totalReestablishWrites += w2 - w1;
            c.put("pgtableFile", vc.pgtableFile);
            c.put("mappings4k", leaves4k);
            c.put("domainAttachMs", msExact(t1 - t0));
            c.put("reestablishMs", msExact(t2 - t1));
            c.put("descriptorWritesAttach", w1 - w0);
            c.put("descriptorWritesReestablish", w2 - w1);
            c.put("vmid", client.getVmid(cfd).vmid());
            per.add(c);
        }
        VfioClient.Faults f = client.readFaults(containerFds.get(0), 64);
        r.put("containers", per);
        r.put("descriptorWritesAttach", totalAttachWrites);
        r.put("descriptorWritesReestablish", totalReestablishWrites);
        r.put("faultsDelivered", f.ret() == 0 ? f.faults().size() : f.ret());
        if ("hotswap".equals(strategy)) {
            r.put("hotswap", hotswap());
        }
        return r;
    }

    /** Hotswap every domain: see {@link DomainHotswap}. */
    private Object hotswap() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int cfd : containerFds) {
            DomainHotswap.Result h = DomainHotswap.swap(kernel, cfd);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("pgtableFile", h.pgtableFile());
            r.put("oldRoot", "0x" + Long.toHexString(h.oldRoot()));
            r.put("newRoot", "0x" + Long.toHexString(h.newRoot()));
            r.put("descriptorsWritten", h.descriptorsWritten());
            r.put("buildMs", msExact(h.buildNanos()));
            r.put("switchMs", msExact(h.switchNanos()));
            r.put("freeMs", msExact(h.freeNanos()));
            r.put("oldPagesFreed", h.oldPagesFreed());
            out.add(r);
        }
        return out;
    }

    // ---- observation -----------------------------------------------------------------------------

    Map<String, Object> state() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("generation", mount.generation());
        List<Integer> vmids = new ArrayList<>();
        for (int cfd : containerFds) {
            vmids.add(client.getVmid(cfd).vmid());
        }
        r.put("vmids", vmids);
        List<String> pasids = new ArrayList<>();
        for (PasidRecord p : mount.registries().pasids.values()) {
            pasids.add(p.pasid() + "@c" + p.containerId());
        }
        r.put("pasids", pasids);
        List<String> bindings = new ArrayList<>();
        for (BindingRecord b : mount.registries().bindings.values()) {
            bindings.add("hpasid " + b.hpasid() + " gpasid " + b.gpasid() + " gpgd 0x" + Long.toHexString(b.gpgd()));
        }
        r.put("bindings", bindings);
        r.put("faultsPending", mount.registries().faults.size());
        r.put("dmaRecords", mount.registries().dmaMappings.size());
        r.put("descriptorWrites", descriptorWrites());
        return r;
    }

    /**
     * Records versus tables, per container: every DMA record's range is mapped exactly, and the
     * domain maps nothing a record does not account for. After a crash this is what "entirely
     * present or entirely absent" means.
     */
    Map<String, Object> consistency() {
        Map<String, Object> r = new LinkedHashMap<>();
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
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("records", c.mappings().size());
            e.put("recordBytes", recordBytes);
            e.put("mappedBytes", mapped);
            e.put("inconsistentRecords", bad);
            e.put("consistent", bad == 0 && mapped == recordBytes);
            if (firstBad != null) {
                e.put("first", firstBad);
            }
            r.put("container" + i, e);
        }
        return r;
    }

    /** The VMM drops whatever its churn left in the scratch window (it does not remember those). */
    Map<String, Object> churnCleanup() {
        VfioClient.Unmapped u = client.unmapDma(containerFds.get(0), CHURN_IOVA, 1L << 33);
        check("UNMAP_DMA churn window", u.ret());
        return Map.of("unmappedBytes", u.size());
    }

    /**
     * Arms a kill point: the {@code n}-th time an ioctl reaches {@code point} (a named step inside a
     * multi-step ioctl, e.g. "map:record": tables written, registry not yet), the thread writes
     * {@code frozen-at} in the work directory and stops there for good, holding the kernel, so that
     * the driver's SIGKILL lands exactly at that step.
     */
    Map<String, Object> freezeAt(String spec) {
        String[] w = spec.trim().split("\\s+");
        String point = w[0];
        int n = w.length > 1 ? Integer.parseInt(w[1]) : 1;
        int[] seen = {0};
        Path marker = work.resolve(FROZEN_MARKER);
        kernel.setCrashPoints(p -> {
            if (p.equals(point) && ++seen[0] == n) {
                try {
                    Files.writeString(marker, point + " " + n + "\n");
                } catch (IOException e) {
                    throw new RehearsalException("cannot write " + marker, e);
                }
                while (true) {
                    java.util.concurrent.locks.LockSupport.park();
                }
            }
        });
        return Map.of("point", point, "n", n);
    }

    static final String FROZEN_MARKER = "frozen-at";

    // ---- churn: ioctls in flight when a crash kexec hits ------------------------------------------

    Map<String, Object> churnStart() {
        if (churn != null) {
            throw new IllegalStateException("churn already running");
        }
        churnStop = false;
        churnOps = 0;
        int cfd = containerFds.get(0);
        long seed = System.nanoTime();
        churn = new Thread(() -> {
            Random rnd = new Random(seed);
            int rw = VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE;
            while (!churnStop) {
                long iova = CHURN_IOVA + ((long) rnd.nextInt(1 << 12) << 21);
                long pages = 1 + rnd.nextInt(128);
                long vaddr = GUEST_VADDR + 4096L * (1 + rnd.nextInt(1 << 16));
                int ret = client.mapDma(cfd, vaddr, iova, pages * 4096, rw);
                if (ret != 0 && ret != -17) {
                    churnError = "MAP_DMA " + VfioClient.result(ret);
                    return;
                }
                if (ret == 0) {
                    VfioClient.Unmapped u = client.unmapDma(cfd, iova, pages * 4096);
                    if (u.ret() != 0 || u.size() != pages * 4096) {
                        churnError = "UNMAP_DMA " + VfioClient.result(u.ret()) + " size " + u.size();
                        return;
                    }
                }
                churnOps++;
            }
        }, "churn");
        churn.start();
        return Map.of("seed", seed);
    }

    Map<String, Object> churnStop() throws InterruptedException {
        if (churn == null) {
            return Map.of("ops", 0);
        }
        churnStop = true;
        churn.join();
        churn = null;
        if (churnError != null) {
            throw new RehearsalException("churn failed: " + churnError);
        }
        return Map.of("ops", churnOps);
    }

    // ---- the alternative to persistence: rebuild by replaying every mapping -----------------------

    Map<String, Object> replayRebuild() throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        Map<Integer, List<DmaMappingRecord>> byContainer = new TreeMap<>();
        for (DmaMappingRecord d : mount.registries().dmaMappings.values()) {
            byContainer.computeIfAbsent(d.containerId(), k -> new ArrayList<>()).add(d);
        }
        PageTableFormat fmt = kernel.unit(0).stage2Format();
        Path scratch = Files.createTempDirectory(work, "rebuild-");
        try {
            for (Map.Entry<Integer, List<DmaMappingRecord>> e : byContainer.entrySet()) {
                // an empty file of the same size, outside the mount: what a host without
                // persistence starts from at boot
                try (PageTableFile f = PageTableFile.create(scratch.resolve("rebuild-c" + e.getKey() + ".pt"),
                        PageTableFileDescriptor.KIND_DOMAIN_TABLES, fmt.id(), VfioKernel.DOMAIN_FILE_PAGES,
                        0x7000_0000_0000L, e.getKey(), mount.generation())) {
                    long t0 = System.nanoTime();
                    IoPageTable t = IoPageTable.create(f, fmt, PartialUnmapPolicy.SPLIT);
                    for (DmaMappingRecord d : e.getValue()) {
                        int ret = t.map(d.iova(), d.pa(), d.size(), d.prot());
                        if (ret != 0) {
                            throw new RehearsalException("replay of " + d + " failed: " + ret);
                        }
                    }
                    long t1 = System.nanoTime();
                    r.put("container" + e.getKey(), Map.of("rebuildMs", msExact(t1 - t0), "descriptorWrites",
                            t.descriptorsWritten(), "mappings", e.getValue().size()));
                }
            }
        } finally {
            deleteTree(scratch);
        }
        return r;
    }

    // ---- planned kexec ----------------------------------------------------------------------------

    Map<String, Object> plannedKexec() throws InterruptedException {
        churnStop();               // quiesce: no ioctl in flight after this
        HandoverRecord h = HandoverRecord.describe(mount);
        h.write(mountDir);
        kernel.close();
        mount.close();             // every file marked clean, superblock last, lock released
        return Map.of("generation", h.generation(), "handoverFiles", h.files().size());
    }

    void close() {
        if (kernel != null && !kernel.isClosed()) {
            kernel.close();
        }
        if (mount != null) {
            mount.close();
        }
    }

    private void saveVmm() {
        try {
            Path tmp = work.resolve(VMM_STATE + ".tmp");
            json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), vmm);
            Files.move(tmp, work.resolve(VMM_STATE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new RehearsalException("cannot save VMM state: " + e.getMessage(), e);
        }
    }

    private static void check(String what, long ret) {
        if (ret < 0) {
            throw new RehearsalException(what + " failed: " + VfioClient.result(ret));
        }
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    static double msExact(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
