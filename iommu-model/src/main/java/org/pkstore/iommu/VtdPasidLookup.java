package org.pkstore.iommu;

/**
 * VT-d side of {@link DeviceTableReader#pasidTranslation}: the scalable-mode PASID-table entry of
 * the device's PASID (untagged DMA: the context entry's RID_PASID), as the hardware reads it.
 * PGTT 010b gives stage 2 only (SLPTPTR, DID); PGTT 011b adds the guest's first level (FLPTR, a GPA;
 * FLPM 00b 4-level, 01b 5-level). Legacy mode translates untagged DMA only. Decoding:
 * {@link VtdTableReader}.
 */
final class VtdPasidLookup {
    private VtdPasidLookup() {}

    static PasidTranslation resolve(DeviceTableReader reader, Bdf bdf, int pasid) {
        if (reader.file().rootPa() == 0) {
            return PasidTranslation.fault(pasid, "no root published (table never initialised)");
        }
        return new VtdTableReader(reader).resolve(bdf, pasid);
    }

    /** As {@link #resolve(DeviceTableReader, Bdf, int)} into {@code out}, through the reader's own table reader. */
    static void resolve(DeviceTableReader reader, VtdTableReader vtd, Bdf bdf, int pasid, PasidTranslationBuffer out) {
        if (reader.file().rootPa() == 0) {
            out.fault(pasid, "no root published (table never initialised)");
            return;
        }
        vtd.resolve(bdf, pasid, out);
    }
}
