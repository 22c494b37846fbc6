package org.pkstore.vfio;

import org.pkstore.iommu.HostTopology;
import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.IommuUnit;
import org.pkstore.iommu.PasidAllocator;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The RELEASE intent (journal op {@link KernelIntent#RELEASE}; payload {@code i32 container}):
 * closing a container fd gives back everything it holds, and a release cut short is finished by
 * running the very same steps ({@link VfioContainer#releaseSteps}) on the container rebuilt from its
 * records ({@link #rebuild}: the in-memory objects are a cache of the records). The domain part of
 * the last group's detach ({@link GroupIntent}) is finished the same way ({@link #finishDomainRelease}).
 *
 * <pre>
 *  step (VfioContainer.releaseSteps)                  a kill after it: recovery (always finish)
 *  begin RELEASE {container}
 *  1 each group: detach its devices, remove its record   the same steps, from the records:
 *  2 last group: unmap every mapping, destroy the       steps already done find nothing to do
 *    domain, drop bindings, guest stage, domain record    (a detached entry is not written again,
 *  3 free its PASIDs, give back its VMID                  an unmapped leaf is not walked)
 *  4 destroy its fault queue, remove its record
 *  end
 * </pre>
 */
final class ReleaseIntent {
    private ReleaseIntent() {}

    static byte[] payload(int container) {
        return KernelIntent.ints(container);
    }

    static String finish(VfioKernel kernel, ByteBuffer payload) {
        int id = payload.getInt();
        rebuild(kernel, id).releaseSteps();
        kernel.faultQueues.remove(id);
        return "finished";
    }

    /** The last group left: the domain part of the release, on the container rebuilt from its records. */
    static void finishDomainRelease(VfioKernel kernel, int id) {
        VfioContainer c = rebuild(kernel, id);
        if (c.domain != null && c.groups.isEmpty()) {
            c.releaseDomain();
        } else if (c.domain == null && kernel.registries.containers.get(id) != null
                && (kernel.registries.containers.get(id).iommuType() != 0)) {
            c.iommuType = 0;
            c.preservedDomainId = 0;
            c.save(); // the domain record went already: only releaseDomain's last save was missing
        }
    }

    /**
     * The container as the records describe it: id, VMID, type, persistent file, groups, DMA
     * mappings, bindings, guest stage, and its domain over its table file (adopted: nothing written).
     */
    static VfioContainer rebuild(VfioKernel kernel, int id) {
        ContainerRecord r = kernel.registries.containers.get(id);
        VfioContainer c = new VfioContainer(kernel, id, r == null ? PasidAllocator.DEFAULT_QUOTA : r.pasidQuota());
        if (r != null) {
            c.vmid = r.vmid();
            c.iommuType = r.iommuType();
            c.preservedDomainId = r.domainId();
            Path p = kernel.mount.pageTablePath(r.pgtableFile());
            if (!r.pgtableFile().isEmpty() && Files.exists(p)) {
                c.persistentFile = new PersistentPgtableFile(r.pgtableFile(), kernel.mount.openTableFile(p));
            }
        }
        for (GroupRecord g : kernel.registries.groups.values()) {
            HostTopology.Group tg = kernel.topology.group(g.groupId());
            if (g.containerId() == id && tg != null) {
                VfioGroup vg = new VfioGroup(tg);
                vg.container = c;
                c.groups.add(vg);
            }
        }
        for (DmaMappingRecord m : kernel.registries.dmaMappings.values()) {
            if (m.containerId() == id) {
                c.dma.adopt(m);
            }
        }
        for (BindingRecord b : kernel.registries.bindings.values()) {
            if (b.containerId() == id) {
                c.pasids.bindings.put(b.hpasid(), b);
            }
        }
        c.pasids.guestStage = kernel.registries.guestStages.get(id);
        DomainRecord d = IntentRecords.domainOf(kernel, id);
        IommuUnit u = d == null ? null : kernel.units.get(d.unitId());
        if (u != null) {
            PageTableFile f = kernel.mount.openTableFile(kernel.mount.pageTablePath(d.pgtableFile()));
            if (f.rootPa() != 0) {
                kernel.memory.add(f);
                c.domain = IommuDomain.allocate(d.domainId(), u, f, d.pgtableFile(), id, d.stage(), d.vmid(), d);
                if (r == null) {
                    c.vmid = d.vmid();
                }
            } else {
                kernel.registries.domains.remove(d.domainId()); // a domain with no tables holds nothing to give back
            }
        }
        return c;
    }
}
