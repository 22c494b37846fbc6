package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A VT-d scalable-mode mount as inspect and verify read it (docs/FORMAT.md 6.5.1): the standard
 * mount's nested container shows nested=yes, and each hardware-layout problem planted in a copy
 * (reserved bits, a reserved PGTT, a pointer outside the file, a DID that differs between a
 * device's PASID entries, a reserved translation-table mode) is reported with its file and offset.
 */
class VtdScalableVerifyTest {
    @TempDir
    static Path tmp;
    static Fixtures.Standard std;
    static final AtomicInteger COPIES = new AtomicInteger();
    static final String HW = "iommu/unit0.hw";

    @BeforeAll
    static void build() {
        std = Fixtures.standard(tmp.resolve("std"));
    }

    /** File offsets of a bus-0 device's scalable-mode structures. */
    record Offsets(long registers, long contextEntry, long directoryEntry, long pasidEntry) {}

    /** Follows RTADDR_REG -> root entry -> context entry -> PASID directory -> PASID entry of {@code pasid}, as the hardware does. */
    static Offsets offsets(Path hw, int devfn, int pasid) {
        Damage.Header h = Damage.header(hw);
        long mask = 0x000F_FFFF_FFFF_F000L;
        long regs = h.offsetOf(h.rootPa()) + 0x20;
        long root = h.offsetOf(Damage.readLong(hw, regs) & mask);
        long ctx = h.offsetOf(Damage.readLong(hw, root + (devfn >= 0x80 ? 8 : 0)) & mask);
        long ce = ctx + 32L * (devfn & 0x7F);
        long de = h.offsetOf(Damage.readLong(hw, ce) & mask) + 8L * (pasid >>> 6);
        long pe = h.offsetOf(Damage.readLong(hw, de) & mask) + 64L * (pasid & 63);
        return new Offsets(regs, ce, de, pe);
    }

    static Path copy() {
        return Damage.copy(std.dir(), tmp.resolve("copy" + COPIES.incrementAndGet()));
    }

    @Test
    void inspectShowsTheNestedContainerAsNested() {
        Cli.Result r = Cli.run("inspect", std.dir(), "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode dev = InspectCommandTest.find(r.json().path("devices"), "bdf", "0000:00:01.0");
        assertTrue(dev.path("nested").asBoolean(), dev::toString);
        assertEquals("[" + std.pasid() + "]", dev.path("boundPasids").toString());
        JsonNode plain = InspectCommandTest.find(r.json().path("devices"), "bdf", "0000:00:02.0");
        assertFalse(plain.path("nested").asBoolean(), plain::toString);
        Offsets o = offsets(std.dir().resolve(HW), 0x08, 0);
        assertEquals("0x" + Long.toHexString(o.pasidEntry()), dev.path("entryOffset").asText(), "the RID_PASID entry");
        Cli.Result h = Cli.run("inspect", std.dir());
        assertTrue(h.out().contains("yes"), h::toString);
        Cli.Result v = Cli.run("verify", std.dir(), "--json");
        assertEquals(0, v.exit(), v::toString);
    }

    @Test
    void reservedBitOfABoundPasidEntry() {
        Path m = copy();
        long pe = offsets(m.resolve(HW), 0x08, std.pasid()).pasidEntry();
        Damage.flipBit(m.resolve(HW), pe, 10); // w0 bits 11:10 reserved
        VerifyCommandTest.expect(m, "encoding", HW, pe, "w0 reserved bits 0x400");
    }

    @Test
    void reservedPgttOfTheRidPasidEntry() {
        Path m = copy();
        long pe = offsets(m.resolve(HW), 0x08, 0).pasidEntry();
        long w0 = Damage.readLong(m.resolve(HW), pe);
        Damage.writeLong(m.resolve(HW), pe, (w0 & ~0x1C0L) | 5L << 6); // PGTT 101b: reserved
        VerifyCommandTest.expect(m, "encoding", HW, pe, "PGTT 101b (reserved) is reserved");
    }

    @Test
    void pasidTablePointerOutsideTheFile() {
        Path m = copy();
        Offsets o = offsets(m.resolve(HW), 0x08, std.pasid());
        Damage.Header h = Damage.header(m.resolve(HW));
        long beyond = h.paBase() + h.capacityPages() * 4096 + 0x10_0000;
        Damage.writeLong(m.resolve(HW), o.directoryEntry(), beyond | 1);
        VerifyCommandTest.expect(m, "outside-file", HW, o.directoryEntry(), "outside the file's table area");
    }

    @Test
    void boundPasidTaggedWithAnotherDid() {
        Path m = copy();
        long pe = offsets(m.resolve(HW), 0x08, std.pasid()).pasidEntry();
        Damage.writeLong(m.resolve(HW), pe + 8, 9 | 1L << 23); // DID 9 | PWSNP; the RID_PASID entry says 7
        VerifyCommandTest.expect(m, "vmid", HW, pe + 8, "is tagged DID 9 but the device's RID_PASID entry DID 7");
    }

    @Test
    void reservedWordOfAContextEntry() {
        Path m = copy();
        long ce = offsets(m.resolve(HW), 0x08, 0).contextEntry();
        Damage.writeLong(m.resolve(HW), ce + 16, 1);
        VerifyCommandTest.expect(m, "encoding", HW, ce, "reserved bits set in w1..w3");
    }

    @Test
    void abortDmaTranslationTableMode() {
        Path m = copy();
        long regs = offsets(m.resolve(HW), 0x08, 0).registers();
        long rtaddr = Damage.readLong(m.resolve(HW), regs);
        Damage.writeLong(m.resolve(HW), regs, rtaddr | 0xC00); // TTM 11
        VerifyCommandTest.expect(m, "encoding", HW, regs, "abort-DMA");
    }

    /** A unit without PASID capability keeps legacy root and context entries; verify reads them clean. */
    @Test
    void legacyModeUnitIsReadClean() {
        Path m = tmp.resolve("legacy");
        try (PkernfsMount pm = PkernfsMount.mountReadWrite(m);
             VfioKernel k = VfioKernel.boot(pm, HostTopology.parse("unit 0 vtd " + HostTopology.NO_PASID
                     + "\ngroup 1 unit 0 device 00:01.0\n"))) {
            VfioClient c = new VfioClient(k);
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1v2_IOMMU));
        }
        Cli.Result v = Cli.run("verify", m, "--json");
        assertEquals(0, v.exit(), v::toString);
        Cli.Result t = Cli.run("translate", m, "--device", "00:01.0", "0x0", "--json");
        JsonNode dt = t.json().path("deviceTable");
        assertTrue(dt.get(0).path("decoded").asText().contains("legacy"), dt::toString);
        assertEquals("context entry (devfn 08)", dt.get(2).path("structure").asText());
        // legacy mode reserves the root entry's upper word: a set bit there is refused
        Path c = Damage.copy(m, tmp.resolve("legacy-damaged"));
        Damage.Header h = Damage.header(c.resolve(HW));
        long root = h.offsetOf(Damage.readLong(c.resolve(HW), h.offsetOf(h.rootPa()) + 0x20) & ~0xFFFL);
        Damage.writeLong(c.resolve(HW), root + 8, 0x7001);
        VerifyCommandTest.expect(c, "encoding", HW, root + 8, "root entry hi: reserved bits");
    }
}
