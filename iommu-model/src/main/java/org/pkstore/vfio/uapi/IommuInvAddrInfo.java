package org.pkstore.vfio.uapi;

/**
 * {@code struct iommu_inv_addr_info} (vSVA RFC v3.1, docs/UAPI.md): address-selective invalidation, the
 * {@code addr_info} arm of {@code iommu_cache_invalidate_info}. Invalidates
 * {@code nb_granules * granule_size} bytes from {@code addr}.
 * <pre>
 * +--------+------+-------+---------------------------+
 * | offset | size | type  | field                     |
 * +--------+------+-------+---------------------------+
 * |      0 |    4 | __u32 | flags (PASID, ARCHID, LEAF)|
 * |      4 |    4 | __u32 | archid                    |
 * |      8 |    8 | __u64 | pasid                     |
 * |     16 |    8 | __u64 | addr                      |
 * |     24 |    8 | __u64 | granule_size              |
 * |     32 |    8 | __u64 | nb_granules               |
 * +--------+------+-------+---------------------------+  sizeof = 40
 * </pre>
 */
public final class IommuInvAddrInfo extends CStruct<IommuInvAddrInfo> {
    public static final String C_NAME = "iommu_inv_addr_info";
    public static final int OFFSET_FLAGS = 0;
    public static final int OFFSET_ARCHID = OFFSET_FLAGS + U32;
    public static final int OFFSET_PASID = OFFSET_ARCHID + U32;
    public static final int OFFSET_ADDR = OFFSET_PASID + U64;
    public static final int OFFSET_GRANULE_SIZE = OFFSET_ADDR + U64;
    public static final int OFFSET_NB_GRANULES = OFFSET_GRANULE_SIZE + U64;
    public static final int SIZE = OFFSET_NB_GRANULES + U64;

    public static final int IOMMU_INV_ADDR_FLAGS_PASID = 1 << 0;
    public static final int IOMMU_INV_ADDR_FLAGS_ARCHID = 1 << 1;
    /** Only leaf PTE caching needs invalidating; paging-structure caches may be kept. */
    public static final int IOMMU_INV_ADDR_FLAGS_LEAF = 1 << 2;
    public static final int KNOWN_FLAGS = IOMMU_INV_ADDR_FLAGS_PASID | IOMMU_INV_ADDR_FLAGS_ARCHID
            | IOMMU_INV_ADDR_FLAGS_LEAF;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int flags() { return u32(OFFSET_FLAGS); }
    public IommuInvAddrInfo flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int archid() { return u32(OFFSET_ARCHID); }
    public IommuInvAddrInfo archid(int v) { return u32(OFFSET_ARCHID, v); }
    public long pasid() { return u64(OFFSET_PASID); }
    public IommuInvAddrInfo pasid(long v) { return u64(OFFSET_PASID, v); }
    public long addr() { return u64(OFFSET_ADDR); }
    public IommuInvAddrInfo addr(long v) { return u64(OFFSET_ADDR, v); }
    public long granuleSize() { return u64(OFFSET_GRANULE_SIZE); }
    public IommuInvAddrInfo granuleSize(long v) { return u64(OFFSET_GRANULE_SIZE, v); }
    public long nbGranules() { return u64(OFFSET_NB_GRANULES); }
    public IommuInvAddrInfo nbGranules(long v) { return u64(OFFSET_NB_GRANULES, v); }

    @Override
    protected String fields() {
        return "flags=" + x(flags()) + ", archid=" + u(archid()) + ", pasid=" + Long.toUnsignedString(pasid())
                + ", addr=" + x(addr()) + ", granule_size=" + x(granuleSize())
                + ", nb_granules=" + Long.toUnsignedString(nbGranules());
    }
}
