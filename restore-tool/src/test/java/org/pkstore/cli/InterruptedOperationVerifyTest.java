package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.Iotlb;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.CrashPoints;
import org.pkstore.vfio.DomainHotswap;
import org.pkstore.vfio.SimulatedCrash;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * verify and verify --repair on a mount a host left in the middle of a hotswap or a SET_IOMMU
 * (before the next boot recovers it), then the boot: the shared reachability definition
 * (MountReachability) keeps the tree a device walks, verify names a device entry with no domain
 * record, and after recovery the device translates, reattach writes nothing, verify exits 0.
 */
class InterruptedOperationVerifyTest {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    @TempDir
    Path tmp;

    static boolean has(Cli.Result r, String kind, String severity) {
        for (JsonNode f : r.json().path("findings")) {
            if (kind.equals(f.path("kind").asText()) && severity.equals(f.path("severity").asText())) {
                return true;
            }
        }
        return false;
    }

    /** A container on persistent file vm1 with two mappings; returns its fd. */
    static int vm(VfioClient c, boolean setIommu) {
        assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
        int a = c.openContainer();
        assertEquals(0, c.setContainer(c.openGroup(1), a));
        assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("vm1", true)));
        if (setIommu) {
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1v2_IOMMU));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0x100000, 0x40000));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA + 0x200000, 0x4000_0000L, 0x400000));
        }
        return a;
    }

    /** Boots, reattaches vm1 and checks translation, zero device-table writes, and verify exit 0 after. */
    static void bootReattachAndVerify(Path m, boolean mapped, long pagesBefore) {
        try (PkernfsMount mount = PkernfsMount.mountReadWrite(m); VfioKernel k = VfioKernel.boot(mount, HostTopology.defaultTopology())) {
            if (mapped) {
                assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x101234, Prot.READ).ok());
                assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x4000_1234L, Prot.READ).ok());
                assertTrue(k.unit(0).dmaTranslate(DEV1, Iotlb.NO_PASID, 0x403F_F000L, Prot.READ).ok());
                PageTableFile f = mount.openTableFile(mount.pageTablePath("vm1"));
                assertEquals(pagesBefore, f.allocatedTablePages(), "no table page leaked");
            }
            long hw0 = k.unit(0).deviceTable().file().descriptorWrites();
            VfioClient c = new VfioClient(k);
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("vm1", true)));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1v2_IOMMU));
            if (mapped) {
                assertEquals(hw0, k.unit(0).deviceTable().file().descriptorWrites(), "reattach wrote 0 device-table descriptors");
            }
        }
        Cli.Result v = Cli.run("verify", m, "--json");
        assertEquals(0, v.exit(), v::toString);
    }

    @Test
    void hotswapKilledBetweenPublishAndSwitch() {
        Path m = tmp.resolve("hotswap");
        long pagesBefore;
        long oldRoot;
        PkernfsMount mount = PkernfsMount.mountReadWrite(m);
        VfioKernel k = VfioKernel.boot(mount, HostTopology.defaultTopology());
        int a = vm(new VfioClient(k), true);
        oldRoot = k.unit(0).deviceTable().lookup(DEV1).stage2RootPa();
        pagesBefore = mount.openTableFile(mount.pageTablePath("vm1")).allocatedTablePages();
        k.setCrashPoints(CrashPoints.at("hotswap:published", 1));
        assertThrows(SimulatedCrash.class, () -> DomainHotswap.swap(k, a));
        k.crash();

        Cli.Result r = Cli.run("verify", m, "--json");
        assertEquals(0, r.exit(), r::toString);
        assertFalse(has(r, "leaked-page", "error"), "the tree the device walks is not a leak");
        assertTrue(has(r, "device-root", "note"), r::toString);
        Cli.Result rep = Cli.run("verify", m, "--repair", "--json");
        assertEquals(0, rep.exit(), rep::toString);
        try (PageTableFile f = PageTableFile.openReadOnly(m.resolve("pgtables/vm1.pt"))) {
            assertTrue(f.isAllocated(f.pageIndexOf(oldRoot)), "--repair kept the tree a device still walks");
            assertNotEquals(oldRoot, f.rootPa());
        }
        bootReattachAndVerify(m, true, pagesBefore);
    }

    void setIommuKilledAt(String point, boolean deviceWithoutDomain) {
        Path m = tmp.resolve(point.replace(':', '-'));
        PkernfsMount mount = PkernfsMount.mountReadWrite(m);
        VfioKernel k = VfioKernel.boot(mount, HostTopology.defaultTopology());
        VfioClient c = new VfioClient(k);
        int a = vm(c, false);
        k.setCrashPoints(CrashPoints.at(point, 1));
        assertThrows(SimulatedCrash.class, () -> c.setIommu(a, VfioUapi.VFIO_TYPE1v2_IOMMU));
        k.crash();

        Cli.Result r = Cli.run("verify", m, "--json");
        if (deviceWithoutDomain) {
            assertEquals(1, r.exit(), r::toString);
            assertTrue(has(r, "device-domain", "error"), "a present entry with no domain record is reported: " + r);
        }
        Cli.Result rep = Cli.run("verify", m, "--repair", "--json");
        assertTrue(rep.exit() == 0 || rep.exit() == 1, rep::toString);
        bootReattachAndVerify(m, false, 0);
    }

    @Test
    void setIommuKilledAfterTheAttach() {
        setIommuKilledAt("setiommu:attached", true);
    }

    @Test
    void setIommuKilledAfterTheDomainRecord() {
        setIommuKilledAt("setiommu:domain", false);
    }
}
