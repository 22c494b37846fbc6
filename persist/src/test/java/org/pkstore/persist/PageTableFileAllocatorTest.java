package org.pkstore.persist;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pkstore.persist.PageTableFileDescriptor.KIND_DOMAIN_TABLES;
import static org.pkstore.persist.PageTableFileDescriptor.PAGE_SIZE;

class PageTableFileAllocatorTest {
    static final long PA_BASE = 0x4000_0000_0000L;
    /** Not a multiple of 64, so the bitmap's last word has bits past the capacity. */
    static final long CAPACITY = 100;

    @TempDir
    Path tmp;
    PageTableFile f;

    @BeforeEach
    void create() {
        f = PageTableFile.create(tmp.resolve("a.pt"), KIND_DOMAIN_TABLES, 1, CAPACITY, PA_BASE, 7, 1);
    }

    @AfterEach
    void close() {
        f.close();
    }

    private List<Long> allocateAll() {
        List<Long> pages = new ArrayList<>();
        for (long pa; (pa = f.allocatePage()) != -1; ) {
            pages.add(pa);
        }
        return pages;
    }

    @Test
    void freshFileHeader() {
        assertEquals(1, f.bitmapPages());
        assertEquals(2, f.firstTablePage());
        assertEquals(0, f.allocatedTablePages());
        assertEquals(0, f.freeSeq());
        assertEquals(0, f.rootPa());
        assertEquals(PA_BASE, f.paBase());
        assertEquals(PA_BASE + CAPACITY * PAGE_SIZE, f.paLimit());
        assertEquals(7, f.ownerId());
        assertEquals(1, f.createdGeneration());
        assertEquals(ProcessHandle.current().pid(), f.writerPid());
        assertFalse(f.clean());
        assertTrue(f.isAllocated(0), "header page");
        assertTrue(f.isAllocated(1), "bitmap page");
        assertFalse(f.isAllocated(2));
        assertFalse(f.isAllocated(CAPACITY), "past the capacity is not a page");
    }

    @Test
    void allocateUntilFullReturnsMinusOneAndNeverHandsOutHeaderOrBitmap() {
        List<Long> pages = allocateAll();
        assertEquals(CAPACITY - 2, pages.size());
        assertEquals(-1, f.allocatePage());
        assertEquals(-1, f.allocateContiguous(2));
        Set<Long> distinct = new HashSet<>(pages);
        assertEquals(pages.size(), distinct.size(), "a page was handed out twice");
        for (long pa : pages) {
            assertTrue(f.isTablePage(pa), "0x" + Long.toHexString(pa));
            assertTrue(f.pageIndexOf(pa) >= 2, "header or bitmap page handed out");
            assertTrue(f.pageIndexOf(pa) < CAPACITY, "page beyond the capacity handed out");
        }
        assertEquals(CAPACITY - 2, f.allocatedTablePages());
    }

    @Test
    void pagesAreZeroedOnAllocationEvenIfFreedDirty() {
        List<Long> pages = allocateAll();
        for (long pa : pages) {
            for (int w = 0; w < PAGE_SIZE / 8; w++) {
                f.writeDescriptor(pa + w * 8L, 0xDEAD_BEEF_0000_0000L | w);
            }
        }
        long victim = pages.get(17);
        f.freePage(victim);
        long again = f.allocatePage();
        assertEquals(victim, again, "the only free page");
        for (int w = 0; w < PAGE_SIZE / 8; w++) {
            assertEquals(0, f.readDescriptor(again + w * 8L), "word " + w);
        }
        // the neighbours keep their content
        assertEquals(0xDEAD_BEEF_0000_0000L, f.readDescriptor(pages.get(16)));
        assertEquals(0xDEAD_BEEF_0000_0000L | 511, f.readDescriptor(pages.get(18) + 511 * 8));
    }

    @Test
    void freeThenReallocateAndFreeSeqAccounting() {
        long a = f.allocatePage();
        long b = f.allocatePage();
        assertEquals(2, f.allocatedTablePages());
        assertEquals(0, f.freeSeq());
        f.freePage(a);
        assertEquals(1, f.freeSeq(), "freeSeq is bumped by every free");
        assertFalse(f.isAllocated(f.pageIndexOf(a)));
        assertEquals(1, f.allocatedTablePages());
        long c = f.allocatePage();
        assertTrue(f.isAllocated(f.pageIndexOf(c)));
        assertEquals(2, f.allocatedTablePages());
        f.freePage(b);
        f.freePage(c);
        assertEquals(3, f.freeSeq());
        assertEquals(0, f.allocatedTablePages());
        assertEquals(3, f.pagesAllocated());
        assertEquals(3, f.pagesFreed());
    }

    @Test
    void doubleFreeIsRefused() {
        long a = f.allocatePage();
        f.freePage(a);
        long seq = f.freeSeq();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.freePage(a));
        assertTrue(e.getMessage().contains("double free"), e.getMessage());
        assertEquals(seq, f.freeSeq(), "a refused free bumps nothing");
        assertEquals(0, f.allocatedTablePages());
    }

    @Test
    void headerBitmapAndForeignAddressesCannotBeFreed() {
        assertThrows(IllegalArgumentException.class, () -> f.freePage(PA_BASE));
        assertThrows(IllegalArgumentException.class, () -> f.freePage(PA_BASE + PAGE_SIZE));
        assertThrows(IllegalArgumentException.class, () -> f.freePage(PA_BASE + CAPACITY * PAGE_SIZE));
        assertThrows(IllegalArgumentException.class, () -> f.freePage(PA_BASE + 2 * PAGE_SIZE + 8));
        assertThrows(IllegalArgumentException.class, () -> f.setRootPa(PA_BASE));
        assertTrue(f.isAllocated(0));
        assertTrue(f.isAllocated(1));
    }

    @Test
    void allocateContiguous() {
        long a = f.allocatePage(); // page 2
        long b = f.allocatePage(); // page 3
        long c = f.allocatePage(); // page 4
        f.freePage(b); // a hole of one page at 3
        f.writeDescriptor(f.allocateContiguous(1) + 8, 5); // count 1 takes the hole
        f.freePage(b);
        long run = f.allocateContiguous(8);
        assertTrue(run > c, "a run of 8 cannot start in the one-page hole");
        for (int i = 0; i < 8; i++) {
            long pa = run + (long) i * PAGE_SIZE;
            assertTrue(f.isAllocated(f.pageIndexOf(pa)));
            for (int w = 0; w < PAGE_SIZE / 8; w++) {
                if (f.readDescriptor(pa + w * 8L) != 0) {
                    assertEquals(0, f.readDescriptor(pa + w * 8L), "page " + i + " word " + w + " not zeroed");
                }
            }
        }
        assertEquals(2 + 8, f.allocatedTablePages());
        assertFalse(f.isAllocated(f.pageIndexOf(b)));
        // dirty and free the run; it is zeroed when taken again
        for (int i = 0; i < 8; i++) {
            f.writeDescriptor(run + (long) i * PAGE_SIZE, -1L);
        }
        for (int i = 0; i < 8; i++) {
            f.freePage(run + (long) i * PAGE_SIZE);
        }
        long again = f.allocateContiguous(8);
        assertEquals(run, again);
        for (int i = 0; i < 8; i++) {
            assertEquals(0, f.readDescriptor(again + (long) i * PAGE_SIZE));
        }
        // larger than any free run
        assertEquals(-1, f.allocateContiguous((int) CAPACITY));
        assertEquals(a, PA_BASE + 2 * PAGE_SIZE);
    }

    @Test
    void allocateContiguousRefusesANonPositiveCount() {
        assertThrows(IllegalArgumentException.class, () -> f.allocateContiguous(0));
        assertThrows(IllegalArgumentException.class, () -> f.allocateContiguous(-3));
        assertEquals(0, f.allocatedTablePages());
    }

    @Test
    void reclaimUnreachableFreesExactlyTheUnreachableAllocatedPages() {
        List<Long> pages = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            pages.add(f.allocatePage());
        }
        f.freePage(pages.get(5)); // free already: must stay free, not be counted
        BitSet reachable = new BitSet();
        Set<Long> kept = new HashSet<>();
        for (int i = 0; i < 20; i += 3) {
            if (i != 5) {
                reachable.set((int) f.pageIndexOf(pages.get(i)));
                kept.add(pages.get(i));
            }
        }
        reachable.set(0); // header bit set in the caller's set: harmless
        long seq = f.freeSeq();
        long expected = 20 - 1 - kept.size();
        assertEquals(expected, f.reclaimUnreachable(reachable));
        assertEquals(seq + expected, f.freeSeq(), "one free-sequence bump per reclaimed page");
        for (long pa : pages) {
            assertEquals(kept.contains(pa), f.isAllocated(f.pageIndexOf(pa)), "0x" + Long.toHexString(pa));
        }
        assertTrue(f.isAllocated(0) && f.isAllocated(1), "header and bitmap are never reclaimed");
        assertEquals(kept.size(), f.allocatedTablePages());
        assertEquals(0, f.reclaimUnreachable(reachable), "a second sweep finds nothing");
    }

    @Test
    void stateSurvivesReopen() {
        long a = f.allocatePage();
        long b = f.allocatePage();
        f.writeDescriptor(a, b | 3);
        f.setRootPa(a);
        f.freePage(f.allocatePage());
        f.markClean();
        f.close();
        try (PageTableFile r = PageTableFile.openReadOnly(tmp.resolve("a.pt"))) {
            assertTrue(r.clean());
            assertEquals(a, r.rootPa());
            assertEquals(b | 3, r.readDescriptor(a));
            assertEquals(2, r.allocatedTablePages());
            assertEquals(1, r.freeSeq());
            assertThrows(PersistException.class, r::allocatePage, "read-only");
        }
        f = PageTableFile.openReadWrite(tmp.resolve("a.pt"), 5);
        assertFalse(f.clean(), "in use again");
        assertEquals(5, f.generation());
        assertEquals(1, f.createdGeneration());
        assertEquals(2, f.allocatedTablePages());
    }

    @Test
    void mutationSequence() {
        assertEquals(0, f.mutationSeq());
        f.beginMutation();
        assertEquals(1, f.mutationSeq());
        assertThrows(PersistException.class, f::markClean, "cannot be clean mid-update");
        f.endMutation();
        assertEquals(2, f.mutationSeq());
        f.beginMutation();
        f.resetMutation(); // as after a crash
        assertEquals(4, f.mutationSeq());
        f.markClean();
        assertTrue(f.clean());
    }

    @Test
    void creationArgumentsAreChecked() {
        assertThrows(PersistException.class,
                () -> PageTableFile.create(tmp.resolve("a.pt"), KIND_DOMAIN_TABLES, 1, CAPACITY, PA_BASE, 7, 1));
        assertThrows(IllegalArgumentException.class,
                () -> PageTableFile.create(tmp.resolve("b.pt"), 9, 1, CAPACITY, PA_BASE, 7, 1));
        assertThrows(IllegalArgumentException.class,
                () -> PageTableFile.create(tmp.resolve("b.pt"), KIND_DOMAIN_TABLES, 1, 3, PA_BASE, 7, 1));
        assertThrows(IllegalArgumentException.class,
                () -> PageTableFile.create(tmp.resolve("b.pt"), KIND_DOMAIN_TABLES, 1, CAPACITY, PA_BASE + 8, 7, 1));
        assertThrows(IllegalArgumentException.class,
                () -> PageTableFile.create(tmp.resolve("b.pt"), KIND_DOMAIN_TABLES, 1, CAPACITY, (1L << 48) - PAGE_SIZE, 7, 1));
        assertFalse(tmp.resolve("b.pt").toFile().exists());
    }
}
