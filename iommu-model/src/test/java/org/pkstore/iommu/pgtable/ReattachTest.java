package org.pkstore.iommu.pgtable;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_1G;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_2M;
import static org.pkstore.iommu.pgtable.PageTableGeometry.SZ_4K;

/** The kexec reattach: adopt the tables in place, writing nothing. */
class ReattachTest {
    @TempDir
    Path dir;

    private static final long[][] MAPPINGS = {
            {0, 0x1000_0000L, SZ_4K},
            {SZ_2M + 3 * SZ_4K, 0x2000_0000L + 3 * SZ_4K, 5 * SZ_4K},
            {SZ_1G, 0x4000_0000L, SZ_2M},
            {2 * SZ_1G, 0x8000_0000L, SZ_1G},
    };

    private Path populated(PageTableFormat format) {
        Path path;
        try (PageTableFile f = DomainFiles.create(dir, format, 64)) {
            IoPageTable t = IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT);
            for (long[] m : MAPPINGS) {
                assertEquals(0, t.map(m[0], m[1], m[2], Prot.READ | Prot.WRITE | Prot.CACHE));
            }
            path = f.path();
        }
        return path;
    }

    private static void assertTranslations(IoPageTable t) {
        for (long[] m : MAPPINGS) {
            for (long off = 0; off < m[2]; off += Math.max(SZ_4K, m[2] / 8)) {
                assertEquals(m[1] + off + 42, t.iovaToPhys(m[0] + off + 42));
            }
        }
        assertEquals(0, t.iovaToPhys(SZ_2M));
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void attachWritesNothing(PageTableFormat format) throws IOException {
        Path path = populated(format);
        try (PageTableFile f = PageTableFile.openReadWrite(path, 2)) {
            String before = DomainFiles.sha256(path); // after open, which records the new writer
            long root = f.rootPa();
            IoPageTable t = IoPageTable.attach(f, format, PartialUnmapPolicy.SPLIT);
            assertEquals(root, t.rootPa());
            assertTranslations(t);
            DeviceTranslation dev = new DeviceTranslation(f);
            assertEquals(0x4000_0000L + 42, dev.translate(SZ_1G + 42, Prot.READ | Prot.WRITE));
            assertTrue(PageTableVerifier.verify(f, format).clean());

            assertEquals(0, f.descriptorWrites(), "attach and lookups wrote no descriptor");
            assertEquals(0, t.descriptorsWritten());
            assertEquals(0, f.pagesAllocated());
            assertEquals(before, DomainFiles.sha256(path), "file bytes unchanged");

            // and the adopted table is fully usable
            assertEquals(SZ_4K, t.unmap(0, SZ_4K));
            assertEquals(0, t.map(0, 0x3000_0000L, SZ_4K, Prot.READ));
            assertEquals(0x3000_0000L, t.iovaToPhys(0));
        }
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void attachReadOnly(PageTableFormat format) throws IOException {
        Path path = populated(format);
        String before = DomainFiles.sha256(path);
        try (PageTableFile f = PageTableFile.openReadOnly(path)) {
            IoPageTable t = IoPageTable.attach(f, format, PartialUnmapPolicy.REFUSE);
            assertTranslations(t);
        }
        assertEquals(before, DomainFiles.sha256(path));
    }

    @ParameterizedTest
    @MethodSource("org.pkstore.iommu.pgtable.DomainFiles#formats")
    void attachRefusesAnotherFormatOrNoRoot(PageTableFormat format) {
        PageTableFormat other = format instanceof ArmLpaeS2Format ? VtdSecondStageFormat.INSTANCE : ArmLpaeS2Format.INSTANCE;
        Path path = populated(format);
        try (PageTableFile f = PageTableFile.openReadOnly(path)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> IoPageTable.attach(f, other, PartialUnmapPolicy.SPLIT));
            assertTrue(e.getMessage().contains("format"), e.getMessage());
        }
        try (PageTableFile f = PageTableFile.openReadWrite(path, 3)) {
            assertThrows(IllegalStateException.class, () -> IoPageTable.create(f, format, PartialUnmapPolicy.SPLIT),
                    "create over an existing root");
            assertThrows(IllegalArgumentException.class, () -> IoPageTable.create(f, other, PartialUnmapPolicy.SPLIT));
        }
        try (PageTableFile f = DomainFiles.create(dir, format, 16)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> IoPageTable.attach(f, format, PartialUnmapPolicy.SPLIT));
            assertTrue(e.getMessage().contains("no root"), e.getMessage());
        }
    }
}
