package org.pkstore.vfio;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PersistentStores;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ReattachState;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.Registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Record mode (docs/LIVE-UPDATE.md, boot order): the reattach a VMM makes after kexec is served from
 * the preserved record without a registry; everything else, and any reattach ioctl the record does not
 * account for, waits for the catch-up and then gets today's answer; the catch-up leaves the registries
 * as today's path does.
 */
class RecordReattachTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final long VA_AFTER = 0x5500_0000_0000L;
    static final int LIVE_UPDATE = 8;

    /** Before the kexec: group 1 in a nesting container on "vm1", two mappings, a planned stop. */
    private void preparePreserved() {
        boot();
        int c = k.openContainer();
        int g = k.openGroup(1);
        int pfd = k.openPageTableFile("vm1", true);
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(pfd)));
        assertEquals(0, k.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, NESTING));
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0x100000, 0x200000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA + 0x400000, 0x4000_0000L, 0x3000)));
        k.close();
        mount.close();
        k = null;
        mount = null;
    }

    private void bootRecordMode(Path where) {
        mount = PkernfsMount.mountReadWrite(where);
        k = VfioKernel.boot(mount, topo, true);
    }

    /** GuestVmm.reattach's ioctls; returns the container fd. */
    private int reattach(VfioKernel kernel) {
        int c = kernel.openContainer();
        assertEquals(0L, kernel.ioctl(c, GET_API_VERSION, 0L));
        assertEquals(1L, kernel.ioctl(c, CHECK_EXTENSION, (long) NESTING));
        int pfd = kernel.openPageTableFile("vm1", false);
        assertEquals(0, kernel.ioctl(c, SET_PERSISTENT_PGTABLES, s32(pfd)));
        int g = kernel.openGroup(1);
        byte[] status = new byte[8];
        le(status).putInt(0, 8);
        assertEquals(0, kernel.ioctl(g, GROUP_GET_STATUS, status));
        assertEquals(0, kernel.ioctl(g, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0L, kernel.ioctl(c, SET_IOMMU, NESTING));
        assertEquals(0, kernel.mapGuestMemory(VA_AFTER, GUEST_SIZE, "ram"));
        assertEquals(0, kernel.ioctl(c, MAP_DMA, dmaMap(32, 3 | LIVE_UPDATE, VA_AFTER, 0x100000, 0x200000)));
        assertEquals(0, kernel.ioctl(c, MAP_DMA, dmaMap(32, 3 | LIVE_UPDATE, VA_AFTER + 0x400000, 0x4000_0000L, 0x3000)));
        byte[] vmid = new byte[4];
        assertEquals(0, kernel.ioctl(c, GET_VMID, vmid));
        assertTrue(le(vmid).getInt(0) > 0);
        byte[] faults = new byte[16 + 64 * 4];
        le(faults).putInt(0, faults.length).putInt(8, 4);
        assertEquals(0, kernel.ioctl(c, READ_FAULTS, faults));
        assertEquals(0, le(faults).getInt(8), "no fault was pending");
        return c;
    }

    @Test
    void theReattachIsServedFromTheRecordWithoutAStoreAndTheCatchUpLeavesTodaysRegistries() throws Exception {
        preparePreserved();
        Path today = dir.resolveSibling(dir.getFileName() + "-today");
        CrashPointEnumerationTest.copyTree(dir, today);

        bootRecordMode(dir);
        assertTrue(k.bootTimes().record().contains("record mode"), k.bootTimes().record());
        assertEquals(0, k.bootTimes().registryWaitNanos());
        Map<String, String> before = hashes(dir);
        long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
        PersistentStores.count();
        int c;
        try {
            c = reattach(k);
            assertEquals(0, PersistentStores.counted(), "stores made by the reattach in record mode");
        } finally {
            PersistentStores.disarm();
        }
        assertEquals(before, hashes(dir), "no file of the mount changed before the catch-up");
        assertEquals(0, k.unit(0).deviceTable().file().descriptorWrites() - hw0, "device-table words written");
        assertNull(k.catchUpTimes(), "record mode lasts until something needs the registries");
        assertTrue(k.container(c).reclaimed());

        k.catchUp();
        CatchUpTimes t = k.catchUpTimes();
        assertNotNull(t);
        assertNull(t.difference());
        assertEquals(0, PreservedRecord.read(PreservedRecord.pathIn(dir)).operationUnderWay());
        assertEquals(2, k.container(c).mappings().size());

        // today's path on the copy: the same ioctls with the registries first
        PkernfsMount otherMount = PkernfsMount.mountReadWrite(today);
        VfioKernel other = VfioKernel.boot(otherMount, topo, false);
        try {
            reattach(other);
            assertEquals(registries(otherMount.registries()), registries(mount.registries()));
            assertEquals(ReattachState.of(otherMount.registries()), PreservedRecord.read(PreservedRecord.pathIn(dir)).state());
            assertEquals(other.container(c).mappings(), k.container(c).mappings());
            assertEquals(other.container(c).bindings(), k.container(c).bindings());
        } finally {
            other.close();
            otherMount.close();
        }
        // and the kernel goes on as today after the catch-up
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(VA_AFTER + 0x800000, 0x800000, 0x1000)));
        assertEquals(0, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x100000, 0x200000)));
    }

    @Test
    void anIoctlOutsideTheReattachWaitsForTheCatchUpThenSucceeds() {
        preparePreserved();
        bootRecordMode(dir);
        int c = reattach(k);
        assertEquals(0, k.ioctl(c, UNMAP_DMA, dmaUnmap(24, 0, 0x4000_0000L, 0x3000)));
        CatchUpTimes t = k.catchUpTimes();
        assertNotNull(t, "UNMAP_DMA ran the catch-up");
        assertEquals(1, t.waits().size());
        assertTrue(t.waits().get(0).operation().contains("UNMAP_DMA"), t.waits().toString());
        assertEquals(1, k.container(c).mappings().size());
        assertEquals(1, mount.registries().dmaMappings.size());
        byte[] info = new byte[128];
        le(info).putInt(0, 128);
        assertEquals(0, k.ioctl(c, GET_INFO, info));
    }

    @Test
    void aReattachIoctlTheRecordDoesNotHoldWaitsAndGetsTodaysAnswer() {
        preparePreserved();
        bootRecordMode(dir);
        int c = k.openContainer();
        int pfd = k.openPageTableFile("vm1", false);
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(pfd)));
        int g1 = k.openGroup(1);
        assertEquals(0, k.ioctl(g1, GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, NESTING));
        assertEquals(0, k.mapGuestMemory(VA_AFTER, GUEST_SIZE, "ram"));
        assertNull(k.catchUpTimes());
        // a mapping the tables do not hold (another PA): waits, then today's -EINVAL and where the tables differ
        assertEquals(EINVAL, k.ioctl(c, MAP_DMA, dmaMap(32, 3 | LIVE_UPDATE, VA_AFTER + 0x1000, 0x100000, 0x200000)));
        assertNotNull(k.catchUpTimes(), "the mismatching LIVE_UPDATE waited for the catch-up");
        assertEquals(0x100000, k.container(c).lastLiveUpdateMismatch());
        // the same on a second, fresh record-mode boot: a group the record does not put in the container
        k.close();
        mount.close();
        bootRecordMode(dir);
        int c2 = k.openContainer();
        int g2 = k.openGroup(2);
        assertEquals(0, k.ioctl(c2, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", false))));
        assertNull(k.catchUpTimes());
        assertEquals(0, k.ioctl(g2, GROUP_SET_CONTAINER, s32(c2)), "today's path: a new group joins the container");
        assertNotNull(k.catchUpTimes(), "group 2 is not the record's: it waited");
        assertTrue(k.catchUpTimes().waits().get(0).operation().contains("GROUP_SET_CONTAINER"));
        assertEquals(k.container(c2).id(), mount.registries().groups.get(2).containerId());
    }

    @Test
    void aCrashBootWithAPendingMapDmaRecoversTheTablesAtBootAndTheRecordsAtTheCatchUp() {
        preparePreserved();
        boot();
        int c = k.openContainer();
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", false))));
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, NESTING));
        assertEquals(0, k.mapGuestMemory(VA_AFTER, GUEST_SIZE, "ram"));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(32, 3 | LIVE_UPDATE, VA_AFTER, 0x100000, 0x200000)));
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(32, 3 | LIVE_UPDATE, VA_AFTER + 0x400000, 0x4000_0000L, 0x3000)));
        k.setCrashPoints(CrashPoints.at("map:tables", 1));
        try {
            k.ioctl(c, MAP_DMA, dmaMap(VA_AFTER + 0x800000, 0x800000, 0x2000));
        } catch (SimulatedCrash expected) {
            // the tables hold the mapping, its record does not
        }
        assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x800000, Prot.READ).ok(), "mapped before the kill");
        k.crash();

        bootRecordMode(dir);
        assertTrue(k.bootTimes().record().contains("record mode"), k.bootTimes().record());
        assertNotNull(mount.journal().pending(), "its records wait for the catch-up");
        c = reattach(k);
        assertEquals(0, k.container(c).domain().pageTable().iovaToPhys(0x800000),
                "the interrupted MAP_DMA is undone in the tables at boot");
        assertNull(k.catchUpTimes());
        // a device fault needs the fault registry: the unmapped IOVA's fault report runs the catch-up
        assertFalse(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x800000, Prot.READ).ok());
        assertNotNull(k.catchUpTimes());
        assertEquals("fault report", k.catchUpTimes().owner());
        assertNull(mount.journal().pending());
        assertEquals("MAP_DMA", k.recoveryReport().intent());
        assertEquals("undone", k.recoveryReport().intentAction());
        assertEquals(2, mount.registries().dmaMappings.size());
        assertTrue(CrashInvariants.check(mount, topo).isEmpty(), CrashInvariants.check(mount, topo).toString());
    }

    @Test
    void aRecordModeCrashBootServesTheReattachWhileTheRegistryRecoveryIsHeldBack() throws Exception {
        preparePreserved();
        boot();
        k.crash(); // unclean: the next mount recovers every registry on its background thread
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean held = new AtomicBoolean();
        Registry.onOpenStep((step, file) -> {
            if (step == Registry.OpenStep.COPIED) {
                held.set(true);
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        try {
            mount = PkernfsMount.mountReadWrite(dir, true);
            k = VfioKernel.boot(mount, topo);
            await().atMost(Duration.ofSeconds(30)).untilTrue(held);
            int c = reattach(k);
            assertTrue(k.container(c).reclaimed());
            assertNull(k.catchUpTimes(), "served while the registry recovery was held back");
            release.countDown();
            await().atMost(Duration.ofSeconds(60)).until(() -> k.catchUpTimes() != null);
            assertEquals("background", k.catchUpTimes().owner());
            assertEquals(List.of(), k.catchUpTimes().waits());
            assertEquals(2, mount.registries().dmaMappings.values().stream().filter(m -> m.vaddr() >= VA_AFTER).count());
        } finally {
            release.countDown();
            Registry.onOpenStep(null);
        }
    }

    private static Map<String, Map<Long, ?>> registries(Registries r) {
        Map<String, Map<Long, ?>> out = new TreeMap<>();
        out.put("containers", CrashInvariants.collect(r.containers));
        out.put("domains", CrashInvariants.collect(r.domains));
        out.put("vmids", CrashInvariants.collect(r.vmids));
        out.put("pasids", CrashInvariants.collect(r.pasids));
        out.put("bindings", CrashInvariants.collect(r.bindings));
        out.put("groups", CrashInvariants.collect(r.groups));
        out.put("dmaMappings", CrashInvariants.collect(r.dmaMappings));
        out.put("faults", CrashInvariants.collect(r.faults));
        out.put("guestStages", CrashInvariants.collect(r.guestStages));
        return out;
    }

    /** SHA-256 of every file under {@code root}, by relative path. */
    private static Map<String, String> hashes(Path root) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                md.update(Files.readAllBytes(p));
                out.put(root.relativize(p).toString(), HexFormat.of().formatHex(md.digest()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }
}
