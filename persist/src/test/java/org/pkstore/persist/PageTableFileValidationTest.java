package org.pkstore.persist;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.pkstore.persist.PageTableFileDescriptor.*;
import static org.pkstore.persist.Refusals.assertRefused;

/** Every refusal path of the page-table file header: file, offset and reason, and nothing written. */
class PageTableFileValidationTest {
    static final long PA_BASE = 0x4000_0000_0000L;
    static final long CAPACITY = 64;

    @TempDir
    Path tmp;
    Path file;

    @BeforeEach
    void create() {
        file = tmp.resolve("d.pt");
        try (PageTableFile f = PageTableFile.create(file, KIND_DOMAIN_TABLES, 1, CAPACITY, PA_BASE, 3, 1)) {
            long root = f.allocatePage();
            f.writeDescriptor(root, 0x1234);
            f.setRootPa(root);
            f.markClean();
        }
    }

    /** Both open paths refuse; neither writes. */
    private void refused(long offset, String reason) {
        assertRefused(tmp, file, offset, reason, () -> PageTableFile.openReadOnly(file).close());
        assertRefused(tmp, file, offset, reason, () -> PageTableFile.openReadWrite(file, 9).close());
    }

    @Test
    void intactFileOpens() {
        try (PageTableFile f = PageTableFile.openReadOnly(file)) {
            assertEquals(0x1234, f.readDescriptor(f.rootPa()));
        }
    }

    @Test
    void wrongMagic() {
        TestFiles.writeLong(file, MAGIC_OFFSET, 0x4142_4344_4546_4748L);
        refused(MAGIC_OFFSET, "wrong magic");
    }

    @Test
    void versionZeroMeansIncompleteCreation() {
        TestFiles.writeInt(file, VERSION_OFFSET, 0);
        refused(VERSION_OFFSET, "never completely created");
    }

    @Test
    void unknownVersion() {
        TestFiles.writeInt(file, VERSION_OFFSET, 2);
        refused(VERSION_OFFSET, "unknown layout version 2");
    }

    @Test
    void incompatibleCompatString() {
        TestFiles.writeString(file, COMPAT_OFFSET, "pkstore-iommu-pgtable-v2", COMPAT_LENGTH);
        refused(COMPAT_OFFSET, "incompatible format \"pkstore-iommu-pgtable-v2\"");
    }

    @Test
    void compatOfTheOtherKind() {
        TestFiles.writeString(file, COMPAT_OFFSET, COMPAT_IOMMU_TABLES, COMPAT_LENGTH);
        refused(COMPAT_OFFSET, "incompatible format");
    }

    @Test
    void badChecksumFromOneFlippedBitOfAnImmutableField() {
        TestFiles.flipBit(file, OWNER_ID_OFFSET, 0);
        refused(CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void badChecksumFromAFlippedCapacityBit() {
        TestFiles.flipBit(file, CAPACITY_PAGES_OFFSET + 1, 3);
        refused(CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void flippedChecksumBit() {
        TestFiles.flipBit(file, CHECKSUM_OFFSET, 5);
        refused(CHECKSUM_OFFSET, "checksum mismatch");
    }

    @Test
    void wrongPageSize() {
        TestFiles.writeInt(file, PAGE_SIZE_OFFSET, 8192);
        refused(PAGE_SIZE_OFFSET, "page size 8192");
    }

    @Test
    void unknownKind() {
        TestFiles.writeInt(file, KIND_OFFSET, 3);
        refused(KIND_OFFSET, "unknown file kind 3");
    }

    @Test
    void truncatedShorterThanTheHeader() {
        TestFiles.truncate(file, 100);
        refused(100, "truncated");
    }

    @Test
    void truncatedShorterThanTheCapacity() {
        long size = (CAPACITY - 1) * PAGE_SIZE;
        TestFiles.truncate(file, size);
        refused(size, "truncated");
    }

    @Test
    void longerThanTheCapacity() {
        TestFiles.extend(file, PAGE_SIZE);
        refused(CAPACITY_PAGES_OFFSET, "size mismatch");
    }

    @Test
    void capacityOutOfRangeWithAValidChecksum() {
        TestFiles.writeLong(file, CAPACITY_PAGES_OFFSET, 2);
        TestFiles.fixChecksum(file, CHECKSUMMED_LENGTH);
        refused(CAPACITY_PAGES_OFFSET, "capacity 2 pages out of range");
    }

    @Test
    void bitmapPagesNotMatchingTheCapacityWithAValidChecksum() {
        TestFiles.writeInt(file, BITMAP_PAGES_OFFSET, 2);
        TestFiles.fixChecksum(file, CHECKSUMMED_LENGTH);
        refused(BITMAP_PAGES_OFFSET, "bitmap pages 2");
    }

    @Test
    void physicalBaseNotAlignedWithAValidChecksum() {
        TestFiles.writeLong(file, PA_BASE_OFFSET, PA_BASE + 8);
        TestFiles.fixChecksum(file, CHECKSUMMED_LENGTH);
        refused(PA_BASE_OFFSET, "physical base");
    }

    @Test
    void physicalBaseBeyond48BitsWithAValidChecksum() {
        TestFiles.writeLong(file, PA_BASE_OFFSET, (1L << 48) - PAGE_SIZE);
        TestFiles.fixChecksum(file, CHECKSUMMED_LENGTH);
        refused(PA_BASE_OFFSET, "beyond 2^48");
    }

    @Test
    void rootPaOnTheHeaderPage() {
        TestFiles.writeLong(file, ROOT_PA_OFFSET, PA_BASE);
        refused(ROOT_PA_OFFSET, "root table PA 0x" + Long.toHexString(PA_BASE));
    }

    @Test
    void rootPaOnTheBitmapPage() {
        TestFiles.writeLong(file, ROOT_PA_OFFSET, PA_BASE + PAGE_SIZE);
        refused(ROOT_PA_OFFSET, "is not a table page");
    }

    @Test
    void rootPaNotPageAligned() {
        TestFiles.writeLong(file, ROOT_PA_OFFSET, PA_BASE + 2 * PAGE_SIZE + 8);
        refused(ROOT_PA_OFFSET, "is not a table page");
    }

    @Test
    void rootPaBeyondTheFile() {
        TestFiles.writeLong(file, ROOT_PA_OFFSET, PA_BASE + CAPACITY * PAGE_SIZE);
        refused(ROOT_PA_OFFSET, "is not a table page");
    }

    @Test
    void badCleanFlag() {
        TestFiles.writeInt(file, CLEAN_OFFSET, 7);
        refused(CLEAN_OFFSET, "clean flag 7");
    }

    @Test
    void iommuKindFileChecksItsOwnCompatString() {
        Path hw = tmp.resolve("u.hw");
        PageTableFile.create(hw, KIND_IOMMU_TABLES, 0, CAPACITY, PA_BASE, 1, 1).close();
        PageTableFile.openReadOnly(hw).close();
        TestFiles.writeString(hw, COMPAT_OFFSET, COMPAT_DOMAIN_TABLES, COMPAT_LENGTH);
        assertRefused(tmp, hw, COMPAT_OFFSET, "expected \"" + COMPAT_IOMMU_TABLES + "\"",
                () -> PageTableFile.openReadOnly(hw).close());
    }

    /** A device table of the layout before v2, otherwise intact (consistent checksum): refused, not misread. */
    @Test
    void oldLayoutDeviceTableIsRefused() {
        Path hw = tmp.resolve("unit0.hw");
        PageTableFile.create(hw, KIND_IOMMU_TABLES, 1, CAPACITY, PA_BASE, 1, 1).close();
        assertEquals("pkstore-iommu-hwtable-v2", COMPAT_IOMMU_TABLES);
        TestFiles.writeString(hw, COMPAT_OFFSET, COMPAT_IOMMU_TABLES_V1, COMPAT_LENGTH);
        TestFiles.fixChecksum(hw, CHECKSUMMED_LENGTH);
        String reason = "incompatible format \"pkstore-iommu-hwtable-v1\", expected \"pkstore-iommu-hwtable-v2\": "
                + "a device table of the layout before VT-d scalable mode";
        assertRefused(tmp, hw, COMPAT_OFFSET, reason, () -> PageTableFile.openReadOnly(hw).close());
        assertRefused(tmp, hw, COMPAT_OFFSET, reason, () -> PageTableFile.openReadWrite(hw, 9).close());
    }
}
