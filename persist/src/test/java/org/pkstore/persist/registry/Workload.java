package org.pkstore.persist.registry;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Files;
import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The work a crash child does, step by step, and how a test checks it afterwards. Step {@code s}
 * (1-based): for the first {@link #TABLE_STEPS} steps, allocate a table page, fill it with
 * {@link #pattern}, link it from slot {@code s} of the root page; then put a container record
 * (key s) and a DMA record. The child acknowledges a step only after all of it is done.
 */
public final class Workload {
    private Workload() {}

    public static final String TABLE = "crash";
    public static final long TABLE_CAPACITY_PAGES = 1024;
    public static final int TABLE_FORMAT = 1;
    public static final long TABLE_OWNER = 42;
    /** Steps that also allocate and link a table page (the root has 512 slots; slot 0 is unused). */
    public static final int TABLE_STEPS = 500;
    public static final int WORDS = PageTableFileDescriptor.PAGE_SIZE / Long.BYTES;

    public static long pattern(long step, int word) {
        return 0x5A00_0000_0000_0000L | (step << 16) | word;
    }

    public static ContainerRecord container(long step, long pa) {
        return new ContainerRecord((int) step, 1, (int) (step * 3), "step-" + step + "-\u00e9", pa, 7, (int) (step & 0xFF));
    }

    public static long dmaKey(long step) {
        return DmaMappingRecord.key(1, step << 12);
    }

    public static DmaMappingRecord dma(long step, long pa) {
        return new DmaMappingRecord(1, step << 12, 4096, 0x7f00_0000_0000L + (step << 12), pa, 3);
    }

    /** Opens the workload's table file, creating it with an empty root page on first use. */
    public static PageTableFile table(PkernfsMount m) {
        if (Files.exists(m.pageTablePath(TABLE))) {
            return m.openTableFile(m.pageTablePath(TABLE));
        }
        PageTableFile f = m.createTableFile(m.pageTablePath(TABLE), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                TABLE_FORMAT, TABLE_CAPACITY_PAGES, TABLE_OWNER);
        long root = f.allocatePage();
        f.setRootPa(root);
        return f;
    }

    /** Does step {@code s}; returns the PA of its table page, or 0 when the step has none. */
    public static long step(PkernfsMount m, PageTableFile f, long s) {
        long pa = 0;
        if (s <= TABLE_STEPS) {
            f.beginMutation();
            pa = f.allocatePage();
            if (pa < 0) {
                throw new IllegalStateException("table file full at step " + s);
            }
            for (int w = 0; w < WORDS; w++) {
                f.writeDescriptor(pa + (long) w * Long.BYTES, pattern(s, w));
            }
            f.writeDescriptor(f.rootPa() + s * Long.BYTES, pa | 3);
            f.endMutation();
        }
        m.registries().containers.put(s, container(s, pa));
        m.registries().dmaMappings.put(dmaKey(s), dma(s, pa));
        return pa;
    }

    /** The "STEP PA" lines of a child's acks (not "done", "locked", ...). */
    public static java.util.List<String> stepAcks(java.util.List<String> acks) {
        return acks.stream().filter(a -> !a.isEmpty() && Character.isDigit(a.charAt(0))).toList();
    }

    /** Parses an ack line "step pa". */
    public static long[] parse(String ack) {
        String[] parts = ack.trim().split(" ");
        return new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
    }

    /** Checks that every acknowledged step is fully there. */
    public static void verify(PkernfsMount m, PageTableFile f, Iterable<String> acks) {
        for (String a : acks) {
            long[] sp = parse(a);
            long s = sp[0];
            long pa = sp[1];
            assertEquals(container(s, pa), m.registries().containers.get(s), "container of acknowledged step " + s);
            assertEquals(dma(s, pa), m.registries().dmaMappings.get(dmaKey(s)), "dma of acknowledged step " + s);
            if (s <= TABLE_STEPS) {
                assertTrue(f.isTablePage(pa), "step " + s + " pa");
                assertTrue(f.isAllocated(f.pageIndexOf(pa)), "page of step " + s + " allocated");
                assertEquals(pa | 3, f.readDescriptor(f.rootPa() + s * Long.BYTES), "root slot " + s);
                for (int w = 0; w < WORDS; w++) {
                    long got = f.readDescriptor(pa + (long) w * Long.BYTES);
                    if (got != pattern(s, w)) {
                        assertEquals(pattern(s, w), got, "step " + s + " word " + w);
                    }
                }
            }
        }
    }

    /** The pages reachable from the root: the root itself and every page a root slot points to. */
    public static BitSet reachable(PageTableFile f) {
        BitSet b = new BitSet();
        long root = f.rootPa();
        if (root == 0) {
            return b;
        }
        b.set((int) f.pageIndexOf(root));
        for (int slot = 0; slot < WORDS; slot++) {
            long d = f.readDescriptor(root + (long) slot * Long.BYTES);
            if (d != 0) {
                long pa = d & ~0xFFFL;
                assertTrue(f.isTablePage(pa), "root slot " + slot + " points outside the table area: 0x" + Long.toHexString(d));
                b.set((int) f.pageIndexOf(pa));
            }
        }
        return b;
    }
}
