package org.pkstore.vfio;

import org.pkstore.persist.GuestMemoryFile;

import java.util.Map;
import java.util.TreeMap;

/**
 * The VMM process's virtual address space as far as VFIO_IOMMU_MAP_DMA cares: which ranges of
 * user virtual addresses are backed by which guest memory file (the VMM mmap()ed the pkernfs
 * guest memory there). MAP_DMA's {@code vaddr} resolves to host PAs through it, as type1 pins the
 * pages behind a user address. The address space belongs to the process, so it is empty after
 * every boot: the restarted VMM maps its memory again (possibly at other addresses).
 */
public final class VmmAddressSpace {
    /** One mmap of guest memory. */
    public record Mapping(long vaddr, long size, GuestMemoryFile memory) {
        long end() {
            return vaddr + size;
        }
    }

    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();

    /** Adds a mapping; false if it overlaps one (the caller returns -EINVAL). */
    public synchronized boolean map(long vaddr, long size, GuestMemoryFile memory) {
        Map.Entry<Long, Mapping> below = mappings.floorEntry(vaddr + size - 1);
        if (below != null && below.getValue().end() > vaddr) {
            return false;
        }
        mappings.put(vaddr, new Mapping(vaddr, size, memory));
        return true;
    }

    /** Host PA of {@code [vaddr, vaddr + size)} if it lies inside ONE mapping, else -1 (-EFAULT). */
    public synchronized long resolve(long vaddr, long size) {
        Map.Entry<Long, Mapping> e = mappings.floorEntry(vaddr);
        if (e == null || size <= 0) {
            return -1;
        }
        Mapping m = e.getValue();
        if (vaddr + size < vaddr || vaddr + size > m.end()) {
            return -1;
        }
        return m.memory().paBase() + (vaddr - m.vaddr());
    }

    public synchronized Map<Long, Mapping> mappings() {
        return new TreeMap<>(mappings);
    }
}
