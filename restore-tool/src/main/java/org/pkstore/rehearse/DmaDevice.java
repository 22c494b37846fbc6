package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTableReader;
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
    /** One DMA target: a requester and an IOVA. */
    record Target(Bdf bdf, long iova) {}

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
    private long seq;
    private long lastRoot;
    private final DmaSeries series = new DmaSeries(System.nanoTime());

    DmaDevice(Path mount, List<Target> targets) {
        this.mount = mount;
        this.targets = targets.toArray(new Target[0]);
        this.lastWritten = new long[targets.size()];
    }

    /** Runs until {@link #stop()}; one DMA (translate, write, read back) per step. */
    void run() {
        int i = 0;
        long n = 0;
        while (!stop) {
            step(i);
            i = i + 1 == targets.length ? 0 : i + 1;
            if ((++n & (BURST - 1)) == 0) {
                // a device has its own pace; spinning flat out would starve the booting host of a core
                LockSupport.parkNanos(PAUSE_NANOS);
            }
        }
    }

    /** DMAs per burst, and the pause between bursts. */
    static final int BURST = 64;
    static final long PAUSE_NANOS = 100_000;

    void stop() {
        stop = true;
    }

    private void step(int slot) {
        Target t = targets[slot];
        long pa = translate(t, Prot.READ | Prot.WRITE);
        if (pa < 0) {
            faults++;
            series.fault(System.nanoTime());
            if (firstFault == null) {
                firstFault = "device " + t.bdf() + " iova 0x" + Long.toHexString(t.iova()) + ": " + faultName(pa);
            }
            return;
        }
        GuestMemoryFile g = memoryAt(pa);
        if (g == null) {
            faults++;
            series.fault(System.nanoTime());
            if (firstFault == null) {
                firstFault = "device " + t.bdf() + " iova 0x" + Long.toHexString(t.iova()) + " -> pa 0x"
                        + Long.toHexString(pa) + ": no guest memory there";
            }
            return;
        }
        long v = ++seq;
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
        translations++;
        series.dma(now, gap);
    }

    /** Device table lookup, then the stage-2 walk; a negative result is a fault code. */
    long translate(Target t, int access) {
        DeviceTableReader dt = deviceTable();
        if (dt == null) {
            return FAULT_NO_DEVICE_TABLE;
        }
        DeviceTableReader.Lookup l = dt.lookup(t.bdf());
        DeviceEntry e = l.entry();
        if (!e.present()) {
            return FAULT_NO_CONTEXT;
        }
        long root = e.stage2RootPa();
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
        return DeviceTranslation.faultName(code);
    }

    /** DMAs, longest gaps and faults per interval since the device started. */
    DeviceSeries series() {
        return series.snapshot(System.nanoTime());
    }

    /** Counters so far; resets the window's longest gap. */
    DeviceStats stats(boolean resetWindow) {
        DeviceStats s = new DeviceStats(translations, faults, corruptions, maxGapNanos / 1_000,
                windowMaxGapNanos / 1_000, rootSwitches, firstFault, 0, 0);
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
            long pa = translate(targets[k], Prot.READ);
            GuestMemoryFile g = pa < 0 ? null : memoryAt(pa);
            checked++;
            if (g == null || g.readLong(pa) != lastWritten[k]) {
                lost++;
            }
        }
        DeviceStats s = stats(false);
        return new DeviceStats(s.translations(), s.faults(), s.corruptions(), s.maxGapMicros(), s.windowMaxGapMicros(),
                s.rootSwitches(), s.firstFault(), checked, lost);
    }

    void close() {
        tableFiles.forEach(PageTableFile::close);
        memories.forEach(GuestMemoryFile::close);
        deviceTables.forEach(DeviceTableReader::close);
    }
}
