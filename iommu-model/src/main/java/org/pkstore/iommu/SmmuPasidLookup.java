package org.pkstore.iommu;

/** SMMUv3 side of {@link DeviceTableReader#pasidTranslation}: the STE and the context descriptor of a substream. */
final class SmmuPasidLookup {
    private SmmuPasidLookup() {}

    static PasidTranslation resolve(DeviceTableReader reader, Bdf bdf, int pasid, NestedMemory memory) {
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
        Stage1Format f = Stage1Format.ARM_LPAE_S1_4K;
        return new PasidTranslation(pasid, e.did(), e.stage2RootPa(), f, b.gpgd(), null);
    }
}
