package org.pkstore.vfio;

import org.pkstore.iommu.IommuDomain;
import org.pkstore.iommu.PasidAllocator;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.Registries;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The CATCH_UP intent (journal op {@link KernelIntent#CATCH_UP}): the registry records of a
 * container that record mode reattached ({@link RecordReattach}) without touching a registry,
 * written when the registries are open. The payload says the whole end state, so the steps and
 * their recovery are the same function ({@link #apply}, idempotent: a record already as wanted is
 * not stored again), and a kill anywhere is finished by the next boot.
 *
 * <pre>
 *  payload (little-endian)
 *   0 i32 container id | 4 i32 IOMMU type (0: no SET_IOMMU yet) | 8 i32 VMID | 12 i64 domain id
 *  20 i32 group count g | 24 i32 group x g
 *  24+4g i32 mapping count m | then m x (i64 iova | i64 size | i64 vaddr | i64 pa | i32 prot)
 *
 *  step                                                   a kill after it: recovery
 *  begin CATCH_UP {the container as served}
 *  1 the container record (type, VMID, domain)            finish: steps 1-4 again from the payload
 *  2 each group record naming the container
 *  3 the domain record (stage and VMID as SET_IOMMU left them)
 *  4 each re-established mapping's record (the VMM's new vaddr); records it overlaps
 *    without matching its range exactly are removed first
 *  end
 * </pre>
 * At most {@link #MAPPINGS_PER_INTENT} mappings fit one payload: a container with more is caught
 * up by several intents, each with the whole header (steps 1-3 are then no-ops).
 */
final class CatchUpIntent {
    private static final int HEADER = 20;
    private static final int MAPPING = 36;
    static final int MAX_GROUPS = 4;
    static final int MAPPINGS_PER_INTENT =
            (org.pkstore.persist.IntentJournal.MAX_PAYLOAD - HEADER - 4 * (MAX_GROUPS + 2)) / MAPPING;

    private CatchUpIntent() {}

    static byte[] payload(int container, int type, int vmid, long domainId, List<Integer> groups,
                          List<DmaMappingRecord> mappings) {
        if (groups.size() > MAX_GROUPS || mappings.size() > MAPPINGS_PER_INTENT) {
            throw new IllegalArgumentException("catch-up payload: " + groups.size() + " groups, " + mappings.size()
                    + " mappings");
        }
        ByteBuffer b = KernelIntent.buf(HEADER + 4 + 4 * groups.size() + 4 + MAPPING * mappings.size());
        b.putInt(container).putInt(type).putInt(vmid).putLong(domainId).putInt(groups.size());
        groups.forEach(b::putInt);
        b.putInt(mappings.size());
        for (DmaMappingRecord m : mappings) {
            b.putLong(m.iova()).putLong(m.size()).putLong(m.vaddr()).putLong(m.pa()).putInt(m.prot());
        }
        return b.array();
    }

    /** The steps, also the recovery: brings the registries to the payload's state. */
    static String apply(VfioKernel kernel, ByteBuffer p) {
        Registries r = kernel.registries;
        int id = p.getInt();
        int type = p.getInt();
        int vmid = p.getInt();
        long domainId = p.getLong();
        List<Integer> groups = new ArrayList<>();
        for (int n = Math.min(p.getInt(), MAX_GROUPS); n > 0; n--) {
            groups.add(p.getInt());
        }
        ContainerRecord old = r.containers.get(id);
        DomainRecord d = domainId == 0 ? null : r.domains.get(domainId);
        String file = old != null ? old.pgtableFile() : d != null ? d.pgtableFile() : null;
        if (file != null) {
            ContainerRecord want = new ContainerRecord(id, type, vmid, file, domainId,
                    old != null ? old.pasidQuota() : PasidAllocator.DEFAULT_QUOTA, 0);
            if (!want.equals(old)) {
                r.containers.put(id, want);
            }
        }
        for (int g : groups) {
            GroupRecord want = new GroupRecord(g, id);
            if (!want.equals(r.groups.get(g))) {
                kernel.crashPoints.reached("catchup:groups");
                r.groups.put(g, want);
            }
        }
        if (type != 0 && d != null) {
            int stage = type == VfioUapi.VFIO_TYPE1_NESTING_IOMMU ? IommuDomain.STAGE_NESTED : IommuDomain.STAGE_PAGING;
            DomainRecord want = new DomainRecord(d.domainId(), d.unitId(), d.format(), vmid, d.pgtableFile(), stage,
                    d.partialUnmapPolicy(), d.pgsizeBitmap(), id);
            if (!want.equals(d)) {
                r.domains.put(domainId, want);
            }
        }
        for (int n = p.getInt(); n > 0; n--) {
            DmaMappingRecord want = new DmaMappingRecord(id, p.getLong(), p.getLong(), p.getLong(), p.getLong(), p.getInt());
            DmaMappingRecord existing = r.dmaMappings.get(want.key());
            if (want.equals(existing)) {
                continue;
            }
            if (existing == null || existing.size() != want.size()) {
                // the VMM split the range unlike the records did: its mapping replaces theirs
                for (DmaMappingRecord m : r.dmaMappings.values()) {
                    if (m.containerId() == id && m.key() != want.key()
                            && Long.compareUnsigned(m.iova() - want.iova(), want.size()) < 0
                            || m.containerId() == id && m.key() != want.key()
                            && Long.compareUnsigned(want.iova() - m.iova(), m.size()) < 0) {
                        r.dmaMappings.remove(m.key());
                    }
                }
            }
            kernel.crashPoints.reached("catchup:mapping");
            r.dmaMappings.put(want.key(), want);
        }
        return "finished";
    }
}
