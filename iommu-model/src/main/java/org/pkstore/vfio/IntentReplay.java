package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTable;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.Registries;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Recovery of a multi-step ioctl cut short: the pending {@link KernelIntent} of the mount's journal
 * is undone (MAP_DMA, BIND, guest-stage set) or finished (UNMAP_DMA, UNBIND, guest-stage clear,
 * SET_VMID, container release) from the registries and the tables alone, as the next boot finds
 * them after SIGKILL ({@link KernelBoot}) or right away when an ioctl threw ({@link VfioKernel}).
 * The journaled operations themselves are in {@link DmaMappings}, {@link PasidBindings} and
 * {@link VfioContainer}.
 */
final class IntentReplay {
    private static final System.Logger LOG = System.getLogger(IntentReplay.class.getName());

    private final VfioKernel kernel;
    private final Registries registries;

    IntentReplay(VfioKernel kernel) {
        this.kernel = kernel;
        this.registries = kernel.registries;
    }

    private List<Bdf> devicesOf(int containerId) {
        List<Bdf> out = new ArrayList<>();
        for (GroupRecord g : registries.groups.values()) {
            if (g.containerId() == containerId && kernel.topology.group(g.groupId()) != null) {
                out.addAll(kernel.topology.group(g.groupId()).devices());
            }
        }
        return out;
    }

    private DomainRecord domainOf(int containerId) {
        for (DomainRecord d : registries.domains.values()) {
            if (d.containerId() == containerId) {
                return d;
            }
        }
        return null;
    }

    /** Unmaps every leaf of the container's domain in [iova, iova + size) (the range held nothing else). */
    private void unmapLeaves(DomainRecord d, long iova, long size) {
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

    private DeviceTable tableOf(DomainRecord d) {
        IommuUnit u = d == null ? null : kernel.units.get(d.unitId());
        return u == null ? null : u.deviceTable();
    }

    /** Undoes or finishes the active intent; {@code atBoot} puts it in the boot's report (else in its notes). */
    void replay(boolean atBoot) {
        IntentJournal.Intent in = kernel.journal.pending();
        if (in == null) {
            return;
        }
        ByteBuffer b = KernelIntent.read(in.payload());
        int c = b.getInt();
        DomainRecord d = domainOf(c);
        DeviceTable t = tableOf(d);
        String action;
        switch (in.op()) {
            case KernelIntent.MAP_DMA: {
                long iova = b.getLong();
                long size = b.getLong();
                unmapLeaves(d, iova, size);
                registries.dmaMappings.remove(DmaMappingRecord.key(c, iova));
                action = "undone";
                break;
            }
            case KernelIntent.UNMAP_DMA: {
                long iova = b.getLong();
                long size = b.getLong();
                for (DmaMappingRecord m : registries.dmaMappings.values()) {
                    if (m.containerId() == c && m.iova() >= iova && m.iova() - iova < size) {
                        unmapLeaves(d, m.iova(), m.size());
                        registries.dmaMappings.remove(m.key());
                    }
                }
                action = "finished";
                break;
            }
            case KernelIntent.SET_VMID: {
                b.getInt();
                int nv = b.getInt();
                ContainerRecord cr = registries.containers.get(c);
                if (cr != null) {
                    registries.containers.put(c, new ContainerRecord(c, cr.iommuType(), nv, cr.pgtableFile(), cr.domainId(),
                            cr.pasidQuota(), cr.flags()));
                }
                if (d != null) {
                    registries.domains.put(d.domainId(), new DomainRecord(d.domainId(), d.unitId(), d.format(), nv,
                            d.pgtableFile(), d.stage(), d.partialUnmapPolicy(), d.pgsizeBitmap(), d.containerId()));
                    for (Bdf device : devicesOf(c)) {
                        t.setDid(device, nv);
                    }
                }
                action = "finished";
                break;
            }
            case KernelIntent.BIND:
            case KernelIntent.UNBIND: {
                int p = b.getInt();
                if (t != null) {
                    for (Bdf device : devicesOf(c)) {
                        t.unbindPasid(device, p);
                    }
                }
                registries.bindings.remove(p);
                if (t != null && t.driver() == IommuDriver.SMMUV3) {
                    // the STE says what the container's remaining bindings say (SmmuCdTableBinding)
                    List<BindingRecord> rest = new ArrayList<>();
                    for (BindingRecord br : registries.bindings.values()) {
                        if (br.containerId() == c) {
                            rest.add(br);
                        }
                    }
                    SmmuCdTableBinding.apply(t, devicesOf(c), rest);
                }
                action = in.op() == KernelIntent.BIND ? "undone" : "finished";
                break;
            }
            case KernelIntent.GUEST_STAGE_SET:
            case KernelIntent.GUEST_STAGE_CLEAR: {
                if (t != null) {
                    for (Bdf device : devicesOf(c)) {
                        t.clearGuestStage(device);
                    }
                }
                registries.guestStages.remove(c);
                action = in.op() == KernelIntent.GUEST_STAGE_SET ? "undone" : "finished";
                break;
            }
            case KernelIntent.RECLAIM:
                action = ReclaimIntent.recover(kernel, KernelIntent.read(in.payload()));
                break;
            case KernelIntent.GROUP_ATTACH:
                action = GroupIntent.recoverAttach(kernel, KernelIntent.read(in.payload()));
                break;
            case KernelIntent.GROUP_DETACH:
                action = GroupIntent.recoverDetach(kernel, KernelIntent.read(in.payload()));
                break;
            case KernelIntent.SET_IOMMU:
                action = SetIommuIntent.recover(kernel, KernelIntent.read(in.payload()));
                break;
            case KernelIntent.HOTSWAP:
                action = HotswapIntent.recover(kernel, KernelIntent.read(in.payload()));
                break;
            case KernelIntent.RELEASE:
                finishRelease(c, d, t);
                action = "finished";
                break;
            default:
                action = "ignored (unknown operation)";
        }
        kernel.journal.end();
        if (atBoot) {
            kernel.recovery.intent(KernelIntent.name(in.op()), action);
        } else {
            kernel.recovery.note("ioctl failed with an exception: intent " + KernelIntent.name(in.op()) + " " + action);
        }
        LOG.log(System.Logger.Level.INFO, "recovery: intent " + KernelIntent.name(in.op()) + " #" + in.seq() + " " + action);
    }

    private void finishRelease(int c, DomainRecord d, DeviceTable t) {
        List<Bdf> devs = devicesOf(c);
        for (BindingRecord br : registries.bindings.values()) {
            if (br.containerId() == c) {
                if (t != null) {
                    for (Bdf device : devs) {
                        t.unbindPasid(device, br.hpasid());
                    }
                }
                registries.bindings.remove(br.hpasid());
            }
        }
        if (registries.guestStages.get(c) != null) {
            if (t != null) {
                for (Bdf device : devs) {
                    t.clearGuestStage(device);
                }
            }
            registries.guestStages.remove(c);
        }
        if (t != null) {
            for (Bdf device : devs) {
                t.detach(device);
            }
        }
        for (DmaMappingRecord m : registries.dmaMappings.values()) {
            if (m.containerId() == c) {
                unmapLeaves(d, m.iova(), m.size());
                registries.dmaMappings.remove(m.key());
            }
        }
        if (d != null) {
            registries.domains.remove(d.domainId());
        }
        for (GroupRecord g : registries.groups.values()) {
            if (g.containerId() == c) {
                registries.groups.remove(g.groupId());
            }
        }
        kernel.pasids.freeAll(c);
        for (long key : registries.faults.keys()) {
            if (registries.faults.get(key).containerId() == c) {
                registries.faults.remove(key);
            }
        }
        registries.containers.remove(c);
    }


    /**
     * The domain part of a release, from the records: the container's PASID bindings and guest
     * stage, its devices' entries, its mappings and its domain record go; the container record
     * stays, with no domain (as {@code VfioContainer.releaseDomain} leaves it).
     */
    void releaseDomain(int c) {
        DomainRecord d = domainOf(c);
        if (d == null) {
            return;
        }
        DeviceTable t = tableOf(d);
        List<Bdf> devs = devicesOf(c);
        for (BindingRecord br : registries.bindings.values()) {
            if (br.containerId() == c) {
                if (t != null) {
                    for (Bdf device : devs) {
                        t.unbindPasid(device, br.hpasid());
                    }
                }
                registries.bindings.remove(br.hpasid());
            }
        }
        registries.guestStages.remove(c);
        for (DmaMappingRecord m : registries.dmaMappings.values()) {
            if (m.containerId() == c) {
                unmapLeaves(d, m.iova(), m.size());
                registries.dmaMappings.remove(m.key());
            }
        }
        registries.domains.remove(d.domainId());
        ContainerRecord cr = registries.containers.get(c);
        if (cr != null) {
            registries.containers.put(c, new ContainerRecord(c, 0, cr.vmid(), cr.pgtableFile(), 0, cr.pasidQuota(), cr.flags()));
        }
    }
}
