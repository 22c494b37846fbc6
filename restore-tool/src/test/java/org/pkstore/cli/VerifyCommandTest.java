package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import net.openhft.chronicle.map.ChronicleMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.registry.Registries;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** verify on a real mount, then on copies with one kind of damage each: the reason and the offset are checked. */
class VerifyCommandTest {
    @TempDir
    static Path tmp;
    static Fixtures.Standard std;
    static final AtomicInteger COPIES = new AtomicInteger();
    static final long IOVA_4K = 0x4000_0000L;

    @BeforeAll
    static void build() {
        std = Fixtures.standard(tmp.resolve("std"));
    }

    static Path copy() {
        return Damage.copy(std.dir(), tmp.resolve("copy" + COPIES.incrementAndGet()));
    }

    static Path vm0(Path m) {
        return m.resolve("pgtables/vm0.pt");
    }

    /** Runs verify --json, expects exit 1 and a finding of {@code kind} in {@code file} at {@code offset}. */
    static JsonNode expect(Path mount, String kind, String file, long offset, String reasonPart) {
        Cli.Result r = Cli.run("verify", mount, "--json");
        assertEquals(1, r.exit(), r::toString);
        JsonNode j = r.json();
        assertEquals(false, j.path("clean").asBoolean());
        List<String> seen = new ArrayList<>();
        for (JsonNode f : j.path("findings")) {
            seen.add(f.toString());
            if (kind.equals(f.path("kind").asText()) && file.equals(f.path("file").asText())
                    && (offset < 0 || ("0x" + Long.toHexString(offset)).equals(f.path("offset").asText()))
                    && f.path("reason").asText().contains(reasonPart)) {
                assertEquals("error", f.path("severity").asText());
                // the human form names the same place
                Cli.Result h = Cli.run("verify", mount);
                assertEquals(1, h.exit());
                assertTrue(h.out().contains(file + (offset >= 0 ? " @ 0x" + Long.toHexString(offset) : "")), h::toString);
                return f;
            }
        }
        throw new AssertionError("no " + kind + " finding in " + file + " @ 0x" + Long.toHexString(offset)
                + " containing \"" + reasonPart + "\"; findings:\n" + String.join("\n", seen));
    }

    @Test
    void aModelMountIsClean() {
        Cli.Result r = Cli.run("verify", std.dir(), "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode j = r.json();
        assertTrue(j.path("clean").asBoolean());
        assertEquals(0, j.path("summary").path("errors").asInt());
        assertEquals(2, j.path("summary").path("domainFiles").asInt());
        assertEquals(2, j.path("summary").path("devices").asInt());
        assertEquals(263, j.path("summary").path("leaves").asLong());
        Cli.Result h = Cli.run("verify", std.dir());
        assertEquals(0, h.exit());
        assertTrue(h.out().contains("result: clean"), h::toString);
    }

    /**
     * A device table written by the layout before VT-d scalable mode and the nested STE (compatibility
     * string {@code pkstore-iommu-hwtable-v1}, checksum consistent) is refused with file, offset and
     * reason, not decoded as the new layout; verify writes nothing.
     */
    @Test
    void oldLayoutDeviceTableIsRefused() {
        Path m = copy();
        Path hw = m.resolve("iommu/unit0.hw");
        byte[] compat = new byte[PageTableFileDescriptor.COMPAT_LENGTH];
        byte[] old = PageTableFileDescriptor.COMPAT_IOMMU_TABLES_V1.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(old, 0, compat, 0, old.length);
        ByteBuffer b = ByteBuffer.wrap(compat).order(ByteOrder.nativeOrder());
        for (int i = 0; i < compat.length; i += 8) {
            Damage.writeLong(hw, PageTableFileDescriptor.COMPAT_OFFSET + i, b.getLong(i));
        }
        CRC32C crc = new CRC32C();
        for (int i = 0; i < PageTableFileDescriptor.CHECKSUMMED_LENGTH; i += 8) {
            crc.update(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, Damage.readLong(hw, i)));
        }
        Damage.writeLong(hw, PageTableFileDescriptor.CHECKSUM_OFFSET, crc.getValue());
        byte[] before = readAll(hw);
        expect(m, "header", "iommu/unit0.hw", PageTableFileDescriptor.COMPAT_OFFSET,
                "incompatible format \"pkstore-iommu-hwtable-v1\", expected \"pkstore-iommu-hwtable-v2\"");
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, readAll(hw), "verify wrote nothing");
    }

    @Test
    void truncatedFile() {
        Path m = copy();
        Damage.truncate(vm0(m), 8L << 20);
        expect(m, "header", "pgtables/vm0.pt", 8L << 20, "truncated");
    }

    @Test
    void wrongMagic() {
        Path m = copy();
        Damage.writeLong(vm0(m), 0, 0x4141_4141_4141_4141L);
        expect(m, "header", "pgtables/vm0.pt", 0, "wrong magic");
    }

    @Test
    void flippedBitCaughtByTheHeaderChecksum() {
        Path m = copy();
        Damage.flipBit(vm0(m), 80, 3); // owner id, inside the checksummed bytes
        expect(m, "header", "pgtables/vm0.pt", 96, "checksum mismatch");
    }

    @Test
    void descriptorPointingOutsideTheFile() {
        Path m = copy();
        long l1 = Damage.pathOffsets(vm0(m), IOVA_4K).get(1);
        Damage.writeLong(vm0(m), l1, 0x7000_0000_0000L | 3);
        expect(m, "outside-file", "pgtables/vm0.pt", l1, "outside the file's table area");
    }

    @Test
    void loopBetweenTables() {
        Path m = copy();
        List<Long> path = Damage.pathOffsets(vm0(m), IOVA_4K);
        Damage.Header h = Damage.header(vm0(m));
        long l1Table = h.paBase() + (path.get(1) & ~0xFFFL);
        Damage.writeLong(vm0(m), path.get(2), l1Table | 3); // the level-2 entry points back to the level-1 table
        expect(m, "cycle", "pgtables/vm0.pt", path.get(2), "loop between tables");
        // walk and translate end too, reporting the same place
        Cli.Result w = Cli.run("walk", m, "--domain", "vm0");
        assertEquals(1, w.exit(), w::toString);
        assertTrue(w.err().contains("@ 0x" + Long.toHexString(path.get(2))), w::toString);
        Cli.Result t = Cli.run("translate", m, "--domain", "vm0", Fmt.hex(IOVA_4K), "--json");
        assertEquals(1, t.exit(), t::toString);
    }

    @Test
    void tablePageReachableFromTwoDomains() {
        Path m = copy();
        Path d2 = m.resolve("pgtables/domain-2.pt");
        long otherL1 = Damage.header(d2).paBase() + (Damage.pathOffsets(d2, 0x100_0000L).get(1) & ~0xFFFL);
        long root = Damage.pathOffsets(vm0(m), 0).get(0);
        long entry = (root & ~0xFFFL) + 8 * 5; // an unused PML4E of vm0
        Damage.writeLong(vm0(m), entry, otherL1 | 3);
        JsonNode f = expect(m, "cross-domain", "pgtables/vm0.pt", entry, "reachable from two domains");
        assertTrue(f.path("reason").asText().contains("pgtables/domain-2.pt"), f::toString);
    }

    @Test
    void leakedPageAndRepair() {
        Path m = copy();
        long page = 100;
        long word = 4096 + (page / 64) * 8;
        Damage.writeLong(vm0(m), word, Damage.readLong(vm0(m), word) | 1L << (page % 64));
        expect(m, "leaked-page", "pgtables/vm0.pt", page * 4096, "reachable from no table");

        Cli.Result r = Cli.run("verify", m, "--repair", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode rep = r.json().path("repair");
        assertEquals("pgtables/vm0.pt", rep.path("reclaimed").get(0).path("file").asText());
        assertEquals(1, rep.path("reclaimed").get(0).path("pages").asLong());
        assertTrue(rep.path("before").toString().contains("leaked-page"));
        assertTrue(r.json().path("clean").asBoolean());
        try (PageTableFile f = PageTableFile.openReadOnly(vm0(m))) {
            assertTrue(f.clean(), "repair keeps the clean flag");
            assertEquals(false, f.isAllocated(page));
        }
        assertEquals(0, Cli.run("verify", m).exit());
    }

    @Test
    void repairIsRefusedWhileAHostHoldsTheMount() {
        Path m = copy();
        try (PkernfsMount held = PkernfsMount.mountReadWrite(m)) {
            Cli.Result r = Cli.run("verify", m, "--repair");
            assertEquals(2, r.exit(), r::toString);
            assertTrue(r.err().contains("held by pid " + ProcessHandle.current().pid()), r::toString);
            // plain verify still runs beside it
            Cli.Result v = Cli.run("verify", m, "--json");
            assertEquals(0, v.exit(), v::toString);
            assertTrue(v.out().contains("\"live\""), v::toString);
        }
    }

    @Test
    void repairLeavesAFileWithOtherProblemsAlone() {
        Path m = copy();
        List<Long> path = Damage.pathOffsets(vm0(m), IOVA_4K);
        Damage.writeLong(vm0(m), path.get(3), Damage.readLong(vm0(m), path.get(3)) | 1L << 60);
        long page = 200;
        long word = 4096 + (page / 64) * 8;
        Damage.writeLong(vm0(m), word, Damage.readLong(vm0(m), word) | 1L << (page % 64));
        Cli.Result r = Cli.run("verify", m, "--repair", "--json");
        assertEquals(1, r.exit(), r::toString);
        JsonNode skipped = r.json().path("repair").path("skipped").get(0);
        assertEquals("pgtables/vm0.pt", skipped.path("file").asText());
        assertTrue(skipped.path("reason").asText().contains("encoding"), skipped::toString);
        try (PageTableFile f = PageTableFile.openReadOnly(vm0(m))) {
            assertTrue(f.isAllocated(page), "nothing reclaimed");
        }
    }

    @Test
    void badDescriptorEncoding() {
        Path m = copy();
        long leaf = Damage.pathOffsets(vm0(m), IOVA_4K).get(3);
        Damage.writeLong(vm0(m), leaf, Damage.readLong(vm0(m), leaf) | 1L << 60);
        expect(m, "encoding", "pgtables/vm0.pt", leaf, "bits [63:52] set");
    }

    @Test
    void tablePointerToAFreePage() {
        Path m = copy();
        List<Long> path = Damage.pathOffsets(vm0(m), IOVA_4K);
        long l3Page = (Damage.readLong(vm0(m), path.get(2)) & 0x000F_FFFF_FFFF_F000L) - Damage.header(vm0(m)).paBase();
        long page = l3Page / 4096;
        long word = 4096 + (page / 64) * 8;
        Damage.writeLong(vm0(m), word, Damage.readLong(vm0(m), word) & ~(1L << (page % 64)));
        expect(m, "free-page", "pgtables/vm0.pt", path.get(2), "says is free");
    }

    @Test
    void corruptRegistryEntry() throws Exception {
        Path m = copy();
        try (ChronicleMap<Long, byte[]> map = ChronicleMap.of(Long.class, byte[].class).name("containers")
                .entries(1 << 12).averageValueSize(64).createPersistedTo(Registries.fileOf(m, "containers").toFile())) {
            map.put((long) std.containerId(), new byte[] {9, 1, 2});
        }
        reseal(m); // a bad entry written through pkstore's own path, then a clean unmount
        Cli.Result r = Cli.run("verify", m, "--json");
        assertEquals(1, r.exit(), r::toString);
        boolean found = false;
        for (JsonNode f : r.json().path("findings")) {
            if ("registry-entry".equals(f.path("kind").asText())) {
                assertEquals("registry/containers.cmap", f.path("file").asText());
                assertEquals(std.containerId(), f.path("key").asLong());
                assertTrue(f.path("reason").asText().contains("record version 9"), f::toString);
                found = true;
            }
        }
        assertTrue(found, r::toString);
        // inspect still shows what decodes, and says what does not
        Cli.Result i = Cli.run("inspect", m, "--json");
        assertEquals(1, i.exit(), i::toString);
        assertEquals(1, i.json().path("containers").size());
    }

    @Test
    void registriesInconsistentWithEachOther() {
        Path m = copy();
        try (Registries r = Registries.openLive(m, false)) {
            r.pasids.remove(std.pasid());
        }
        reseal(m);
        JsonNode f = expect(m, "binding", "registry/bindings.cmap", -1, "not allocated");
        assertEquals(std.pasid(), f.path("key").asInt());
    }

    @Test
    void deviceEntryNotPointingAtADomainRoot() {
        Path m = copy();
        Path hw = m.resolve("iommu/unit0.hw");
        long pe = VtdScalableVerifyTest.offsets(hw, 0x08, 0).pasidEntry(); // 00:01.0's RID_PASID entry
        long l1 = Damage.header(vm0(m)).paBase() + (Damage.pathOffsets(vm0(m), 0).get(1) & ~0xFFFL);
        Damage.writeLong(hw, pe, l1 | 0x89); // SLPTPTR | PGTT 010 | AW 010 | P
        expect(m, "device-root", "iommu/unit0.hw", pe, "not its root table");
    }

    @Test
    void vmidOfADeviceDisagreesWithItsDomain() {
        Path m = copy();
        Path hw = m.resolve("iommu/unit0.hw");
        long pe = VtdScalableVerifyTest.offsets(hw, 0x08, 0).pasidEntry();
        Damage.writeLong(hw, pe + 8, 9 | 1L << 23); // DID 9 | PWSNP
        expect(m, "vmid", "iommu/unit0.hw", pe, "tagged DID/VMID 9");
    }

    /**
     * Two domains of one unit on one VMID: sharing is fine while they translate alike; once one maps
     * a page the other does not, verify names the first IOVA that differs (docs/UAPI.md, SET_VMID row).
     */
    @Test
    void domainsSharingAVmidMustTranslateAlike() {
        Path alike = sharedVmidMount("alike", false);
        Cli.Result r = Cli.run("verify", alike, "--json");
        assertEquals(0, r.exit(), r::toString);
        for (JsonNode f : r.json().path("findings")) {
            assertTrue(!"shared-vmid".equals(f.path("kind").asText()), f::toString);
        }
        Path apart = sharedVmidMount("apart", true);
        JsonNode f = expect(apart, "shared-vmid", "pgtables/b.pt", -1, "translate IOVA 0x400000 differently");
        assertTrue(f.path("reason").asText().contains("unmapped versus PA 0x"), f::toString);
    }

    private static Path sharedVmidMount(String name, boolean diverge) {
        Path dir = tmp.resolve(name);
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
            int[] fds = new int[2];
            for (int i = 0; i < 2; i++) {
                fds[i] = c.openContainer();
                assertEquals(0, c.setContainer(c.openGroup(i + 1), fds[i]));
                assertEquals(0, c.setPersistentPgtables(fds[i], c.openPageTableFile(i == 0 ? "a" : "b", true)));
                assertEquals(0, c.setIommu(fds[i], org.pkstore.vfio.uapi.VfioUapi.VFIO_TYPE1v2_IOMMU));
                assertEquals(0, c.mapDma(fds[i], Fixtures.GUEST_VA, 0, 2L << 20));
            }
            assertEquals(0, c.setVmid(fds[1], c.getVmid(fds[0]).vmid()), "alike: SET_VMID accepts");
            if (diverge) {
                // after the join SET_VMID cannot see it: only verify can
                assertEquals(0, c.mapDma(fds[1], Fixtures.GUEST_VA + (4L << 20), 4L << 20, 4096));
            }
        }
        return dir;
    }

    /** A host killed between operations: unclean but consistent; verify says so and finds nothing wrong. */
    @Test
    void crashedMountIsReadable() {
        Path m = tmp.resolve("crashed");
        PkernfsMount mount = PkernfsMount.mountReadWrite(m);
        VfioKernel k = VfioKernel.boot(mount, HostTopology.defaultTopology());
        VfioClient c = new VfioClient(k);
        assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, Fixtures.GUEST_SIZE, "ram"));
        int a = c.openContainer();
        assertEquals(0, c.setContainer(c.openGroup(1), a));
        assertEquals(0, c.setIommu(a, 3));
        assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0, 4 << 20));
        k.crash();
        Cli.Result r = Cli.run("verify", m, "--json");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("\"unclean\""), r::toString);
        assertEquals(0, Cli.run("walk", m, "--device", "00:01.0").exit());
    }

    /** Seals the registries as a clean unmount does, so that only the inconsistency a test made remains. */
    private static void reseal(Path m) {
        org.pkstore.persist.registry.RegistrySeal.sealAll(m, org.pkstore.persist.MountAcceptance.assess(m).generation());
    }

    private static byte[] readAll(Path f) {
        try {
            return java.nio.file.Files.readAllBytes(f);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
