package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The HOTSWAP intent (journal op {@link KernelIntent#HOTSWAP}): the steps that make a built fresh
 * tree the domain's, and what recovery does with them when a kill cut them short. The same
 * {@link #switchDevices} is the forward step and the finish.
 *
 * <pre>
 *  step                                            a kill after it: recovery
 *  begin HOTSWAP {container, old root, new root}
 *  1 publish the new root in the file header       header == new root: finish (switch, sweep frees old)
 *  2 switch each device entry old -> new (1 store) finish the remaining entries
 *  3 flush the VMID's IOTLB entries                (boot starts with an empty IOTLB)
 *  4 free the old tree                             the boot sweep frees what is left of it
 *  end
 *  (before 1: header == old root: undo; the fresh tree is unreachable and the sweep frees it)
 * </pre>
 *
 * Payload (little-endian): {@code i32 container | i64 old root PA | i64 new root PA}.
 */
final class HotswapIntent {
    private HotswapIntent() {}

    static byte[] payload(int container, long oldRoot, long newRoot) {
        return KernelIntent.buf(20).putInt(container).putLong(oldRoot).putLong(newRoot).array();
    }

    /**
     * Steps 1-4 on the live domain; the fresh tree is built and still unpublished. Returns
     * {pages freed, nanoseconds spent freeing}.
     */
    static long[] run(VfioKernel kernel, VfioContainer c, IoPageTable fresh) {
        IommuDomain d = c.domain();
        IoPageTable old = d.pageTable();
        long oldRoot = old.rootPa();
        kernel.journal.begin(KernelIntent.HOTSWAP, payload(c.id(), oldRoot, fresh.rootPa()));
        fresh.publishRoot();
        kernel.crashPoints.reached("hotswap:published");
        switchDevices(kernel, d.unit().deviceTable(), d.devices(), oldRoot, fresh.rootPa());
        d.unit().iotlb().invalidateVmid(d.vmid());
        d.replacePageTable(fresh);
        kernel.crashPoints.reached("hotswap:switched");
        long t0 = System.nanoTime();
        long freed = IoPageTable.freeTree(d.file(), old.format(), oldRoot);
        long freeNanos = System.nanoTime() - t0;
        kernel.journal.end();
        return new long[] {freed, freeNanos};
    }

    /**
     * Points every present entry still naming {@code oldRoot} at {@code newRoot}, one release store
     * each (the entry stays valid throughout; an entry already switched is not written again).
     */
    static void switchDevices(VfioKernel kernel, DeviceTable table, java.util.Collection<Bdf> devices, long oldRoot, long newRoot) {
        for (Bdf b : devices) {
            DeviceEntry e = table.lookup(b);
            if (e.present() && e.stage2RootPa() == oldRoot) {
                table.switchStage2Root(b, newRoot);
                kernel.crashPoints.reached("hotswap:device");
            }
        }
    }

    /**
     * Recovery from the records and tables alone: finish when the header already names the new
     * root, else undo (nothing was switched). Frees nothing itself: the tree no root or device names
     * any more is given back by the reachability sweep of the recovering boot ({@link KernelBoot}), which is
     * idempotent where a second freeTree over a half-freed tree would not be.
     */
    static String recover(VfioKernel kernel, ByteBuffer payload) {
        int container = payload.getInt();
        long oldRoot = payload.getLong();
        long newRoot = payload.getLong();
        DomainRecord d = null;
        for (DomainRecord r : kernel.registries.domains.values()) {
            if (r.containerId() == container) {
                d = r;
            }
        }
        IommuUnit u = d == null ? null : kernel.units.get(d.unitId());
        if (u == null) {
            return "undone (no domain record for container " + container + ")";
        }
        PageTableFile f = kernel.mount.openTableFile(kernel.mount.pageTablePath(d.pgtableFile()));
        if (f.rootPa() != newRoot) {
            return "undone";
        }
        List<Bdf> devices = new ArrayList<>();
        for (GroupRecord g : kernel.registries.groups.values()) {
            if (g.containerId() == container && kernel.topology.group(g.groupId()) != null) {
                devices.addAll(kernel.topology.group(g.groupId()).devices());
            }
        }
        switchDevices(kernel, u.deviceTable(), devices, oldRoot, newRoot);
        u.iotlb().invalidateVmid(d.vmid());
        return "finished";
    }
}
