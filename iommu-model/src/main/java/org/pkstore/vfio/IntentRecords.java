package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * What an intent's recovery reads from the records alone (the in-memory objects are gone after a
 * kill): a container's devices, its domain record, the device table behind it, and an unmap of
 * every leaf in a range of its tables (a half-done unmap leaves holes a range unmap would stop at).
 */
final class IntentRecords {
    private IntentRecords() {}

    static List<Bdf> devicesOf(VfioKernel kernel, int containerId) {
        List<Bdf> out = new ArrayList<>();
        for (GroupRecord g : kernel.registries.groups.values()) {
            if (g.containerId() == containerId && kernel.topology.group(g.groupId()) != null) {
                out.addAll(kernel.topology.group(g.groupId()).devices());
            }
        }
        return out;
    }

    static DomainRecord domainOf(VfioKernel kernel, int containerId) {
        for (DomainRecord d : kernel.registries.domains.values()) {
            if (d.containerId() == containerId) {
                return d;
            }
        }
        return null;
    }

    static DeviceTable tableOf(VfioKernel kernel, DomainRecord d) {
        IommuUnit u = d == null ? null : kernel.units.get(d.unitId());
        return u == null ? null : u.deviceTable();
    }

    /** Unmaps every leaf of the domain's tables in [iova, iova + size). */
    static void unmapLeaves(VfioKernel kernel, DomainRecord d, long iova, long size) {
        if (d == null) {
            return;
        }
        PageTableFile f = kernel.mount.openTableFile(kernel.mount.pageTablePath(d.pgtableFile()));
        if (f.rootPa() == 0) {
            return;
        }
        PageTableFormat fmt = PageTableFormat.byId(d.format());
        IoPageTable t = IoPageTable.attach(f, fmt, IommuDomain.policyOf(d.partialUnmapPolicy()));
        List<long[]> leaves = new ArrayList<>();
        new PageTableWalker(f, fmt).walk(f.rootPa(), iova, iova + size, new PageTableVisitor() {
            @Override
            public void leaf(int level, long leafIova, long tablePa, int index, long descriptor, long[] path) {
                leaves.add(new long[] {leafIova, PageTableGeometry.blockSize(level)});
            }
        });
        for (long[] l : leaves) {
            t.unmap(l[0], l[1]);
        }
    }
}
