package org.pkstore.rehearse;

import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.HandoverRecord;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.Registry;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.vfio.BootTimes;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * One host boot of the kernel model: mount pkernfs (recovering it after an unclean end), check the
 * handover record a planned kexec left, boot VFIO on it; at the end, a planned kexec's handover and
 * clean unmount. Also the alternative to persistence the rehearsal measures: a host that rebuilds
 * every domain's tables at boot by replaying the mappings.
 */
final class HostBoot {
    /** The registries open in the background unless -Dpkstore.registries.background=false (to compare). */
    static final boolean REGISTRIES_IN_BACKGROUND =
            !"false".equals(System.getProperty("pkstore.registries.background"));

    private final Path work;
    private final Path mountDir;
    private final IommuDriver driver;
    private PkernfsMount mount;
    private VfioKernel kernel;
    private VfioClient client;

    HostBoot(Path work, IommuDriver driver) {
        this.work = work;
        this.mountDir = work.resolve(WorkDirectory.MOUNT_DIR);
        this.driver = driver;
    }

    /**
     * One unit of {@code driver}, groups 1 and 2 with one device each (00:01.0, 00:02.0) for the
     * VMM's VM, groups 3 and 4 (00:03.0, 00:04.0) for the further VM of the setup kill points ({@link HotplugVm}).
     */
    static HostTopology topology(IommuDriver driver) {
        return HostTopology.parse("unit 0 " + driver.configName()
                + "\ngroup 1 unit 0 device 00:01.0\ngroup 2 unit 0 device 00:02.0"
                + "\ngroup 3 unit 0 device 00:03.0\ngroup 4 unit 0 device 00:04.0\n");
    }

    /**
     * Arms a kill point of the coming {@link #boot}: when the registry open path reaches
     * {@code step} on the file named {@code fileName}, the boot writes {@link WorkDirectory#FROZEN_MARKER}
     * and stops there for good, so that the driver's SIGKILL lands inside the recovery.
     */
    HostReply.FreezeArmed freezeAt(String step, String fileName) {
        Registry.OpenStep target = Registry.OpenStep.valueOf(step);
        Path marker = work.resolve(WorkDirectory.FROZEN_MARKER);
        Registry.onOpenStep((reached, file) -> {
            if (reached == target && file.getFileName().toString().equals(fileName)) {
                try {
                    Files.writeString(marker, step + " " + file + "\n");
                } catch (IOException e) {
                    throw new RehearsalException("cannot write " + marker, e);
                }
                while (true) {
                    LockSupport.park();
                }
            }
        });
        return new HostReply.FreezeArmed(step + " " + fileName, 1);
    }

    IommuDriver driver() { return driver; }
    PkernfsMount mount() { return requireBooted(mount); }
    VfioKernel kernel() { return requireBooted(kernel); }
    VfioClient client() { return requireBooted(client); }

    private static <T> T requireBooted(T part) {
        if (part == null) {
            throw new IllegalStateException("the host has not booted");
        }
        return part;
    }

    HostReply.Booted boot() {
        if (mount != null) {
            throw new IllegalStateException("already booted");
        }
        long t0 = System.nanoTime();
        // the registries open on a background thread while the rest of the boot proceeds
        mount = PkernfsMount.mountReadWrite(mountDir, REGISTRIES_IN_BACKGROUND);
        long tMount = System.nanoTime();
        // the handover record was checked by the mount (MountAcceptance): a mismatch refused it
        String handover = mount.acceptance() == null ? "none" : mount.acceptance().handover();
        // no JIT warm-up: a kernel has none, and the boot's and reattach's timings are those of
        // cold code, as the first boot's are (the attach comparison, docs/REPORT.md)
        long tKernel0 = System.nanoTime();
        kernel = VfioKernel.boot(mount, topology(driver));
        client = new VfioClient(kernel);
        long tKernel = System.nanoTime();
        var recovery = kernel.recoveryReport();
        BootTimes bt = kernel.bootTimes();
        // in record mode the registries' open is not waited for here: CatchUp reports it after the reattach
        boolean recordMode = kernel.inRecordMode();
        long[] open = recordMode ? null : mount.registryOpenNanos();
        return new HostReply.Booted(mount.generation(), mount.recovering(), handover, 0,
                Millis.whole(tMount - t0), recordMode ? 0 : mount.registryRecoveryMillis(), Millis.whole(tKernel - tKernel0),
                recovery.toString(), recovery.totalReclaimedPages(),
                recovery.intent() == null ? "none" : recovery.intent() + " " + recovery.intentAction(),
                descriptorWrites(), Millis.exact(bt.recordReadNanos()), Millis.exact(bt.unitsNanos()),
                Millis.exact(bt.tablesNanos()), Millis.exact(bt.registryWaitNanos()), Millis.exact(bt.recoveryNanos()),
                Millis.exact(bt.preservedNanos()), open == null ? null : Millis.exact(open[0] - mount.mountStartNanos()),
                open == null ? null : Millis.exact(open[1] - open[0]), mount.registriesInBackground(), bt.record(),
                tableChangesByFile(), System.nanoTime());
    }

    /**
     * Per table file (its path in the mount), what this JVM changed in it so far: descriptors written
     * plus pages allocated or freed; unchanged files left out. Only a file this JVM opened can have
     * changed: the mount's open files are counted, no directory is listed (this runs on the boot's path).
     */
    Map<String, Long> tableChangesByFile() {
        Map<String, Long> out = new TreeMap<>();
        for (Map.Entry<Path, PageTableFile> e : mount.openedTableFiles().entrySet()) {
            Path p = e.getKey();
            PageTableFile f = e.getValue();
            long n = f.descriptorWrites() + f.pagesAllocated() + f.pagesFreed();
            if (n > 0 && Files.exists(p)) {
                // named as the rehearsal's table hashes name it: relative to the mount
                out.put(mount.dir().relativize(p).toString(), n);
            }
        }
        return out;
    }

    /** Descriptors this JVM has written to any table file of the mount so far (as {@link #tableChangesByFile}, no directory listed). */
    long descriptorWrites() {
        long n = 0;
        for (Map.Entry<Path, PageTableFile> e : mount.openedTableFiles().entrySet()) {
            long w = e.getValue().descriptorWrites();
            if (w > 0 && Files.exists(e.getKey())) {
                n += w;
            }
        }
        return n;
    }

    /**
     * Rebuilds each container's tables from nothing, in an empty file of the same size outside the
     * mount (what a host without persistence starts from at boot), by mapping every DMA record.
     */
    HostReply.Rebuilt replayRebuild() throws IOException {
        Map<Integer, List<DmaMappingRecord>> byContainer = new TreeMap<>();
        for (DmaMappingRecord d : mount().registries().dmaMappings.values()) {
            byContainer.computeIfAbsent(d.containerId(), id -> new ArrayList<>()).add(d);
        }
        PageTableFormat fmt = kernel().unit(0).stage2Format();
        Map<String, HostReply.ContainerRebuild> out = new LinkedHashMap<>();
        Path scratch = Files.createTempDirectory(work, "rebuild-");
        try {
            for (Map.Entry<Integer, List<DmaMappingRecord>> e : byContainer.entrySet()) {
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
                    out.put("container" + e.getKey(), new HostReply.ContainerRebuild(Millis.exact(t1 - t0),
                            t.descriptorsWritten(), e.getValue().size()));
                }
            }
        } finally {
            WorkDirectory.deleteTree(scratch);
        }
        return new HostReply.Rebuilt(out);
    }

    /**
     * The end of a planned kexec, once nothing is in flight: the handover record for the next host,
     * then the kernel and the mount closed (every file marked clean, registries sealed, superblock
     * last, lock released). The host ends right after the reply: the registries are sealed while
     * still mapped and their mappings go with the process ({@link PkernfsMount#closeLeavingRegistriesMapped}).
     */
    HostReply.HandedOver handOver(long quiesceStartNanos, double quiesceMs) {
        long t0 = System.nanoTime();
        HandoverRecord h = HandoverRecord.describe(mount());
        h.write(mountDir);
        long t1 = System.nanoTime();
        kernel.close();
        mount.closeLeavingRegistriesMapped();
        long t2 = System.nanoTime();
        return new HostReply.HandedOver(h.generation(), h.files().size(), quiesceMs, Millis.exact(t1 - t0),
                Millis.exact(t2 - t1), quiesceStartNanos, t2);
    }

    void close() {
        if (kernel != null && !kernel.isClosed()) {
            kernel.close();
        }
        if (mount != null) {
            mount.close();
        }
    }
}
