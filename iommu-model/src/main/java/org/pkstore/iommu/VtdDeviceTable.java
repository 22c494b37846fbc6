package org.pkstore.iommu;

import org.pkstore.iommu.hw.VtdContextEntry;
import org.pkstore.iommu.hw.VtdExtensionEntry;
import org.pkstore.iommu.hw.VtdRootEntry;
import org.pkstore.persist.PageTableFile;

import java.util.BitSet;
import java.util.List;

/**
 * VT-d legacy-mode root and context tables, plus pkstore's per-bus extension pages for PASID
 * tables and guest-stage (nested) configuration. Entry bits: {@link VtdRootEntry},
 * {@link VtdContextEntry}, {@link VtdExtensionEntry}; byte-by-byte layout: docs/FORMAT.md 6.5.
 *
 * <pre>
 *  file root PA --> ROOT TABLE (one page, 256 x 16-byte root entries, index = bus)
 *                   lo: P | context-table pointer;  hi: pkstore extension page pointer
 *  CTP ---------->  CONTEXT TABLE (one page, 256 x 16-byte legacy context entries, index = devfn)
 *                   lo: P | FPD | TT | SLPTPTR;  hi: AW | DID
 *  extension ---->  EXTENSION PAGE (pkstore; one page, 256 x 16 bytes, index = devfn)
 *                   w0: P | PASID directory;  w1: guest stage valid | pasid bits | guest table
 * </pre>
 *
 * The context entry's lo holds both P and SLPTPTR and its hi the DID. A new entry is written hi
 * then lo. A present entry is changed in place and never cleared on the way: a root switch is one
 * store of lo, a retag one store of hi, and attach of a present entry stores only the words that
 * differ (hi first), each store leaving it present and valid.
 */
public final class VtdDeviceTable extends DeviceTable {
    public static final int ENTRY_BYTES = VtdContextEntry.BYTES;

    VtdDeviceTable(PageTableFile file, int unitId) {
        super(file, unitId);
    }

    @Override public IommuDriver driver() { return IommuDriver.VTD; }

    @Override
    protected void initialise(List<Bdf> devices) {
        long root = file.allocatePage();
        if (root < 0) {
            throw new IllegalStateException(file.path() + ": no page for the root table");
        }
        file.setRootPa(root);
    }

    long rootEntryPa(Bdf bdf) {
        return file.rootPa() + VtdRootEntry.offset(bdf.bus());
    }

    /** The context table of the device's bus, allocated and published if {@code create}; -1 if none. */
    private long contextTable(Bdf bdf, boolean create) {
        long rePa = rootEntryPa(bdf);
        long re = file.readDescriptor(rePa);
        if (VtdRootEntry.present(re)) {
            return VtdRootEntry.contextTablePa(re);
        }
        if (!create) {
            return -1;
        }
        long ct = file.allocatePage();
        if (ct < 0) {
            return -1;
        }
        file.writeDescriptor(rePa, VtdRootEntry.encodeLo(ct));
        return ct;
    }

    private long extensionPage(Bdf bdf, boolean create) {
        long hiPa = rootEntryPa(bdf) + 8;
        long hi = file.readDescriptor(hiPa);
        if (VtdRootEntry.extensionPresent(hi)) {
            return VtdRootEntry.extensionPagePa(hi);
        }
        if (!create) {
            return -1;
        }
        long ext = file.allocatePage();
        if (ext < 0) {
            return -1;
        }
        file.writeDescriptor(hiPa, VtdRootEntry.encodeHi(ext));
        return ext;
    }

    private long contextEntryPa(Bdf bdf, boolean create) {
        long ct = contextTable(bdf, create);
        return ct < 0 ? -1 : ct + VtdContextEntry.offset(bdf.devfn());
    }

    private long extensionEntryPa(long ext, Bdf bdf) {
        return ext + VtdExtensionEntry.offset(bdf.devfn());
    }

    @Override
    public int attach(Bdf bdf, long s2Root, int did) {
        long ce = contextEntryPa(bdf, true);
        if (ce < 0) {
            return -Errno.ENOMEM;
        }
        // new entry: hi, then lo (P) last. Present entry: the same order, but only words that differ are
        // stored, and each store leaves a present entry with a valid DID and root (never taken down).
        put(ce + 8, VtdContextEntry.encodeHi(did));
        put(ce, VtdContextEntry.encodeLo(s2Root));
        return 0;
    }

    @Override
    public void detach(Bdf bdf) {
        long ce = contextEntryPa(bdf, false);
        if (ce < 0) {
            return;
        }
        put(ce, 0);
        put(ce + 8, 0);
    }

    @Override
    public void switchStage2Root(Bdf bdf, long newRoot) {
        long ce = contextEntryPa(bdf, false);
        if (ce < 0) {
            throw new IllegalStateException(bdf + " has no context entry on unit " + unitId);
        }
        put(ce, VtdContextEntry.encodeLo(newRoot));
    }

    @Override
    public void setDid(Bdf bdf, int did) {
        long ce = contextEntryPa(bdf, false);
        if (ce >= 0) {
            put(ce + 8, VtdContextEntry.encodeHi(did));
        }
    }

    @Override
    public int setGuestStage(Bdf bdf, long guestBase, int pasidBits) {
        long ext = extensionPage(bdf, true);
        if (ext < 0) {
            return -Errno.ENOMEM;
        }
        put(extensionEntryPa(ext, bdf) + 8, VtdExtensionEntry.encodeW1(guestBase, pasidBits));
        return 0;
    }

    @Override
    public void clearGuestStage(Bdf bdf) {
        long ext = extensionPage(bdf, false);
        if (ext >= 0) {
            put(extensionEntryPa(ext, bdf) + 8, 0);
        }
    }

    @Override
    public int bindPasid(Bdf bdf, BoundPasidEntry e) {
        long ext = extensionPage(bdf, true);
        if (ext < 0) {
            return -Errno.ENOMEM;
        }
        long w0Pa = extensionEntryPa(ext, bdf);
        long w0 = file.readDescriptor(w0Pa);
        long dir;
        if (!VtdExtensionEntry.directoryPresent(w0)) {
            dir = allocatePasidDirectory();
            if (dir < 0) {
                return -Errno.ENOMEM;
            }
            file.writeDescriptor(w0Pa, VtdExtensionEntry.encodeW0(dir));
        } else {
            dir = VtdExtensionEntry.directoryPa(w0);
        }
        return writeBound(dir, e);
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        long ext = extensionPage(bdf, false);
        if (ext < 0) {
            return;
        }
        long w0 = file.readDescriptor(extensionEntryPa(ext, bdf));
        if (VtdExtensionEntry.directoryPresent(w0)) {
            clearBound(VtdExtensionEntry.directoryPa(w0), pasid);
        }
    }

    @Override
    public BitSet reachablePages() {
        BitSet pages = new BitSet();
        long root = file.rootPa();
        if (!addPage(pages, root)) {
            return pages;
        }
        for (int bus = 0; bus < VtdRootEntry.ENTRIES; bus++) {
            long lo = file.readDescriptor(root + VtdRootEntry.offset(bus));
            long hi = file.readDescriptor(root + VtdRootEntry.offset(bus) + 8);
            if (VtdRootEntry.present(lo)) {
                addPage(pages, VtdRootEntry.contextTablePa(lo));
            }
            if (VtdRootEntry.extensionPresent(hi) && addPage(pages, VtdRootEntry.extensionPagePa(hi))) {
                long ext = VtdRootEntry.extensionPagePa(hi);
                for (int devfn = 0; devfn < VtdContextEntry.ENTRIES; devfn++) {
                    long w0 = file.readDescriptor(ext + VtdExtensionEntry.offset(devfn));
                    if (VtdExtensionEntry.directoryPresent(w0)) {
                        addDirectory(pages, VtdExtensionEntry.directoryPa(w0));
                    }
                }
            }
        }
        return pages;
    }
}
