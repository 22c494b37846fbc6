package org.pkstore.iommu;

import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DomainRecord;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * An IOMMU domain: one stage-2 address space (IOVA -> host PA) on one {@link IommuUnit}, tagged
 * with a VMID, whose {@link IoPageTable} lives in a pkernfs page-table file. A paging domain
 * (stage 1 of {@link DomainRecord}) translates with stage 2 only; a nested one (stage 2 of the
 * record) also carries a guest stage-1 configuration or bound guest PASIDs in the device table.
 *
 * <p>Lifecycle: {@link #allocate} builds a new table in an empty file or adopts the table a file
 * already has (after kexec: zero descriptor writes); devices are attached and detached; the owner
 * unmaps everything and detaches every device before forgetting it ({@link #destroy}).
 */
public final class IommuDomain {
    public static final int STAGE_PAGING = 1;
    public static final int STAGE_NESTED = 2;

    private final long id;
    private final IommuUnit unit;
    private IoPageTable table;
    private final String fileName;
    private final int containerId;
    private final int stage;
    private final boolean adopted;
    private int vmid;
    private final Set<Bdf> devices = new LinkedHashSet<>();

    private IommuDomain(long id, IommuUnit unit, IoPageTable table, String fileName, int containerId, int stage,
                        int vmid, boolean adopted) {
        this.id = id;
        this.unit = unit;
        this.table = table;
        this.fileName = fileName;
        this.containerId = containerId;
        this.stage = stage;
        this.vmid = vmid;
        this.adopted = adopted;
    }

    /**
     * A domain over {@code file}: a new table if the file has no root, else the file's table adopted
     * as it is ({@link IoPageTable#attach}: nothing written), with the default geometry (SPLIT on a
     * partial block unmap, every page size the unit has).
     *
     * @throws IllegalArgumentException when the file's format is not the unit's
     */
    public static IommuDomain allocate(long id, IommuUnit unit, PageTableFile file, String fileName, int containerId,
                                       int stage, int vmid) {
        return allocate(id, unit, file, fileName, containerId, stage, vmid, null);
    }

    /**
     * As {@link #allocate(long, IommuUnit, PageTableFile, String, int, int, int)}, but an adopted table
     * keeps the partial-unmap policy and page sizes its domain had before the kexec, as its
     * {@code previous} record says (null: a new domain, defaults).
     */
    public static IommuDomain allocate(long id, IommuUnit unit, PageTableFile file, String fileName, int containerId,
                                       int stage, int vmid, DomainRecord previous) {
        PageTableFormat fmt = unit.stage2Format();
        if (file.format() != fmt.id()) {
            throw new IllegalArgumentException(file.path() + " holds format " + file.format() + ", unit " + unit.id()
                    + " walks " + fmt.name());
        }
        boolean adopt = file.rootPa() != 0;
        boolean keep = adopt && previous != null;
        PartialUnmapPolicy policy = keep ? policyOf(previous.partialUnmapPolicy()) : PartialUnmapPolicy.SPLIT;
        IoPageTable t = adopt ? IoPageTable.attach(file, fmt, policy) : IoPageTable.create(file, fmt, policy);
        t.setPageSizes(keep && previous.pgsizeBitmap() != 0 ? previous.pgsizeBitmap() : IommuUnit.PGSIZE_BITMAP);
        return new IommuDomain(id, unit, t, fileName, containerId, stage, vmid, adopt);
    }

    /** {@link DomainRecord#partialUnmapPolicy()}: 0 SPLIT, 1 REFUSE (as {@link #record()} writes it). */
    public static PartialUnmapPolicy policyOf(int persisted) {
        return persisted == 0 ? PartialUnmapPolicy.SPLIT : PartialUnmapPolicy.REFUSE;
    }

    public long id() { return id; }
    public IommuUnit unit() { return unit; }
    public IoPageTable pageTable() { return table; }
    public PageTableFile file() { return table.file(); }
    public String fileName() { return fileName; }
    public int containerId() { return containerId; }
    public int stage() { return stage; }
    public int vmid() { return vmid; }
    /** True when the table was adopted from the file rather than built. */
    public boolean adopted() { return adopted; }
    public Set<Bdf> devices() { return Collections.unmodifiableSet(devices); }

    public DomainRecord record() {
        return new DomainRecord(id, unit.id(), unit.stage2Format().id(), vmid, fileName, stage,
                table.partialUnmapPolicy() == PartialUnmapPolicy.SPLIT ? 0 : 1, table.pageSizes(), containerId);
    }

    /** Points the device at this domain's tables (writes only what differs). 0 or -errno. */
    public int attachDevice(Bdf bdf) {
        DeviceEntry before = unit.deviceTable().lookup(bdf);
        int r = unit.deviceTable().attach(bdf, table.rootPa(), vmid);
        if (r == 0) {
            devices.add(bdf);
            if (before.present() && before.did() != vmid) {
                // a live entry re-pointed with DID then root (docs/FORMAT.md 6.5.5): the device may have
                // cached the old tree under our VMID in between
                unit.iotlb().invalidateVmid(vmid);
            }
        }
        return r;
    }

    public void detachDevice(Bdf bdf) {
        unit.deviceTable().detach(bdf);
        devices.remove(bdf);
        unit.iotlb().invalidateVmid(vmid);
    }

    /** Retags every device with {@code newVmid} and drops the IOTLB entries of the old VMID. */
    public void setVmid(int newVmid) {
        int old = vmid;
        vmid = newVmid;
        for (Bdf b : devices) {
            unit.deviceTable().setDid(b, newVmid);
        }
        if (old != newVmid) {
            unit.iotlb().invalidateVmid(old);
        }
    }

    /** Maps in the domain's tables; 0 or -errno (IoPageTable#map). The caller invalidates nothing: new mappings are not cached. */
    public int map(long iova, long pa, long size, int prot) {
        return table.map(iova, pa, size, prot);
    }

    /** Unmaps and flushes the IOTLB for the range; returns the bytes unmapped. */
    public long unmap(long iova, long size) {
        long n = table.unmap(iova, size);
        unit.iotlb().invalidateRange(vmid, true, 0, iova, size, false);
        return n;
    }

    /**
     * LIVE_UPDATE check: do the tables map exactly {@code [iova, iova + size)} to
     * {@code [pa, pa + size)} with {@code prot} (as the format expresses it)? One range walk
     * ({@link IoPageTable#firstMismatch}): stops at the first difference, writes and allocates nothing.
     *
     * @return -1 when everything matches, else the first IOVA that differs (a hole, another PA,
     *         other permissions, or a descriptor the walker would refuse)
     */
    public long firstMismatch(long iova, long size, long pa, int prot) {
        return table.firstMismatch(iova, size, pa, prot);
    }

    /**
     * After a hotswap switched every device of this domain to {@code fresh} (a table in the same
     * file, already published as the file's root), the domain's map/unmap go to it.
     */
    public void replacePageTable(IoPageTable fresh) {
        if (fresh.file() != table.file() || fresh.rootPa() != fresh.file().rootPa()) {
            throw new IllegalStateException("hotswap table must be the published root of " + table.file().path());
        }
        fresh.setPageSizes(table.pageSizes());
        table = fresh;
    }

    /** Detaches every device and unmaps everything (the release of type1's last group). */
    public void destroy() {
        for (Bdf b : devices.toArray(new Bdf[0])) {
            detachDevice(b);
        }
        // unmap leaf by leaf: IoPageTable#unmap stops at the first hole of a range
        java.util.List<long[]> leaves = new java.util.ArrayList<>();
        new PageTableWalker(table.file(), table.format()).walk(table.rootPa(), 0, PageTableGeometry.IOVA_LIMIT,
                new PageTableVisitor() {
                    @Override
                    public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
                        leaves.add(new long[] {iova, PageTableGeometry.blockSize(level)});
                    }
                });
        for (long[] l : leaves) {
            table.unmap(l[0], l[1]);
        }
        unit.iotlb().invalidateVmid(vmid);
    }

    /** For tests and tools: {@link Prot} bits of what a leaf made with {@code prot} grants. */
    public int effectiveProt(int prot) {
        PageTableFormat fmt = table.format();
        return fmt.protOf(fmt.makeLeaf(0, prot, PageTableGeometry.LEAF_LEVEL), PageTableGeometry.LEAF_LEVEL);
    }

    @Override
    public String toString() {
        return "IommuDomain[" + id + ", unit " + unit.id() + ", vmid " + vmid + ", " + fileName + "]";
    }
}
