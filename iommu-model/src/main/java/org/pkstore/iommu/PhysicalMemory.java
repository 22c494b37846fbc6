package org.pkstore.iommu;

import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.PageTableFile;

import java.util.Map;
import java.util.TreeMap;

/**
 * The host physical address space as the IOMMU's page walker sees it: every pkernfs file has its
 * own PA window (the superblock hands them out without overlap), so a PA found in a descriptor
 * names exactly one table file or guest memory file, or nothing (an external abort).
 */
public final class PhysicalMemory {
    private final TreeMap<Long, PageTableFile> tables = new TreeMap<>();
    private final TreeMap<Long, GuestMemoryFile> memory = new TreeMap<>();

    public synchronized void add(PageTableFile f) {
        tables.put(f.paBase(), f);
    }

    public synchronized void add(GuestMemoryFile g) {
        memory.put(g.paBase(), g);
    }

    /** The table file whose table area holds the 8-byte descriptor at {@code pa}, or null. */
    public synchronized PageTableFile tableFileAt(long pa) {
        Map.Entry<Long, PageTableFile> e = tables.floorEntry(pa);
        if (e == null || !e.getValue().containsDescriptor(pa)) {
            return null;
        }
        return e.getValue();
    }

    /** The guest memory file holding {@code [pa, pa + len)}, or null. */
    public synchronized GuestMemoryFile memoryAt(long pa, long len) {
        Map.Entry<Long, GuestMemoryFile> e = memory.floorEntry(pa);
        if (e == null || !e.getValue().contains(pa, len)) {
            return null;
        }
        return e.getValue();
    }

    public synchronized void clear() {
        tables.clear();
        memory.clear();
    }
}
