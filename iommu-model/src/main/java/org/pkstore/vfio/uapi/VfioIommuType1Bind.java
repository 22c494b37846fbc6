package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_bind} (vSVA RFC v3.1, docs/UAPI.md), argument of {@code VFIO_IOMMU_BIND}. The
 * payload in {@code data[]} depends on {@code flags}: for {@link #VFIO_IOMMU_BIND_GUEST_PGTBL} and
 * {@link #VFIO_IOMMU_UNBIND_GUEST_PGTBL} it is a {@code struct iommu_gpasid_bind_data}, so a
 * complete argument is {@link #SIZE_GPASID} = 80 bytes.
 * <pre>
 * +--------+------+-------------------------------+---------------------------+
 * | offset | size | type                          | field                     |
 * +--------+------+-------------------------------+---------------------------+
 * |      0 |    4 | __u32                         | argsz                     |
 * |      4 |    4 | __u32                         | flags                     |
 * |      8 |   72 | __u8[] = iommu_gpasid_bind_data | data                    |
 * +--------+------+-------------------------------+---------------------------+  sizeof = 8 (+ 72)
 * </pre>
 * {@code data[]} is a {@code __u8} array, so the struct's alignment is 4 and the bind data at
 * offset 8 is only as aligned as the buffer; the kernel copies it out with copy_from_user, so this
 * does not affect the ABI.
 */
public final class VfioIommuType1Bind extends CStruct<VfioIommuType1Bind> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_bind";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_DATA = OFFSET_FLAGS + U32;
    public static final int SIZE = OFFSET_DATA;
    /** argsz of a BIND/UNBIND_GUEST_PGTBL request: header plus iommu_gpasid_bind_data. */
    public static final int SIZE_GPASID = SIZE + IommuGpasidBindData.SIZE;

    public static final int VFIO_IOMMU_BIND_GUEST_PGTBL = 1 << 0;
    public static final int VFIO_IOMMU_UNBIND_GUEST_PGTBL = 1 << 1;
    public static final int VFIO_IOMMU_BIND_MASK = VFIO_IOMMU_BIND_GUEST_PGTBL | VFIO_IOMMU_UNBIND_GUEST_PGTBL;
    /**
     * pkstore: the bind_guest_stage RFC's guest-stage configuration carried by this ioctl; {@code data[]} is then a
     * {@code struct iommu_guest_stage_config} ({@link #SIZE_GUEST_STAGE} = 40 bytes in all).
     */
    public static final int VFIO_IOMMU_BIND_GUEST_STAGE = 1 << 2;
    public static final int VFIO_IOMMU_UNBIND_GUEST_STAGE = 1 << 3;
    /** Every flag bit this model knows; any other bit is -EINVAL (exactly one must be set). */
    public static final int KNOWN_FLAGS = VFIO_IOMMU_BIND_MASK | VFIO_IOMMU_BIND_GUEST_STAGE
            | VFIO_IOMMU_UNBIND_GUEST_STAGE;
    /** argsz of a BIND/UNBIND_GUEST_STAGE request: header plus iommu_guest_stage_config. */
    public static final int SIZE_GUEST_STAGE = SIZE + IommuGuestStageConfig.SIZE;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1Bind argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1Bind flags(int v) { return u32(OFFSET_FLAGS, v); }

    /** {@code data} viewed as iommu_gpasid_bind_data; the buffer must hold all 72 bytes. */
    public IommuGpasidBindData gpasidBindData() {
        checkRange(OFFSET_DATA, IommuGpasidBindData.SIZE, "data (iommu_gpasid_bind_data)");
        return nested(new IommuGpasidBindData(), OFFSET_DATA);
    }

    /** {@code data} viewed as iommu_guest_stage_config; the buffer must hold all 32 bytes. */
    public IommuGuestStageConfig guestStageConfig() {
        checkRange(OFFSET_DATA, IommuGuestStageConfig.SIZE, "data (iommu_guest_stage_config)");
        return nested(new IommuGuestStageConfig(), OFFSET_DATA);
    }

    @Override
    protected String fields() {
        String head = "argsz=" + u(argsz()) + ", flags=" + x(flags());
        if ((flags() & (VFIO_IOMMU_BIND_GUEST_STAGE | VFIO_IOMMU_UNBIND_GUEST_STAGE)) != 0) {
            return available() >= SIZE_GUEST_STAGE ? head + ", data={" + guestStageConfig().fields() + "}" : head;
        }
        if (available() >= SIZE_GPASID) {
            return head + ", data={" + gpasidBindData().fields() + "}";
        }
        return head;
    }
}
