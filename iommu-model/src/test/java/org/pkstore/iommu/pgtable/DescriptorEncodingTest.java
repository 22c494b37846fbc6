package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.PageTableFile;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.iommu.pgtable.DomainFiles.PA_BASE;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/**
 * Bit-exact descriptors, read back from the file through the walker. Table pages are allocated in
 * order from the first table page (index 2 in a small file: page 0 header, page 1 bitmap), so their
 * PAs, and the table descriptors pointing to them, are known exactly.
 */
class DescriptorEncodingTest {
    @TempDir
    Path dir;

    private static final int RWXC = Prot.READ | Prot.WRITE | Prot.NOEXEC | Prot.CACHE;
    private static final long PAGE2 = PA_BASE + 2 * SZ_4K;
    private static final long PAGE3 = PA_BASE + 3 * SZ_4K;
    private static final long PAGE4 = PA_BASE + 4 * SZ_4K;
    private static final long PAGE5 = PA_BASE + 5 * SZ_4K;
    private static final long PAGE6 = PA_BASE + 6 * SZ_4K;

    /** Maps a 4K page at IOVA 0, a 2M block at 1G and a 1G block at 2G; returns the leaves' paths. */
    private List<long[]> mapThree(PageTableFormat format, int prot4k, long pa4k, int prot2m, int prot1g) {
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(PAGE2, t.rootPa());
            assertEquals(0, t.map(0, pa4k, SZ_4K, prot4k));
            assertEquals(0, t.map(SZ_1G, SZ_1G, SZ_2M, prot2m));
            assertEquals(0, t.map(2 * SZ_1G, 2 * SZ_1G, SZ_1G, prot1g));
            DomainFiles.Collected c = DomainFiles.Collected.walk(f, format);
            assertTrue(c.problems.isEmpty(), c.problems.toString());
            assertEquals(3, c.paths.size());
            return c.paths;
        }
    }

    @Test
    void armGolden() {
        ArmLpaeS2Format arm = ArmLpaeS2Format.INSTANCE;
        List<long[]> paths = mapThree(arm, RWXC, 0, Prot.READ | Prot.WRITE | Prot.CACHE, Prot.READ);
        // 4K at 0: root page 2 -> L1 page 3 -> L2 page 4 -> L3 page 5
        assertArrayEquals(new long[] {PAGE3 | 3, PAGE4 | 3, PAGE5 | 3, 0x00600000000007FFL}, paths.get(0));
        // 2M at 1G: L1 entry 1 -> new L2 page 6; block: type 01, OIWB, S2AP RW, SH IS, AF
        assertArrayEquals(new long[] {PAGE3 | 3, PAGE6 | 3, 0x00000000400007FDL, 0}, paths.get(1));
        // 1G at 2G, read-only, normal non-cacheable, outer shareable
        assertArrayEquals(new long[] {PAGE3 | 3, 0x0000000080000655L, 0, 0}, paths.get(2));
    }

    @Test
    void vtdGolden() {
        VtdSecondStageFormat vtd = VtdSecondStageFormat.INSTANCE;
        List<long[]> paths = mapThree(vtd, Prot.READ | Prot.WRITE | Prot.CACHE, SZ_4K, Prot.READ | Prot.WRITE, Prot.READ);
        // tables are R|W|address; the 4K PTE is R|W|SNP, no PS
        assertArrayEquals(new long[] {PAGE3 | 3, PAGE4 | 3, PAGE5 | 3, 0x0000000000001803L}, paths.get(0));
        // 2M PDE with PS
        assertArrayEquals(new long[] {PAGE3 | 3, PAGE6 | 3, 0x0000000040000083L, 0}, paths.get(1));
        // 1G PDPTE with PS, read-only
        assertArrayEquals(new long[] {PAGE3 | 3, 0x0000000080000081L, 0, 0}, paths.get(2));
    }

    @Test
    void pureEncodings() {
        ArmLpaeS2Format arm = ArmLpaeS2Format.INSTANCE;
        assertEquals(0x00600000000007FFL, arm.makeLeaf(0, RWXC, 3), "the golden page");
        assertEquals(0x00000000000016C7L, arm.makeLeaf(SZ_4K, Prot.READ | Prot.WRITE | Prot.MMIO, 3), "device memory");
        assertEquals(0x0000000000000747L, arm.makeLeaf(0, Prot.READ | Prot.CACHE | Prot.MMIO, 3), "MMIO wins MemAttr, CACHE keeps SH IS");
        assertEquals(0x0000123456789003L, arm.makeTable(0x123456789000L));
        assertEquals(0x0000123456789000L, arm.tableAddress(0x0060123456789003L));

        VtdSecondStageFormat vtd = VtdSecondStageFormat.INSTANCE;
        assertEquals(0x0000000000000803L, vtd.makeLeaf(0, RWXC, 3), "NOEXEC has no VT-d second-stage bit");
        assertEquals(0x0000000000000002L, vtd.makeLeaf(0, Prot.WRITE | Prot.MMIO, 3));
        assertEquals(0x0000000000200082L, vtd.makeLeaf(SZ_2M, Prot.WRITE, 2));
        assertEquals(0x0000123456789003L, vtd.makeTable(0x123456789000L));
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void protRoundTripsAndProducedEncodingsValidate(PageTableFormat format) {
        for (int level = 1; level <= 3; level++) {
            for (int prot = 0; prot <= Prot.ALL; prot++) {
                if ((prot & (Prot.READ | Prot.WRITE)) == 0) {
                    continue;
                }
                long pa = 0x0000_7654_0000_0000L;
                long d = format.makeLeaf(pa, prot, level);
                assertTrue(format.isPresent(d, level) && format.isLeaf(d, level) && !format.isTable(d, level));
                assertEquals(pa, format.outputAddress(d, level));
                assertNull(format.validate(d, level), format.decode(d, level));
                int back = format.protOf(d, level);
                assertEquals(back, DomainFiles.canonicalProt(format, prot));
                assertEquals(d, format.makeLeaf(pa, back, level), "protOf is exact for what the format expresses");
                assertEquals(prot & (Prot.READ | Prot.WRITE | Prot.CACHE), back & (Prot.READ | Prot.WRITE | Prot.CACHE));
            }
        }
        for (int level = 0; level < 3; level++) {
            long t = format.makeTable(PA_BASE + 5 * SZ_4K);
            assertTrue(format.isTable(t, level) && !format.isLeaf(t, level));
            assertNull(format.validate(t, level));
            assertEquals(PA_BASE + 5 * SZ_4K, format.tableAddress(t));
        }
        assertNull(format.validate(0, 2));
        assertFalse(format.isPresent(0, 3));
    }

    @Test
    void armValidateRejects() {
        ArmLpaeS2Format arm = ArmLpaeS2Format.INSTANCE;
        long good = arm.makeLeaf(SZ_1G, Prot.READ, 2);
        assertNotNull(arm.validate((good & ~3) | 1, 0), "block at level 0");
        assertNotNull(arm.validate(arm.makeLeaf(0, Prot.READ, 2), 3), "type 01 at level 3");
        assertNotNull(arm.validate(good & ~ArmLpaeS2Format.AF, 2), "AF clear");
        assertNotNull(arm.validate(good | SZ_4K, 2), "unaligned block address");
        assertNotNull(arm.validate(good | (1L << 51), 2), "DBM / high bits");
        assertNotNull(arm.validate((good & ~ArmLpaeS2Format.SH_MASK) | ArmLpaeS2Format.SH_RESERVED, 2), "SH 01");
        assertNotNull(arm.validate(good | (1L << 53), 2), "one XN bit");
        assertNotNull(arm.validate(good & ~(3L << 6), 2), "S2AP 00");
        assertNotNull(arm.validate(arm.makeTable(SZ_4K) | (1L << 63), 1), "NSTable at stage 2");
        assertNotNull(arm.validate(0x1000, 1), "invalid with stray bits");
        assertTrue(arm.decode(good, 2).contains("block 2M"), arm.decode(good, 2));
    }

    @Test
    void vtdValidateRejects() {
        VtdSecondStageFormat vtd = VtdSecondStageFormat.INSTANCE;
        assertNotNull(vtd.validate(vtd.makeLeaf(SZ_1G, Prot.READ, 1), 0), "PS at level 0");
        assertNotNull(vtd.validate(vtd.makeLeaf(0, Prot.READ, 3) | VtdSecondStageFormat.PS, 3), "PS in a PTE");
        assertNotNull(vtd.validate(vtd.makeLeaf(SZ_2M, Prot.READ, 2) | SZ_4K, 2), "unaligned superpage");
        assertNotNull(vtd.validate(vtd.makeLeaf(0, Prot.READ, 3) | (1L << 50), 3), "address above 48 bits");
        assertNotNull(vtd.validate(vtd.makeLeaf(0, Prot.READ, 3) | (1L << 60), 3), "ignored high bits");
        assertNotNull(vtd.validate(vtd.makeTable(SZ_4K) | VtdSecondStageFormat.SNP, 1), "SNP in a table entry");
        assertNotNull(vtd.validate(0x5000, 1), "not present with an address");
        assertNull(vtd.validate(vtd.makeLeaf(0, Prot.READ, 3) | VtdSecondStageFormat.A | VtdSecondStageFormat.D, 3),
                "hardware-set A/D are fine");
        assertTrue(vtd.decode(vtd.makeLeaf(0, Prot.READ | Prot.CACHE, 3), 3).contains("SNP"));
    }
}
