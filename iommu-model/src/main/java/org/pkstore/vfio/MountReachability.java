package org.pkstore.vfio;

import org.pkstore.iommu.pgtable.PageTableGeometry;
import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.DomainRecord;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * The one definition of what in a mount is live, shared by the recovering boot's sweep
 * ({@link KernelBoot}) and by restore-tool's {@code verify} and {@code verify --repair}:
 *
 * <ul>
 *   <li>a page-table page is live when it is reachable from the file header's root, from any
 *       stage-2 root a present device-table entry names inside the file (a device walks it), or
 *       from a root the journal's open intent still needs (HOTSWAP: the old and the new tree);
 *       everything else allocated is a leak the sweep or {@code --repair} may give back;</li>
 *   <li>a present device-table entry is consistent when a domain record on its unit carries its
 *       DID as VMID and that VMID is held ({@link #unbacked}).</li>
 * </ul>
 */
public final class MountReachability {
    private MountReachability() {}

    /** Roots the open intent still needs ({@code pending} may be null): HOTSWAP's old and new tree. */
    public static long[] intentRoots(IntentJournal.Intent pending) {
        if (pending == null || pending.op() != KernelIntent.HOTSWAP || pending.payload().length < 20) {
            return new long[0];
        }
        ByteBuffer b = KernelIntent.read(pending.payload());
        b.getInt();
        return new long[] {b.getLong(), b.getLong()};
    }

    /** The roots of {@code f}'s live trees: the header's, then every other device or intent root inside the file. */
    public static List<Long> liveRoots(PageTableFile f, Collection<Long> deviceRoots, IntentJournal.Intent pending) {
        List<Long> roots = new ArrayList<>();
        if (f.rootPa() != 0) {
            roots.add(f.rootPa());
        }
        List<Long> others = new ArrayList<>(deviceRoots);
        for (long r : intentRoots(pending)) {
            others.add(r);
        }
        for (long r : others) {
            if (r != 0 && !roots.contains(r) && f.isTablePage(r) && f.isAllocated(f.pageIndexOf(r))) {
                roots.add(r);
            }
        }
        return roots;
    }

    /**
     * Every page reachable from {@link #liveRoots}; the walk's problems go to {@code visitor}
     * (bounded: the walker visits each page once).
     */
    public static BitSet reachable(PageTableFile f, Collection<Long> deviceRoots, IntentJournal.Intent pending,
                                   PageTableVisitor visitor) {
        BitSet reachable = new BitSet();
        PageTableWalker w = PageTableWalker.of(f);
        for (long root : liveRoots(f, deviceRoots, pending)) {
            w.walk(root, 0, PageTableGeometry.IOVA_LIMIT, visitor);
            reachable.or(w.reachablePages());
        }
        return reachable;
    }

    /**
     * Null when a present entry on {@code unitId} tagged {@code did} is backed by a domain record
     * with that VMID on that unit and the VMID is held; else the reason it is not.
     */
    public static String unbacked(int unitId, int did, Collection<DomainRecord> domains, IntPredicate vmidHeld) {
        boolean record = false;
        for (DomainRecord d : domains) {
            if (d.unitId() == unitId && d.vmid() == did) {
                record = true;
                break;
            }
        }
        if (!record) {
            return "no domain record on unit " + unitId + " has VMID " + Integer.toUnsignedString(did);
        }
        if (!vmidHeld.test(did)) {
            return "VMID " + Integer.toUnsignedString(did) + " is not held in the vmids registry";
        }
        return null;
    }
}
