package org.pkstore.vfio;

import org.pkstore.iommu.Errno;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;
import org.pkstore.vfio.uapi.VfioUapi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * A container's DMA mappings (type1's {@code struct vfio_dma} tree): VFIO_IOMMU_MAP_DMA,
 * VFIO_IOMMU_UNMAP_DMA, the re-establishment of a mapping after kexec (MAP_DMA with
 * {@code VFIO_DMA_MAP_FLAG_LIVE_UPDATE}), the overlap search and {@code dma_avail}. Each mapping is
 * a {@link DmaMappingRecord} in the mount's registry and in this tree, keyed by IOVA.
 *
 * <p>Lifecycle: filled by MAP_DMA, or loaded from the registry when a preserved container is
 * reclaimed ({@link #adopt}); emptied by UNMAP_DMA and when the domain is released
 * ({@link #unmapAll}). MAP_DMA and UNMAP_DMA run inside the intent journal
 * ({@link KernelIntent#MAP_DMA}, {@link KernelIntent#UNMAP_DMA}; recovery in {@link IntentReplay}).
 */
final class DmaMappings {
    static final long PAGE = 4096;
    static final long IOVA_LIMIT = 1L << IommuUnit.ADDRESS_WIDTH;

    private final VfioKernel kernel;
    private final VfioContainer container;
    final TreeMap<Long, DmaMappingRecord> byIova = new TreeMap<>();
    private long lastLiveUpdateMismatch = -1;

    DmaMappings(VfioKernel kernel, VfioContainer container) {
        this.kernel = kernel;
        this.container = container;
    }

    Map<Long, DmaMappingRecord> view() {
        return Collections.unmodifiableMap(byIova);
    }

    int count() {
        return byIova.size();
    }

    /** type1's {@code dma_avail}: how many more mappings the container may hold. */
    int available() {
        return VfioUapi.DEFAULT_DMA_ENTRY_LIMIT - byIova.size();
    }

    /**
     * The end (exclusive) of the highest mapping: the top of what stage 2 translates, Linux's
     * {@code dmar_domain->max_addr} (raised by intel_iommu_map). Unlike Linux's high-water mark it
     * falls again with UNMAP, and it is derived from the records, so it survives kexec.
     */
    long stage2End() {
        Map.Entry<Long, DmaMappingRecord> last = byIova.lastEntry();
        return last == null ? 0 : last.getValue().iova() + last.getValue().size();
    }

    /**
     * The lowest IOVA that these mappings and {@code other} translate differently (mapped in one only,
     * to another PA, or with other permissions), or -1 when they translate alike. How the ranges are
     * split into MAP_DMA calls does not count. Not on a map path: SET_VMID only.
     */
    long firstDifference(DmaMappings other) {
        Iterator<DmaMappingRecord> xs = byIova.values().iterator();
        Iterator<DmaMappingRecord> ys = other.byIova.values().iterator();
        DmaMappingRecord x = xs.hasNext() ? xs.next() : null;
        DmaMappingRecord y = ys.hasNext() ? ys.next() : null;
        long at = 0;
        while (x != null || y != null) {
            while (x != null && x.iova() + x.size() <= at) {
                x = xs.hasNext() ? xs.next() : null;
            }
            while (y != null && y.iova() + y.size() <= at) {
                y = ys.hasNext() ? ys.next() : null;
            }
            boolean inX = x != null && x.iova() <= at;
            boolean inY = y != null && y.iova() <= at;
            if (inX != inY) {
                return at;
            }
            if (inX) {
                if (x.pa() + (at - x.iova()) != y.pa() + (at - y.iova()) || x.prot() != y.prot()) {
                    return at;
                }
                at = Math.min(x.iova() + x.size(), y.iova() + y.size());
            } else if (x != null || y != null) {
                at = Math.min(x == null ? Long.MAX_VALUE : x.iova(), y == null ? Long.MAX_VALUE : y.iova());
            }
        }
        return -1;
    }

    /**
     * Whether a domain of this unit already tagged {@code tag} translates differently from ours: the
     * IOTLB is keyed by the tag, so a device of one would hit the other's cached translations. Linux
     * has a VMID serve one stage 2 only (arm_vsmmu_init takes the S2 parent's vmid).
     */
    boolean translatesUnlikeTagSharer(int tag) {
        if (container.domain == null) {
            return false; // nothing to compare yet; verify reports a later divergence
        }
        for (VfioContainer other : kernel.containers.values()) {
            if (other != container && other.vmid == tag && other.domain != null
                    && other.domain.unit() == container.domain.unit() && firstDifference(other.dma) >= 0) {
                return true;
            }
        }
        return false;
    }

    long lastLiveUpdateMismatch() {
        return lastLiveUpdateMismatch;
    }

    /** Record mode served a LIVE_UPDATE MAP_DMA ({@link RecordReattach#mapDma}): the tables matched. */
    void liveUpdateMatched() {
        lastLiveUpdateMismatch = -1;
    }

    /** A reclaimed container takes over the preserved container's records. */
    void adopt(DmaMappingRecord m) {
        byIova.put(m.iova(), m);
    }

    /** The mapping whose range holds {@code iova}, or null. */
    private DmaMappingRecord mappingAt(long iova) {
        Map.Entry<Long, DmaMappingRecord> e = byIova.floorEntry(iova);
        if (e == null) {
            return null;
        }
        DmaMappingRecord m = e.getValue();
        return Long.compareUnsigned(iova - m.iova(), m.size()) < 0 ? m : null;
    }

    /** type1's vfio_find_dma: does [iova, iova + size) meet any mapping? */
    boolean overlaps(long iova, long size) {
        if (mappingAt(iova) != null) {
            return true;
        }
        Map.Entry<Long, DmaMappingRecord> e = byIova.ceilingEntry(iova);
        return e != null && Long.compareUnsigned(e.getKey() - iova, size) < 0;
    }

    /**
     * VFIO_IOMMU_MAP_DMA (argsz and flag bits already checked by the ioctl table). The errno order
     * is vfio_dma_do_map's (drivers/vfio/vfio_iommu_type1.c): EEXIST from vfio_find_dma, ENOSPC
     * when dma_avail is 0, EINVAL outside the IOVA ranges, then EFAULT when pinning the pages fails.
     */
    int map(VfioIommuType1DmaMap arg) {
        int flags = arg.flags();
        long vaddr = arg.vaddr();
        long iova = arg.iova();
        long size = arg.mapSize();
        int prot = 0;
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ) != 0) {
            prot |= Prot.READ;
        }
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE) != 0) {
            prot |= Prot.WRITE;
        }
        if (prot == 0 || size == 0 || ((size | iova | vaddr) & (PAGE - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (Long.compareUnsigned(iova + size - 1, iova) < 0 || Long.compareUnsigned(vaddr + size - 1, vaddr) < 0) {
            return -Errno.EINVAL;
        }
        lastLiveUpdateMismatch = -1;
        if ((flags & VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE) != 0) {
            return reestablish(iova, size, vaddr, prot | Prot.CACHE);
        }
        if (overlaps(iova, size)) {
            return -Errno.EEXIST;
        }
        if (byIova.size() >= VfioUapi.DEFAULT_DMA_ENTRY_LIMIT) {
            return -Errno.ENOSPC;
        }
        if (Long.compareUnsigned(iova + size - 1, IOVA_LIMIT - 1) > 0) {
            return -Errno.EINVAL;
        }
        long pa = kernel.vmm.resolve(vaddr, size);
        if (pa < 0) {
            return -Errno.EFAULT; // pinning fails
        }
        prot |= Prot.CACHE;
        int containerId = container.id;
        kernel.journal.begin(KernelIntent.MAP_DMA, DmaIntent.mapPayload(containerId, iova, size, pa, prot));
        int r = container.domain.map(iova, pa, size, prot);
        if (r != 0) {
            kernel.journal.end();
            return r == -Errno.ERANGE ? -Errno.EINVAL : r;
        }
        kernel.crashPoints.reached("map:tables");
        DmaMappingRecord rec = new DmaMappingRecord(containerId, iova, size, vaddr, pa, prot);
        kernel.registries.dmaMappings.put(rec.key(), rec);
        kernel.crashPoints.reached("map:record");
        kernel.journal.end();
        byIova.put(iova, rec);
        return 0;
    }

    /**
     * MAP_DMA with LIVE_UPDATE after kexec: the tables must already say exactly this; no descriptor
     * is written, only the record (with the new vaddr) is (re)created. The tables are compared
     * before the records, so that a VMM whose idea of a mapping differs is told where the tables
     * differ (lastLiveUpdateMismatch), not merely that something overlaps (docs/UAPI.md, section 5).
     */
    private int reestablish(long iova, long size, long vaddr, int prot) {
        if (Long.compareUnsigned(iova + size - 1, IOVA_LIMIT - 1) > 0) {
            return -Errno.EINVAL;
        }
        long pa = kernel.vmm.resolve(vaddr, size);
        if (pa < 0) {
            return -Errno.EFAULT;
        }
        IommuDomain domain = container.domain;
        if (container.persistentFile == null || domain == null) {
            return -Errno.EINVAL; // nothing can have survived without persistent tables
        }
        long bad = domain.firstMismatch(iova, size, pa, prot);
        lastLiveUpdateMismatch = bad;
        if (bad >= 0) {
            return -Errno.EINVAL;
        }
        DmaMappingRecord existing = byIova.get(iova);
        boolean preserved = existing != null && existing.size() == size;
        if (!preserved && overlaps(iova, size)) {
            return -Errno.EEXIST;
        }
        if (!preserved && byIova.size() >= VfioUapi.DEFAULT_DMA_ENTRY_LIMIT) {
            return -Errno.ENOSPC;
        }
        DmaMappingRecord rec = new DmaMappingRecord(container.id, iova, size, vaddr, pa, prot);
        kernel.registries.dmaMappings.put(rec.key(), rec);
        byIova.put(iova, rec);
        return 0;
    }

    /** VFIO_IOMMU_UNMAP_DMA (argsz and flag bits already checked); {@code size} out = bytes unmapped. */
    int unmap(VfioIommuType1DmaUnmap arg) {
        int flags = arg.flags();
        long iova = arg.iova();
        long size = arg.unmapSize();
        boolean all = (flags & VfioIommuType1DmaUnmap.VFIO_DMA_UNMAP_FLAG_ALL) != 0;
        long end; // exclusive, unsigned
        if (all) {
            if (iova != 0 || size != 0) {
                return -Errno.EINVAL;
            }
            end = IOVA_LIMIT;
        } else {
            if (size == 0 || (size & (PAGE - 1)) != 0 || Long.compareUnsigned(iova + size - 1, iova) < 0) {
                return -Errno.EINVAL;
            }
            end = iova + size;
        }
        if ((iova & (PAGE - 1)) != 0) {
            return -Errno.EINVAL;
        }
        if (!all) {
            DmaMappingRecord first = mappingAt(iova);
            if (first != null && first.iova() != iova) {
                return -Errno.EINVAL; // starts inside a mapping
            }
            DmaMappingRecord last = mappingAt(end - 1);
            if (last != null && last.iova() + last.size() != end) {
                return -Errno.EINVAL; // ends inside a mapping
            }
        }
        List<DmaMappingRecord> victims = new ArrayList<>();
        for (DmaMappingRecord m : byIova.values()) {
            if (Long.compareUnsigned(m.iova(), iova) >= 0 && (all || Long.compareUnsigned(m.iova(), end) < 0)) {
                victims.add(m);
            }
        }
        long unmapped = 0;
        if (!victims.isEmpty()) {
            kernel.journal.begin(KernelIntent.UNMAP_DMA, DmaIntent.unmapPayload(container.id, iova, all ? IOVA_LIMIT : size));
            for (DmaMappingRecord m : victims) {
                container.domain.unmap(m.iova(), m.size()); // flushes the IOTLB for the range
            }
            kernel.crashPoints.reached("unmap:tables");
            for (DmaMappingRecord m : victims) {
                kernel.registries.dmaMappings.remove(m.key());
                byIova.remove(m.iova());
                unmapped += m.size();
            }
            kernel.journal.end();
        }
        arg.unmapSize(unmapped);
        return 0;
    }

    /** The domain is released (type1's vfio_iommu_unmap_unpin_all): every mapping goes. */
    void unmapAll(IommuDomain domain) {
        for (DmaMappingRecord m : byIova.values()) {
            domain.unmap(m.iova(), m.size());
            kernel.registries.dmaMappings.remove(m.key());
        }
        byIova.clear();
    }
}
