package org.pkstore.iommu;

import org.pkstore.persist.PageTableFile;

import java.util.BitSet;
import java.util.List;

/**
 * VT-d legacy-mode root and context tables, plus pkstore's per-bus extension pages for PASID
 * tables and guest-stage (nested) configuration.
 *
 * <pre>
 *  file root PA --> ROOT TABLE (one page, 256 x 16-byte root entries, index = bus)
 *                   +0  lo: bit 0 P | bits 63:12 context-table pointer (CTP)
 *                   +8  hi: bit 0 P | bits 63:12 extension page pointer   (pkstore; the UP field,
 *                                                                           unused in legacy mode)
 *  CTP ---------->  CONTEXT TABLE (one page, 256 x 16-byte legacy context entries, index = devfn)
 *                   +0  lo: bit 0 P | bit 1 FPD | bits 3:2 TT = 00 (untranslated requests only)
 *                           | bits 63:12 SLPTPTR (second-level page-table root)
 *                   +8  hi: bits 2:0 AW = 010 (48-bit, 4-level) | bits 23:8 DID (= VMID)
 *  extension ---->  EXTENSION PAGE (pkstore; one page, 256 x 16 bytes, index = devfn)
 *                   +0  w0: bit 0 P | bits 63:12 PASID directory (see {@link DeviceTable})
 *                   +8  w1: bit 0 guest stage valid | bits 6:1 guest pasid_bits
 *                           | bits 63:12 guest PASID table base (guest physical)
 * </pre>
 *
 * The context entry's lo word holds both P and SLPTPTR: attach stores hi first, then lo; a root
 * switch is one store of lo. DID retagging is one store of hi.
 */
public final class VtdDeviceTable extends DeviceTable {
    public static final int ENTRY_BYTES = 16;
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final int TT_SHIFT = 2;
    public static final long AW_48 = 2L;
    public static final int DID_SHIFT = 8;
    public static final long DID_MASK = 0xFFFFL << DID_SHIFT;
    public static final long GUEST_VALID = 1L;
    public static final int GUEST_PASID_BITS_SHIFT = 1;

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
        return file.rootPa() + (long) bdf.bus() * ENTRY_BYTES;
    }

    /** The context table of the device's bus, allocated and published if {@code create}; -1 if none. */
    private long contextTable(Bdf bdf, boolean create) {
        long rePa = rootEntryPa(bdf);
        long re = file.readDescriptor(rePa);
        if ((re & P) != 0) {
            return re & ADDR_MASK;
        }
        if (!create) {
            return -1;
        }
        long ct = file.allocatePage();
        if (ct < 0) {
            return -1;
        }
        file.writeDescriptor(rePa, (ct & ADDR_MASK) | P);
        return ct;
    }

    private long extensionPage(Bdf bdf, boolean create) {
        long hiPa = rootEntryPa(bdf) + 8;
        long hi = file.readDescriptor(hiPa);
        if ((hi & P) != 0) {
            return hi & ADDR_MASK;
        }
        if (!create) {
            return -1;
        }
        long ext = file.allocatePage();
        if (ext < 0) {
            return -1;
        }
        file.writeDescriptor(hiPa, (ext & ADDR_MASK) | P);
        return ext;
    }

    private long contextEntryPa(Bdf bdf, boolean create) {
        long ct = contextTable(bdf, create);
        return ct < 0 ? -1 : ct + (long) bdf.devfn() * ENTRY_BYTES;
    }

    static long contextLo(long s2Root) {
        return (s2Root & ADDR_MASK) | P; // TT = 00, FPD = 0
    }

    static long contextHi(int did) {
        return AW_48 | ((long) (did & 0xFFFF) << DID_SHIFT);
    }

    @Override
    public int attach(Bdf bdf, long s2Root, int did) {
        long ce = contextEntryPa(bdf, true);
        if (ce < 0) {
            return -Errno.ENOMEM;
        }
        long lo = file.readDescriptor(ce);
        if ((lo & P) != 0 && lo != contextLo(s2Root)) {
            put(ce, 0); // re-pointing a live entry at another domain: take it down first
        }
        put(ce + 8, contextHi(did));
        put(ce, contextLo(s2Root));
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
        put(ce, contextLo(newRoot));
    }

    @Override
    public void setDid(Bdf bdf, int did) {
        long ce = contextEntryPa(bdf, false);
        if (ce >= 0) {
            put(ce + 8, contextHi(did));
        }
    }

    @Override
    public int setGuestStage(Bdf bdf, long guestBase, int pasidBits) {
        long ext = extensionPage(bdf, true);
        if (ext < 0) {
            return -Errno.ENOMEM;
        }
        put(ext + (long) bdf.devfn() * ENTRY_BYTES + 8,
                (guestBase & ADDR_MASK) | ((long) (pasidBits & 0x3F) << GUEST_PASID_BITS_SHIFT) | GUEST_VALID);
        return 0;
    }

    @Override
    public void clearGuestStage(Bdf bdf) {
        long ext = extensionPage(bdf, false);
        if (ext >= 0) {
            put(ext + (long) bdf.devfn() * ENTRY_BYTES + 8, 0);
        }
    }

    @Override
    public int bindPasid(Bdf bdf, BoundPasidEntry e) {
        long ext = extensionPage(bdf, true);
        if (ext < 0) {
            return -Errno.ENOMEM;
        }
        long w0Pa = ext + (long) bdf.devfn() * ENTRY_BYTES;
        long w0 = file.readDescriptor(w0Pa);
        long dir;
        if ((w0 & P) == 0) {
            dir = allocatePasidDirectory();
            if (dir < 0) {
                return -Errno.ENOMEM;
            }
            file.writeDescriptor(w0Pa, (dir & ADDR_MASK) | P);
        } else {
            dir = w0 & ADDR_MASK;
        }
        return writeBound(dir, e);
    }

    @Override
    public void unbindPasid(Bdf bdf, int pasid) {
        long ext = extensionPage(bdf, false);
        if (ext < 0) {
            return;
        }
        long w0 = file.readDescriptor(ext + (long) bdf.devfn() * ENTRY_BYTES);
        if ((w0 & P) != 0) {
            clearBound(w0 & ADDR_MASK, pasid);
        }
    }

    @Override
    public BitSet reachablePages() {
        BitSet pages = new BitSet();
        long root = file.rootPa();
        if (!addPage(pages, root)) {
            return pages;
        }
        for (int bus = 0; bus < 256; bus++) {
            long lo = file.readDescriptor(root + bus * (long) ENTRY_BYTES);
            long hi = file.readDescriptor(root + bus * (long) ENTRY_BYTES + 8);
            if ((lo & P) != 0) {
                addPage(pages, lo & ADDR_MASK);
            }
            if ((hi & P) != 0 && addPage(pages, hi & ADDR_MASK)) {
                long ext = hi & ADDR_MASK;
                for (int devfn = 0; devfn < 256; devfn++) {
                    long w0 = file.readDescriptor(ext + devfn * (long) ENTRY_BYTES);
                    if ((w0 & P) != 0) {
                        addDirectory(pages, w0 & ADDR_MASK);
                    }
                }
            }
        }
        return pages;
    }
}
