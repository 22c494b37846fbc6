package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.vfio.VfioContainer;
import org.pkstore.vfio.VfioKernel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The hotswap restore strategy (the direction upstream took): the preserved domain stays in use,
 * untouched, while a fresh table is built beside it in the same pkernfs file from the VMM's
 * re-established mappings; then every device-table entry of the domain is switched to the fresh
 * root with one release store each, the IOTLB of the VMID is flushed, and the old tables are freed.
 * DMA continues on the old tables during the build and on the new ones after the switch.
 *
 * <p>Crash safety: the fresh tree is unreachable until published (a crash leaks it, the sweep gives
 * it back); the header's root is published before device-table entries switch, and the sweep keeps
 * every tree a device-table entry points to, so no crash point frees a tree a device can walk.
 */
final class Hotswap {
    private Hotswap() {}

    static Map<String, Object> run(VfioKernel kernel, int containerFd) {
        synchronized (kernel) {
            VfioContainer c = kernel.container(containerFd);
            IommuDomain d = c.domain();
            IoPageTable old = d.pageTable();
            PageTableFile f = d.file();
            long oldRoot = old.rootPa();
            long writes0 = f.descriptorWrites();
            long t0 = System.nanoTime();
            IoPageTable fresh = IoPageTable.createShadow(f, old.format(), old.partialUnmapPolicy());
            fresh.setPageSizes(old.pageSizes());
            for (DmaMappingRecord m : c.mappings().values()) {
                int ret = fresh.map(m.iova(), m.pa(), m.size(), m.prot());
                if (ret != 0) {
                    IoPageTable.freeTree(f, old.format(), fresh.rootPa());
                    throw new RehearsalException("hotswap build of " + d.fileName() + " failed at IOVA 0x"
                            + Long.toHexString(m.iova()) + ": " + ret);
                }
            }
            long t1 = System.nanoTime();
            long built = f.descriptorWrites() - writes0;
            fresh.publishRoot();
            for (Bdf b : d.devices()) {
                d.unit().deviceTable().switchStage2Root(b, fresh.rootPa());
            }
            d.unit().iotlb().invalidateVmid(d.vmid());
            d.replacePageTable(fresh);
            long t2 = System.nanoTime();
            long freed = IoPageTable.freeTree(f, old.format(), oldRoot);
            long t3 = System.nanoTime();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("pgtableFile", d.fileName());
            r.put("oldRoot", "0x" + Long.toHexString(oldRoot));
            r.put("newRoot", "0x" + Long.toHexString(fresh.rootPa()));
            r.put("descriptorsWritten", built);
            r.put("buildMs", HostSession.msExact(t1 - t0));
            r.put("switchMs", HostSession.msExact(t2 - t1));
            r.put("freeMs", HostSession.msExact(t3 - t2));
            r.put("oldPagesFreed", freed);
            return r;
        }
    }
}
