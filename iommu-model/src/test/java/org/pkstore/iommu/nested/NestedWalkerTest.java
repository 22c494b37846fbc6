package org.pkstore.iommu.nested;

import org.junit.jupiter.api.Test;
import org.pkstore.iommu.NestedMemory;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.iommu.pgtable.Prot;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The nested walk over a guest that built its tables with {@link Stage1TableBuilder}: every table
 * read goes through stage 2, the output too, and each fault is named with its stage and level.
 * Stage 2 here is a window: guest RAM [0, 1 GiB) at host PA 0x10_0000_0000, a read-only hole
 * and an unmapped hole in it, so that a fault can be planted at each step.
 */
class NestedWalkerTest {
    private static final long HOST_BASE = 0x10_0000_0000L;
    private static final long RAM = 1L << 30;
    private static final long READ_ONLY_GPA = 0x3000_0000L;
    private static final long HOLE_GPA = 0x3800_0000L;
    private static final long POOL = 0x100_0000L;
    private static final int RW = Prot.READ | Prot.WRITE;

    private final Map<Long, Long> ram = new HashMap<>();
    private final List<Long> stage2Reads = new ArrayList<>();

    private final GuestPhysical guest = new GuestPhysical() {
        @Override public long read(long gpa) { return ram.getOrDefault(gpa, 0L); }
        @Override public void write(long gpa, long value) { ram.put(gpa, value); }
    };

    private final NestedMemory memory = new NestedMemory() {
        @Override
        public long stage2(long root, long gpa, int access) {
            stage2Reads.add(gpa);
            if (gpa < 0 || gpa >= RAM || (gpa >= HOLE_GPA && gpa < HOLE_GPA + (1 << 21))) {
                return DeviceTranslation.FAULT_NOT_PRESENT;
            }
            if ((access & Prot.WRITE) != 0 && gpa >= READ_ONLY_GPA && gpa < READ_ONLY_GPA + (1 << 21)) {
                return DeviceTranslation.FAULT_PERMISSION;
            }
            return HOST_BASE + gpa;
        }

        @Override
        public long readWord(long hpa) {
            return ram.getOrDefault(hpa - HOST_BASE, 0L);
        }
    };

    private final NestedWalker walker = new NestedWalker(memory);

    @Test
    void everyTableReadAndTheOutputGoThroughStage2_vtd4() {
        walkThroughBothStages(VtdFirstLevelFormat.FOUR_LEVEL);
    }

    @Test
    void everyTableReadAndTheOutputGoThroughStage2_vtd5() {
        walkThroughBothStages(VtdFirstLevelFormat.FIVE_LEVEL);
    }

    @Test
    void everyTableReadAndTheOutputGoThroughStage2_arm() {
        walkThroughBothStages(ArmLpaeS1Format.INSTANCE);
    }

    private void walkThroughBothStages(FirstStageFormat f) {
        Stage1TableBuilder b = new Stage1TableBuilder(f, guest, POOL, 64 * 4096);
        long va = 0x5500_0000_0000L;
        b.map4k(va, 0x2000_3000L, RW);
        b.map4k(va + 4096, 0x2000_1000L, Prot.READ);
        assertEquals(f.levels(), b.tablePages(), "one table per level on the path");
        stage2Reads.clear();
        long hpa = walker.translate(f, b.rootGpa(), 1, va + 0x18, Prot.WRITE, NestedVisitor.NONE);
        assertEquals(HOST_BASE + 0x2000_3018L, hpa);
        assertEquals(f.levels() + 1, stage2Reads.size(), "each level's entry GPA, then the output GPA");
        assertEquals(b.rootGpa() + 8L * f.index(va, 0), stage2Reads.get(0));
        assertEquals(0x2000_3018L, stage2Reads.get(f.levels()));
        assertEquals(HOST_BASE + 0x2000_1008L, walker.translate(f, b.rootGpa(), 1, va + 4096 + 8, Prot.READ, NestedVisitor.NONE));
        long perm = walker.translate(f, b.rootGpa(), 1, va + 4096, Prot.WRITE, NestedVisitor.NONE);
        assertFault(perm, NestedFault.S1_PERMISSION, f.levels() - 1);
        long absent = walker.translate(f, b.rootGpa(), 1, va + 8192, Prot.READ, NestedVisitor.NONE);
        assertFault(absent, NestedFault.S1_NOT_PRESENT, f.levels() - 1);
        long farAway = walker.translate(f, b.rootGpa(), 1, 0x1000_0000_0000L, Prot.READ, NestedVisitor.NONE);
        assertFault(farAway, NestedFault.S1_NOT_PRESENT, f.levels() == 5 ? 1 : 0);
        assertFault(walker.translate(f, b.rootGpa(), 1, 1L << 62, Prot.READ, NestedVisitor.NONE), NestedFault.S1_ADDRESS, 0);
    }

    @Test
    void stage2FaultsAreNamedByWhatWasBeingTranslated() {
        FirstStageFormat f = VtdFirstLevelFormat.FOUR_LEVEL;
        Stage1TableBuilder b = new Stage1TableBuilder(f, guest, POOL, 64 * 4096);
        long va = 0x4000_0000L;
        b.map4k(va, HOLE_GPA, RW);
        b.map4k(va + 4096, READ_ONLY_GPA, RW);
        // output GPA unmapped in stage 2
        long out = walker.translate(f, b.rootGpa(), 1, va, Prot.READ, NestedVisitor.NONE);
        assertFault(out, NestedFault.S2_ON_OUTPUT, 3);
        assertEquals(DeviceTranslation.FAULT_NOT_PRESENT, NestedFault.stage2Code(out));
        // stage 2 read-only: reading passes, writing is a stage-2 permission fault on the output
        assertEquals(HOST_BASE + READ_ONLY_GPA, walker.translate(f, b.rootGpa(), 1, va + 4096, Prot.READ, NestedVisitor.NONE));
        long w = walker.translate(f, b.rootGpa(), 1, va + 4096, Prot.WRITE, NestedVisitor.NONE);
        assertFault(w, NestedFault.S2_ON_OUTPUT, 3);
        assertEquals(DeviceTranslation.FAULT_PERMISSION, NestedFault.stage2Code(w));
        // the guest points its PDE at a table page stage 2 does not map: the walk faults fetching level 3
        long pdeGpa = tableEntryGpa(f, b.rootGpa(), va, 2);
        guest.write(pdeGpa, f.makeTable(HOLE_GPA + 4096));
        long t = walker.translate(f, b.rootGpa(), 1, va, Prot.READ, NestedVisitor.NONE);
        assertFault(t, NestedFault.S2_ON_TABLE, 3);
        assertTrue(NestedFault.describe(t, f).contains("stage 2 on the stage-1 table walk, fetching the level 3 (PTE) entry"),
                NestedFault.describe(t, f));
        // a root GPA outside guest RAM: the first fetch already faults at stage 2
        assertFault(walker.translate(f, RAM + 4096, 1, va, Prot.READ, NestedVisitor.NONE), NestedFault.S2_ON_TABLE, 0);
    }

    @Test
    void reservedBitsAccessFlagAndSupervisorPagesFaultAtStage1() {
        FirstStageFormat vtd = VtdFirstLevelFormat.FOUR_LEVEL;
        Stage1TableBuilder b = new Stage1TableBuilder(vtd, guest, POOL, 64 * 4096);
        long va = 0x4000_0000L;
        b.map4k(va, 0x2000_0000L, RW);
        long pml4e = b.rootGpa() + 8L * vtd.index(va, 0);
        guest.write(pml4e, guest.read(pml4e) | VtdFirstLevelFormat.PS);
        assertFault(walker.translate(vtd, b.rootGpa(), 1, va, Prot.READ, NestedVisitor.NONE), NestedFault.S1_RESERVED, 0);
        guest.write(pml4e, guest.read(pml4e) & ~(VtdFirstLevelFormat.PS | VtdFirstLevelFormat.US));
        assertFault(walker.translate(vtd, b.rootGpa(), 1, va, Prot.READ, NestedVisitor.NONE), NestedFault.S1_PERMISSION, 3);

        FirstStageFormat arm = ArmLpaeS1Format.INSTANCE;
        Stage1TableBuilder a = new Stage1TableBuilder(arm, guest, POOL + (1 << 20), 64 * 4096);
        a.map4k(va, 0x2000_0000L, RW);
        long pte = tableEntryGpa(arm, a.rootGpa(), va, 3);
        guest.write(pte, guest.read(pte) & ~ArmLpaeS1Format.AF);
        assertFault(walker.translate(arm, a.rootGpa(), 1, va, Prot.READ, NestedVisitor.NONE), NestedFault.S1_ACCESS_FLAG, 3);
    }

    @Test
    void theWalkIsBoundedWhenATablePointsAtItself() {
        FirstStageFormat f = ArmLpaeS1Format.INSTANCE;
        Stage1TableBuilder b = new Stage1TableBuilder(f, guest, POOL, 64 * 4096);
        long root = b.rootGpa();
        for (int i = 0; i < 512; i++) {
            guest.write(root + i * 8L, f.makeTable(root));
        }
        stage2Reads.clear();
        long r = walker.translate(f, root, 1, 0x1234_5000L, Prot.READ, NestedVisitor.NONE);
        // at level 3 the self-pointing type-11 entry reads as a page, without AF: the walk ends there
        assertFault(r, NestedFault.S1_ACCESS_FLAG, 3);
        assertEquals(4, stage2Reads.size(), "four fetches, no more");
    }

    @Test
    void translateAllocatesNothing() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) mx;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        long[] words = new long[1 << 16];
        NestedMemory flat = new NestedMemory() {
            @Override public long stage2(long root, long gpa, int access) {
                return gpa < words.length * 8L ? gpa : DeviceTranslation.FAULT_NOT_PRESENT;
            }
            @Override public long readWord(long hpa) { return words[(int) (hpa >>> 3)]; }
        };
        GuestPhysical g = new GuestPhysical() {
            @Override public long read(long gpa) { return words[(int) (gpa >>> 3)]; }
            @Override public void write(long gpa, long value) { words[(int) (gpa >>> 3)] = value; }
        };
        FirstStageFormat f = VtdFirstLevelFormat.FIVE_LEVEL;
        Stage1TableBuilder b = new Stage1TableBuilder(f, g, 0x1000, 32 * 4096);
        b.map4k(0x7000_0000L, 0x6_0000L, RW);
        NestedWalker w = new NestedWalker(flat);
        long sum = exercise(w, f, b.rootGpa(), 20_000); // warm up: let the JIT settle
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        sum += exercise(w, f, b.rootGpa(), 20_000);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        assertTrue(sum != 0);
        assertEquals(0, allocated, "bytes allocated by 40,000 nested translations");
    }

    private static long exercise(NestedWalker w, FirstStageFormat f, long root, int rounds) {
        long sum = 0;
        for (int i = 0; i < rounds; i++) {
            sum += w.translate(f, root, 0, 0x7000_0000L + (i & 0xff8), Prot.WRITE, NestedVisitor.NONE);
            sum += w.translate(f, root, 0, 0x7000_1000L, Prot.READ, NestedVisitor.NONE);
        }
        return sum;
    }

    private long tableEntryGpa(FirstStageFormat f, long root, long va, int level) {
        long table = root;
        for (int l = 0; l < level; l++) {
            table = f.tableAddress(guest.read(table + 8L * f.index(va, l)));
        }
        return table + 8L * f.index(va, level);
    }

    private static void assertFault(long code, int kind, int level) {
        assertTrue(code < 0, "expected a fault, got 0x" + Long.toHexString(code));
        assertEquals(NestedFault.kindName(NestedFault.code(kind, level, 0)), NestedFault.kindName(code));
        assertEquals(level, NestedFault.level(code), NestedFault.kindName(code));
    }
}
