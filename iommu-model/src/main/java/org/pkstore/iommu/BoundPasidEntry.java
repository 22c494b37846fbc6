package org.pkstore.iommu;

/**
 * A bound PASID: the {@code iommu_gpasid_bind_data} of VFIO_IOMMU_BIND as it goes into, and comes
 * back out of, the hardware's own structures. It has no layout of its own: VT-d writes it as a
 * nested (PGTT 011b) scalable-mode PASID-table entry ({@link VtdDeviceTable#bindPasid}) and reads
 * it back with {@link VtdTableReader#bindingOf}; an SMMUv3 bound SSID is the guest's context
 * descriptor in guest memory. Decoded from hardware words, {@code gpasidValid}, {@code gpasid},
 * {@code pat} and {@code emt} are 0: no hardware word holds them (the bindings registry does).
 */
public record BoundPasidEntry(int pasid, boolean gpasidValid, int addrWidth, int format, long gpgd, long gpasid,
                              long vtdFlags, int pat, int emt) {}
