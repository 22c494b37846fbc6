package org.pkstore.iommu;

/** VT-d side of {@link DeviceTableReader#pasidTranslation}: what the PASID entry of a device says. */
final class VtdPasidLookup {
    private VtdPasidLookup() {}

    static PasidTranslation resolve(DeviceTableReader reader, Bdf bdf, int pasid) {
        DeviceTableReader.Lookup l = reader.lookup(bdf);
        DeviceEntry e = l.entry();
        if (!e.present()) {
            return PasidTranslation.fault(pasid, l.problem() != null ? l.problem() : "no present context entry");
        }
        if (pasid == PasidTranslation.UNTAGGED) {
            return new PasidTranslation(pasid, e.did(), e.stage2RootPa(), Stage1Format.NONE, 0, null);
        }
        BoundPasidEntry b = reader.boundPasid(e, pasid);
        if (b == null) {
            return PasidTranslation.fault(pasid, "PASID " + pasid + " not present");
        }
        Stage1Format f = b.addrWidth() == 57 ? Stage1Format.VTD_FIRST_LEVEL_5 : Stage1Format.VTD_FIRST_LEVEL_4;
        return new PasidTranslation(pasid, e.did(), e.stage2RootPa(), f, b.gpgd(), null);
    }
}
