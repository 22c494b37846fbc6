package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.NestedMemory;
import org.pkstore.iommu.PasidTranslation;
import org.pkstore.iommu.PasidTranslationBuffer;
import org.pkstore.iommu.nested.FirstStageFormat;
import org.pkstore.iommu.nested.NestedFault;
import org.pkstore.iommu.nested.NestedVisitor;
import org.pkstore.iommu.nested.NestedWalker;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.rehearse.protocol.DeviceSeries;
import org.pkstore.rehearse.protocol.DeviceStats;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * A simulated PCIe device doing DMA, in its own JVM, through the IOMMU structures a host left in
 * pkernfs, exactly as hardware would: it reads the device table (root/context or stream table)
 * for its requester id, walks the stage-2 table the entry points to, and reads and writes guest
 * memory at the result. It opens the table files read-only, takes no lock and touches no Chronicle
 * Map, so it keeps working while the host is killed, absent, or booting.
 *
 * <p>Each target is an 8-byte slot at an IOVA; the device writes an increasing sequence number
 * into it and reads it back. It remembers the last value it wrote to every slot, so that after a
 * kexec it can prove that what it wrote before and during the kexec is still there.
 */
final class DmaDevice {
    /**
     * One DMA target: a requester and an address; with a PASID ({@code pasid} &gt;= 0) the address is
     * the guest's virtual address, translated through the guest's stage 1 and then stage 2.
     */
    record Target(Bdf bdf, long iova, int pasid) {
        Target(Bdf bdf, long iova) {
            this(bdf, iova, PasidTranslation.UNTAGGED);
        }

        boolean tagged() {
            return pasid != PasidTranslation.UNTAGGED;
        }
    }

    private final Path mount;
    private final Target[] targets;
    private final long[] lastWritten;
    private final List<PageTableFile> tableFiles = new ArrayList<>();
    private final List<DeviceTranslation> translators = new ArrayList<>();
    private final List<GuestMemoryFile> memories = new ArrayList<>();
    private final List<DeviceTableReader> deviceTables = new ArrayList<>();

    private volatile boolean stop;
    private volatile long translations;
    private volatile long faults;
    private volatile long corruptions;
    private volatile long maxGapNanos;
    private volatile long windowMaxGapNanos;
    private volatile long lastOkNanos;
    private volatile long rootSwitches;
    private volatile String firstFault;
    private volatile long pasidTranslations;
    private volatile long pasidFaults;
    private long seq;
    private long lastRoot;
    private final DmaSeries series = new DmaSeries(System.nanoTime());

    DmaDevice(Path mount, List<Target> targets) {
        this.mount = mount;
        this.targets = targets.toArray(new Target[0]);
        this.lastWritten = new long[targets.size()];
    }

    /**
     * Runs until {@link #stop()}; one DMA (translate, write, read back) per step, untagged and PASID
     * targets in turn when there are both, each kind cycling through its own targets.
     */
    void run() {
        int[] untagged = indexes(false);
        int[] tagged = indexes(true);
        int u = 0;
        int p = 0;
        long n = 0;
        while (!stop) {
            boolean pasidTurn = untagged.length == 0 || (tagged.length > 0 && (n & 1) == 1);
            if (pasidTurn) {
                step(tagged[p]);
                p = p + 1 == tagged.length ? 0 : p + 1;
            } else {
                step(untagged[u]);
                u = u + 1 == untagged.length ? 0 : u + 1;
            }
            if ((++n & (BURST - 1)) == 0) {
                // a device has its own pace; spinning flat out would starve the booting host of a core
                LockSupport.parkNanos(PAUSE_NANOS);
            }
        }
    }

    private int[] indexes(boolean pasid) {
        int count = 0;
        for (Target t : targets) {
            count += t.tagged() == pasid ? 1 : 0;
        }
        int[] out = new int[count];
        int k = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i].tagged() == pasid) {
                out[k++] = i;
            }
        }
        return out;
    }

    /** DMAs per burst, and the pause between bursts. */
    static final int BURST = 64;
    static final long PAUSE_NANOS = 100_000;

    void stop() {
        stop = true;
    }

    private void step(int slot) {
        Target t = targets[slot];
        long pa = t.tagged() ? translatePasid(t, Prot.READ | Prot.WRITE) : translate(t, Prot.READ | Prot.WRITE);
        if (pa < 0) {
            fault(t);
            series.fault(System.nanoTime());
            if (firstFault == null) {
                firstFault = "device " + t.bdf() + (t.tagged() ? " pasid " + t.pasid() + " va 0x" : " iova 0x")
                        + Long.toHexString(t.iova()) + ": " + (t.tagged() ? pasidFaultName(pa) : faultName(pa));
            }
            return;
        }
        GuestMemoryFile g = memoryAt(pa);
        if (g == null) {
            fault(t);
            series.fault(System.nanoTime());
            if (firstFault == null) {
                firstFault = "device " + t.bdf() + " iova 0x" + Long.toHexString(t.iova()) + " -> pa 0x"
                        + Long.toHexString(pa) + ": no guest memory there";
            }
            return;
        }
        long v = ++seq;
        if (t.tagged()) {
            v = GuestStage1.tag(t.pasid(), t.iova()) | (v & ~GuestStage1.TAG_MASK);
        }
        g.writeLong(pa, v);
        if (g.readLong(pa) != v) {
            corruptions++;
        }
        lastWritten[slot] = v;
        long now = System.nanoTime();
        long gap = lastOkNanos == 0 ? 0 : now - lastOkNanos;
        if (gap > maxGapNanos) {
            maxGapNanos = gap;
        }
        if (gap > windowMaxGapNanos) {
            windowMaxGapNanos = gap;
        }
        lastOkNanos = now;
        if (t.tagged()) {
            pasidTranslations++;
        } else {
            translations++;
        }
        series.dma(now, gap);
    }

    /** Device table lookup, then the stage-2 walk; a negative result is a fault code. */
    long translate(Target t, int access) {
        DeviceTableReader dt = deviceTable();
        if (dt == null) {
            return FAULT_NO_DEVICE_TABLE;
        }
        long root = dt.presentStage2Root(t.bdf(), decoded);
        if (root < 0) {
            return FAULT_NO_CONTEXT;
        }
        if (root != lastRoot) {
            if (lastRoot != 0) {
                rootSwitches++;
            }
            lastRoot = root;
        }
        DeviceTranslation tr = translatorFor(root);
        if (tr == null) {
            return FAULT_ROOT_OUTSIDE_FILES;
        }
        return tr.translate(root, t.iova(), access);
    }

    private void fault(Target t) {
        if (t.tagged()) {
            pasidFaults++;
        } else {
            faults++;
        }
    }

    /**
     * DMA tagged with a PASID: what the device table says for (device, PASID), then the nested walk
     * from the guest's first-stage root. A negative result is a DmaDevice or {@link NestedFault} code.
     */
    long translatePasid(Target t, int access) {
        DeviceTableReader dt = deviceTable();
        if (dt == null) {
            return FAULT_NO_DEVICE_TABLE;
        }
        PasidTranslationBuffer p = decoded;
        if (!dt.pasidTranslation(t.bdf(), t.pasid(), nestedMemory, p)) {
            lastPasidProblem = p.problem();
            return FAULT_NO_PASID_ENTRY;
        }
        if (!p.nested()) {
            DeviceTranslation tr = translatorFor(p.stage2RootPa());
            return tr == null ? FAULT_ROOT_OUTSIDE_FILES : tr.translate(p.stage2RootPa(), t.iova(), access);
        }
        return nested.translate(FirstStageFormat.of(p.stage1Format()), p.stage1RootGpa(), p.stage2RootPa(), t.iova(),
                access, NestedVisitor.NONE);
    }

    /**
     * What the device-table walks decode into, reused by every DMA: a device allocates nothing per
     * request, so no garbage collection pauses its DMA (only the DMA thread uses it).
     */
    private final PasidTranslationBuffer decoded = new PasidTranslationBuffer();

    private volatile String lastPasidProblem;
    private final DeviceNestedMemory nestedMemory = new DeviceNestedMemory();
    private final NestedWalker nested = new NestedWalker(nestedMemory);

    /** Stage 2 as this device's IOMMU walks it, and reads of guest memory at host PAs. */
    private final class DeviceNestedMemory implements NestedMemory {
        @Override
        public long stage2(long stage2RootPa, long gpa, int access) {
            DeviceTranslation tr = translatorFor(stage2RootPa);
            if (tr == null) {
                return FAULT_ROOT_OUTSIDE_FILES;
            }
            long hpa = tr.translate(stage2RootPa, gpa, access);
            if (hpa >= 0 && memoryAt(hpa) == null) {
                return FAULT_NO_GUEST_MEMORY; // an external abort: no memory answers at that PA
            }
            return hpa;
        }

        @Override
        public long readWord(long hpa) {
            GuestMemoryFile g = memoryAt(hpa);
            return g == null ? -1 : g.readLong(hpa);
        }
    }

    private DeviceTableReader deviceTable() {
        if (deviceTables.isEmpty()) {
            List<Path> hw = list(PkernfsMount.IOMMU_DIR, PkernfsMount.IOMMU_SUFFIX);
            if (hw.isEmpty()) {
                return null;
            }
            deviceTables.add(DeviceTableReader.openReadOnly(hw.get(0)));
        }
        return deviceTables.get(0);
    }

    private DeviceTranslation translatorFor(long root) {
        for (int k = 0; k < tableFiles.size(); k++) {
            PageTableFile f = tableFiles.get(k);
            if (root >= f.paBase() && root < f.paLimit()) {
                return translators.get(k);
            }
        }
        for (Path p : list(PkernfsMount.PGTABLES_DIR, PkernfsMount.PGTABLE_SUFFIX)) {
            if (tableFiles.stream().anyMatch(f -> f.path().equals(p))) {
                continue;
            }
            PageTableFile f = PageTableFile.openReadOnly(p);
            tableFiles.add(f);
            translators.add(new DeviceTranslation(f));
            if (root >= f.paBase() && root < f.paLimit()) {
                return translators.get(translators.size() - 1);
            }
        }
        return null;
    }

    private GuestMemoryFile memoryAt(long pa) {
        for (int k = 0; k < memories.size(); k++) {
            GuestMemoryFile g = memories.get(k);
            if (g.contains(pa, 8)) {
                return g;
            }
        }
        for (Path p : list(PkernfsMount.MEM_DIR, PkernfsMount.MEM_SUFFIX)) {
            if (memories.stream().anyMatch(g -> g.path().equals(p))) {
                continue;
            }
            GuestMemoryFile g = GuestMemoryFile.open(p);
            memories.add(g);
            if (g.contains(pa, 8)) {
                return g;
            }
        }
        return null;
    }

    private List<Path> list(String dir, String suffix) {
        return PkernfsMount.list(mount.resolve(dir), suffix);
    }

    static final long FAULT_NO_DEVICE_TABLE = -100;
    static final long FAULT_NO_CONTEXT = -101;
    static final long FAULT_ROOT_OUTSIDE_FILES = -102;
    static final long FAULT_NO_GUEST_MEMORY = -103;
    /** Far below every {@link NestedFault} code: the device table has no usable entry for (device, PASID). */
    static final long FAULT_NO_PASID_ENTRY = -(1L << 40);

    String pasidFaultName(long code) {
        if (code == FAULT_NO_PASID_ENTRY) {
            return "PASID entry: " + lastPasidProblem;
        }
        if (code <= FAULT_NO_DEVICE_TABLE && code >= FAULT_NO_GUEST_MEMORY) {
            return faultName(code);
        }
        return NestedFault.describe(code, null);
    }

    static String faultName(long code) {
        if (code == FAULT_NO_DEVICE_TABLE) {
            return "no device table";
        }
        if (code == FAULT_NO_CONTEXT) {
            return "no present device-table entry";
        }
        if (code == FAULT_ROOT_OUTSIDE_FILES) {
            return "stage-2 root outside every page-table file";
        }
        if (code == FAULT_NO_GUEST_MEMORY) {
            return "no guest memory at the stage-2 output";
        }
        return DeviceTranslation.faultName(code);
    }

    /** DMAs, longest gaps and faults per interval since the device started. */
    DeviceSeries series() {
        return series.snapshot(System.nanoTime());
    }

    /** Counters so far; resets the window's longest gap. */
    DeviceStats stats(boolean resetWindow) {
        DeviceStats s = new DeviceStats(translations, faults, corruptions, maxGapNanos / 1_000,
                windowMaxGapNanos / 1_000, rootSwitches, firstFault, 0, 0, pasidTranslations, pasidFaults);
        if (resetWindow) {
            windowMaxGapNanos = 0;
        }
        return s;
    }

    /**
     * After the loop stopped: every slot translated again and read; the value must be the last one
     * this device wrote there, before, during or after any kexec.
     */
    DeviceStats finalCheck() {
        long checked = 0;
        long lost = 0;
        for (int k = 0; k < targets.length; k++) {
            if (lastWritten[k] == 0) {
                continue;
            }
            long pa = targets[k].tagged() ? translatePasid(targets[k], Prot.READ) : translate(targets[k], Prot.READ);
            GuestMemoryFile g = pa < 0 ? null : memoryAt(pa);
            checked++;
            if (g == null || g.readLong(pa) != lastWritten[k]) {
                lost++;
            }
        }
        DeviceStats s = stats(false);
        return new DeviceStats(s.translations(), s.faults(), s.corruptions(), s.maxGapMicros(), s.windowMaxGapMicros(),
                s.rootSwitches(), s.firstFault(), checked, lost, s.pasidTranslations(), s.pasidFaults());
    }

    void close() {
        tableFiles.forEach(PageTableFile::close);
        memories.forEach(GuestMemoryFile::close);
        deviceTables.forEach(DeviceTableReader::close);
    }
}
