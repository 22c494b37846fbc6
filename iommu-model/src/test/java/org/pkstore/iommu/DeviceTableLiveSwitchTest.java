package org.pkstore.iommu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 11's rule for the device table: a present entry is only ever changed by one store that
 * leaves it valid. A reader in its own mapping of the .hw file (as the device in another process)
 * looks the device up in a loop while the host re-attaches it to another stage-2 root.
 */
class DeviceTableLiveSwitchTest {
    private static final int SWITCHES = 200;

    @TempDir
    Path dir;
    PkernfsMount mount;

    @AfterEach
    void close() {
        if (mount != null) {
            mount.close();
        }
    }

    /** Waits for the device loop, polling every millisecond (the loop does thousands of lookups a second). */
    private static org.awaitility.core.ConditionFactory device() {
        return await().atMost(Duration.ofSeconds(20)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1));
    }

    private IommuUnit unit(IommuDriver driver) {
        HostTopology topo = HostTopology.parse("unit 0 " + driver.configName() + "\ngroup 1 unit 0 device 00:01.0\n");
        return IommuUnit.open(mount, topo.unit(0), List.of(Bdf.parse("00:01.0")), new PhysicalMemory(), null);
    }

    private IommuDomain domain(IommuUnit unit, int id, int vmid) {
        String name = "d" + id;
        PageTableFile f = mount.createTableFile(mount.pageTablePath(name), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                unit.stage2Format().id(), 64, id);
        return IommuDomain.allocate(id, unit, f, name, id, IommuDomain.STAGE_PAGING, vmid);
    }

    /** Looks {@code bdf} up until stopped; records every lookup that is not a present, valid entry of one of the roots. */
    private static final class DeviceLoop extends Thread {
        final DeviceTableReader reader;
        final Bdf bdf;
        final long[] roots;
        final int[] dids;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong lookups = new AtomicLong();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

        DeviceLoop(DeviceTableReader reader, Bdf bdf, long[] roots, int[] dids) {
            super("device-loop");
            this.reader = reader;
            this.bdf = bdf;
            this.roots = roots;
            this.dids = dids;
        }

        @Override
        public void run() {
            while (!stop.get()) {
                DeviceTableReader.Lookup l = reader.lookup(bdf);
                DeviceEntry e = l.entry();
                if (l.problem() != null || !e.present()) {
                    violations.add("not present: " + l.problem());
                } else if (!(e.stage2RootPa() == roots[0] && e.did() == dids[0] || e.stage2RootPa() == roots[1] && e.did() == dids[1])
                        && !(dids[0] != dids[1] && e.stage2RootPa() == roots[0] && e.did() == dids[1])) {
                    violations.add("unexpected entry root 0x" + Long.toHexString(e.stage2RootPa()) + " did " + e.did());
                }
                lookups.incrementAndGet();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(IommuDriver.class)
    void reattachToAnotherRootIsOneStoreAndTheDeviceNeverSeesTheEntryDown(IommuDriver driver) throws Exception {
        mount = PkernfsMount.mountReadWrite(dir);
        IommuUnit unit = unit(driver);
        Bdf bdf = Bdf.parse("00:01.0");
        IommuDomain a = domain(unit, 1, 3);
        IommuDomain b = domain(unit, 2, 3); // same VMID (a hotswap's fresh tree, or reattach after an interrupted one)
        assertEquals(0, a.attachDevice(bdf));
        PageTableFile hw = unit.deviceTable().file();
        long rootA = a.pageTable().rootPa();
        long rootB = b.pageTable().rootPa();
        assertNotEquals(rootA, rootB);
        try (DeviceTableReader reader = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit0"))) {
            DeviceLoop loop = new DeviceLoop(reader, bdf, new long[] {rootA, rootB}, new int[] {3, 3});
            loop.start();
            try {
                device().until(() -> loop.lookups.get() > 1000);
                for (int i = 0; i < SWITCHES; i++) {
                    IommuDomain to = i % 2 == 0 ? b : a;
                    long before = hw.descriptorWrites();
                    assertEquals(0, to.attachDevice(bdf));
                    assertEquals(1, hw.descriptorWrites() - before, "switch " + i + " of a present entry is one store");
                    long seen = loop.lookups.get();
                    device().until(() -> loop.lookups.get() > seen + 2);
                }
            } finally {
                loop.stop.set(true);
                loop.join(20_000);
            }
            assertFalse(loop.isAlive());
            assertEquals(List.of(), List.copyOf(loop.violations), "the device saw the entry down or torn");
            assertTrue(loop.lookups.get() > SWITCHES * 2L);
            assertEquals(rootA, reader.lookup(bdf).entry().stage2RootPa());
        }
        long before = hw.descriptorWrites();
        assertEquals(0, a.attachDevice(bdf), "attaching the entry it already has");
        assertEquals(before, hw.descriptorWrites(), "writes nothing");
    }

    @ParameterizedTest
    @EnumSource(IommuDriver.class)
    void reattachWithAnotherDidKeepsTheEntryPresentThroughBothStores(IommuDriver driver) throws Exception {
        mount = PkernfsMount.mountReadWrite(dir);
        IommuUnit unit = unit(driver);
        Bdf bdf = Bdf.parse("00:01.0");
        IommuDomain a = domain(unit, 1, 3);
        IommuDomain b = domain(unit, 2, 4);
        assertEquals(0, a.attachDevice(bdf));
        PageTableFile hw = unit.deviceTable().file();
        long rootA = a.pageTable().rootPa();
        long rootB = b.pageTable().rootPa();
        try (DeviceTableReader reader = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit0"))) {
            DeviceLoop loop = new DeviceLoop(reader, bdf, new long[] {rootA, rootB}, new int[] {3, 4});
            loop.start();
            try {
                device().until(() -> loop.lookups.get() > 1000);
                // what the device could cache from the old tree under the new VMID between the two stores
                unit.iotlb().fill(4, Iotlb.NO_PASID, 0x1000, 0x1_0000_0000L, 3);
                long before = hw.descriptorWrites();
                assertEquals(0, b.attachDevice(bdf));
                assertNull(unit.iotlb().lookup(4, Iotlb.NO_PASID, 0x1000), "the new VMID is invalidated after the switch");
                // two words differ (DID, then root): each store leaves the entry present and valid
                assertEquals(2, hw.descriptorWrites() - before);
                long seen = loop.lookups.get();
                device().until(() -> loop.lookups.get() > seen + 2);
            } finally {
                loop.stop.set(true);
                loop.join(20_000);
            }
            assertEquals(List.of(), List.copyOf(loop.violations));
            DeviceEntry e = reader.lookup(bdf).entry();
            assertEquals(rootB, e.stage2RootPa());
            assertEquals(4, e.did());
        }
    }
}
