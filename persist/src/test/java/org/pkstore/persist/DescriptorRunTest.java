package org.pkstore.persist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.pkstore.persist.PageTableFileDescriptor.KIND_DOMAIN_TABLES;
import static org.pkstore.persist.PageTableFileDescriptor.PAGE_SIZE;

/** {@link PageTableFile#descriptorRun}: the length of a run of descriptors each one step above the previous. */
class DescriptorRunTest {
    static final long PA_BASE = 0x4000_0000_0000L;
    static final long STEP = 0x1000;

    @TempDir
    Path tmp;

    @Test
    void countsTheRunUpToTheFirstDescriptorThatBreaksIt() {
        try (PageTableFile f = PageTableFile.create(tmp.resolve("a.pt"), KIND_DOMAIN_TABLES, 1, 16, PA_BASE, 7, 1)) {
            long table = f.allocatePage();
            long first = 0x1234_5000L | 0x3;
            for (int i = 0; i < 512; i++) {
                f.writeDescriptor(table + 8L * i, first + i * STEP);
            }
            assertEquals(512, f.descriptorRun(table, 512, first, STEP));
            assertEquals(100, f.descriptorRun(table + 8 * 10, 100, first + 10 * STEP, STEP), "a run from inside the table");
            assertEquals(0, f.descriptorRun(table, 512, first + STEP, STEP), "the first does not match");
            assertEquals(0, f.descriptorRun(table, 0, first, STEP));
            // one entry with another bit set ends the run there
            f.writeDescriptor(table + 8L * 300, (first + 300 * STEP) | 0x800);
            assertEquals(300, f.descriptorRun(table, 512, first, STEP));
            assertEquals(211, f.descriptorRun(table + 8L * 301, 211, first + 301 * STEP, STEP));
        }
    }

    @Test
    void aRunOutsideTheFileIsRefused() {
        try (PageTableFile f = PageTableFile.create(tmp.resolve("a.pt"), KIND_DOMAIN_TABLES, 1, 16, PA_BASE, 7, 1)) {
            long lastPage = f.paLimit() - PAGE_SIZE;
            assertThrows(IndexOutOfBoundsException.class, () -> f.descriptorRun(lastPage, 513, 0, STEP));
            assertThrows(IndexOutOfBoundsException.class, () -> f.descriptorRun(lastPage + 4, 1, 0, STEP), "unaligned");
            assertThrows(IndexOutOfBoundsException.class, () -> f.descriptorRun(PA_BASE - 8, 1, 0, STEP));
            assertEquals(512, f.descriptorRun(lastPage, 512, 0, 0), "the last page, all zero");
        }
    }
}
