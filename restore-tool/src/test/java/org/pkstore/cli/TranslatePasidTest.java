package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.nested.ArmLpaeS1Format;
import org.pkstore.iommu.nested.FirstStageFormat;
import org.pkstore.iommu.nested.GuestPhysical;
import org.pkstore.iommu.nested.Stage1TableBuilder;
import org.pkstore.iommu.nested.VtdFirstLevelFormat;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code translate --pasid}: DMA tagged with a PASID whose entry names a guest first stage is walked
 * through both stages. Besides the standard mount (whose bound guest PGD 0x12345000 is not mapped by
 * stage 2), each driver gets a mount where the guest built a real first-stage table in its RAM:
 * stage 2 maps GPA [0, 2 MiB) read-write and GPA 0x40000000 read-only; stage 1 maps
 * {@link #VA} -> GPA 0x3000 (RW), VA + 4K -> GPA 0x40000000 (RW at stage 1 only), VA + 8K -> GPA
 * 0x300000 (not mapped by stage 2), and nothing at VA + 12K.
 */
class TranslatePasidTest extends StandardMountTest {
    static final long VA = 0x5500_0000_0000L;
    static final long POOL_GPA = 0x10_0000L;
    static final long CD_TABLE_GPA = 0x8000L;
    static Path vtd;
    static Path smmu;
    static long vtdRoot;
    static long smmuRoot;

    @BeforeAll
    static void guestsWithRealStage1() {
        vtd = tmp.resolve("nested-vtd");
        vtdRoot = build(vtd, HostTopology.defaultTopology(), VtdFirstLevelFormat.FOUR_LEVEL);
        smmu = tmp.resolve("nested-smmu");
        smmuRoot = build(smmu, HostTopology.parse("unit 3 smmuv3\ngroup 1 unit 3 device 00:01.0\n"), ArmLpaeS1Format.INSTANCE);
    }

    /** A VM whose guest builds {@code format} tables in its RAM and binds the root to PASID 1's device. */
    private static long build(Path dir, HostTopology topo, FirstStageFormat format) {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir); VfioKernel k = VfioKernel.boot(m, topo)) {
            VfioClient c = new VfioClient(k);
            assertEquals(0, c.mapGuestMemory(Fixtures.GUEST_VA, 64L << 20, "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("vm0", true)));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA, 0, 2L << 20));
            assertEquals(0, c.mapDma(a, Fixtures.GUEST_VA + (4L << 20), 0x4000_0000L, 4096,
                    VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ));
            GuestMemoryFile ram = m.openGuestMemory("ram");
            // the guest's RAM: GPA [0, 2 MiB) is the VMM's memory from offset 0, GPA 0x40000000 from 4 MiB
            GuestPhysical guest = new GuestPhysical() {
                private long pa(long gpa) {
                    return ram.paBase() + (gpa >= 0x4000_0000L ? gpa - 0x4000_0000L + (4L << 20) : gpa);
                }
                @Override public long read(long gpa) { return ram.readLong(pa(gpa)); }
                @Override public void write(long gpa, long value) { ram.writeLong(pa(gpa), value); }
            };
            Stage1TableBuilder b = new Stage1TableBuilder(format, guest, POOL_GPA, 16 * 4096);
            int rw = Prot.READ | Prot.WRITE;
            b.map4k(VA, 0x3000, rw);
            b.map4k(VA + 4096, 0x4000_0000L, rw);
            b.map4k(VA + 8192, 0x30_0000L, rw);
            VfioClient.Pasid p = c.allocPasid(a, 1, (1 << 20) - 1);
            assertEquals(0, p.ret());
            if (format == ArmLpaeS1Format.INSTANCE) {
                // SMMUv3: the guest writes its PASID's CD (TTB0 = its stage-1 root, T0SZ 16) into its linear
                // CD table, V word last, then binds the table's IPA (a VT-d format bind is refused: docs/UAPI.md BIND rows)
                long[] cd = SmmuContextDescriptor.encode(b.rootGpa(), p.pasid(), 16);
                for (int i = cd.length - 1; i >= 0; i--) {
                    guest.write(CD_TABLE_GPA + 64L * p.pasid() + 8L * i, cd[i]);
                }
                assertEquals(0, c.bindSmmuCdTable(a, true, p.pasid(), CD_TABLE_GPA, p.pasid()));
            } else {
                assertEquals(0, c.bindGuestPgtbl(a, true, p.pasid(), b.rootGpa(), p.pasid(), true, 48, 0, 0, 0));
            }
            return b.rootGpa();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3"})
    void bothStagesLevelByLevel(String driver) {
        Path dir = driver.equals("vtd") ? vtd : smmu;
        Cli.Result r = Cli.run("translate", dir, "--pasid", 1, "0x" + Long.toHexString(VA + 0x18), "--access", "w", "--json");
        assertEquals(0, r.exit(), r::toString);
        JsonNode n = r.json().path("nested");
        assertEquals(driver.equals("vtd") ? "vtd-fl4" : "arm-lpae-s1", n.path("stage1Format").asText());
        assertEquals("0x" + Long.toHexString(driver.equals("vtd") ? vtdRoot : smmuRoot), n.path("stage1RootGpa").asText());
        JsonNode s1 = n.path("stage1");
        assertEquals(4, s1.size(), s1::toString);
        for (int level = 0; level < 4; level++) {
            JsonNode step = s1.get(level);
            assertEquals(level, step.path("level").asInt());
            // every stage-1 entry GPA was itself walked through stage 2 (2 MiB of RAM: 4K pages, 4 levels)
            assertTrue(step.path("stage2").path("steps").size() >= 2, step::toString);
            assertTrue(step.path("stage2").path("hpa").asText().startsWith("0x"), step::toString);
        }
        assertEquals("0x" + Long.toHexString(POOL_GPA), s1.get(0).path("tableGpa").asText());
        assertTrue(s1.get(3).path("action").asText().startsWith("leaf -> gpa 0x3018"), s1::toString);
        assertEquals("0x3018", n.path("gpa").asText());
        assertEquals("-W---", n.path("output").path("access").asText());
        // the final HPA is the guest memory file's PA of GPA 0x3018 (stage 2 maps GPA 0 at its start)
        JsonNode hpa = n.path("hpa");
        Cli.Result s2only = Cli.run("translate", dir, "--domain", "vm0", "0x3018", "--json");
        assertEquals(s2only.json().path("result").path("pa").asText(), hpa.asText(), s2only::toString);

        Cli.Result text = Cli.run("translate", dir, "--pasid", 1, "0x" + Long.toHexString(VA + 0x18));
        assertEquals(0, text.exit(), text::toString);
        assertTrue(text.out().contains("stage-1 walk (guest tables"), text::toString);
        assertTrue(text.out().contains("output gpa 0x3018 through stage 2"), text::toString);
        assertTrue(text.out().contains("result: va 0x" + Long.toHexString(VA + 0x18) + " -> gpa 0x3018 -> hpa " + hpa.asText()),
                text::toString);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3"})
    void faultsNamedByStageAndLevel(String driver) {
        Path dir = driver.equals("vtd") ? vtd : smmu;
        // stage 1 grants the write, stage 2 maps GPA 0x40000000 read-only
        JsonNode w = fault(dir, VA + 4096, "w");
        assertEquals("s2-on-output", w.path("fault").asText());
        assertEquals(2, w.path("faultStage").asInt());
        assertEquals(3, w.path("faultLevel").asInt());
        assertTrue(w.path("reason").asText().contains("permission"), w::toString);
        JsonNode out = fault(dir, VA + 8192, "r");
        assertEquals("s2-on-output", out.path("fault").asText());
        assertTrue(out.path("reason").asText().contains("not present"), out::toString);
        JsonNode absent = fault(dir, VA + 12288, "r");
        assertEquals("s1-not-present", absent.path("fault").asText());
        assertEquals(1, absent.path("faultStage").asInt());
        assertEquals(3, absent.path("faultLevel").asInt());
        JsonNode top = fault(dir, 0x1000_0000_0000L, "r");
        assertEquals("s1-not-present", top.path("fault").asText());
        assertEquals(0, top.path("faultLevel").asInt());
    }

    @Test
    void aGuestPgdStage2DoesNotMapFaultsOnTheFirstTableFetch() {
        Cli.Result r = Cli.run("translate", std.dir(), "--device", "00:01.0", "--pasid", std.pasid(), "0x100");
        assertEquals(1, r.exit(), r::toString);
        assertTrue(r.out().contains("result: FAULT (s2-on-table, stage 2, level 0): stage 2 on the stage-1 table walk, "
                + "fetching the level 0 (PML4E) entry: not present"), r::toString);
        assertTrue(r.out().contains("entry gpa 0x12345000 -> stage 2 -> FAULT (not present)"), r::toString);
    }

    private static JsonNode fault(Path dir, long va, String access) {
        Cli.Result r = Cli.run("translate", dir, "--pasid", 1, "0x" + Long.toHexString(va), "--access", access, "--json");
        assertEquals(1, r.exit(), r::toString);
        return r.json().path("nested");
    }
}
