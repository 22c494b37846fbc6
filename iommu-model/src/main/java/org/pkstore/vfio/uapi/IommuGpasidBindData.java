package org.pkstore.vfio.uapi;

import java.util.Objects;

/**
 * {@code struct iommu_gpasid_bind_data} (vSVA RFC v3.1, docs/UAPI.md): bind a guest page directory ({@code gpgd}) to
 * host PASID {@code hpasid} (optionally recording guest PASID {@code gpasid}). Payload of
 * {@code VFIO_IOMMU_BIND} with {@code VFIO_IOMMU_BIND_GUEST_PGTBL} / {@code UNBIND_GUEST_PGTBL}.
 * <pre>
 * +--------+------+-----------------------------+---------------------------+
 * | offset | size | type                        | field                     |
 * +--------+------+-----------------------------+---------------------------+
 * |      0 |    4 | __u32                       | version (IOMMU_UAPI_VERSION) |
 * |      4 |    4 | __u32                       | format (IOMMU_PASID_FORMAT_*) |
 * |      8 |    8 | __u64                       | flags (IOMMU_SVA_GPASID_VAL) |
 * |     16 |    8 | __u64                       | gpgd                      |
 * |     24 |    8 | __u64                       | hpasid                    |
 * |     32 |    8 | __u64                       | gpasid                    |
 * |     40 |    4 | __u32                       | addr_width                |
 * |     44 |   12 | __u8[12]                    | padding                   |
 * |     56 |   16 | union { bind_data_vtd vtd } | vtd                       |
 * +--------+------+-----------------------------+---------------------------+  sizeof = 72
 * </pre>
 */
public final class IommuGpasidBindData extends CStruct<IommuGpasidBindData> {
    public static final String C_NAME = "iommu_gpasid_bind_data";
    public static final int OFFSET_VERSION = 0;
    public static final int OFFSET_FORMAT = OFFSET_VERSION + U32;
    public static final int OFFSET_FLAGS = OFFSET_FORMAT + U32;
    public static final int OFFSET_GPGD = OFFSET_FLAGS + U64;
    public static final int OFFSET_HPASID = OFFSET_GPGD + U64;
    public static final int OFFSET_GPASID = OFFSET_HPASID + U64;
    public static final int OFFSET_ADDR_WIDTH = OFFSET_GPASID + U64;
    public static final int OFFSET_PADDING = OFFSET_ADDR_WIDTH + U32;
    public static final int PADDING_LEN = 12;
    public static final int OFFSET_VTD = align(OFFSET_PADDING + PADDING_LEN, U64);
    public static final int SIZE = OFFSET_VTD + IommuGpasidBindDataVtd.SIZE;

    public static final int IOMMU_PASID_FORMAT_INTEL_VTD = 1;
    /**
     * pkstore: an SMMUv3 substream whose CD the guest wrote in its own linear CD table; gpgd is the
     * table's IPA (docs/UAPI.md, BIND rows). 2 = mainline's IOMMU_PASID_FORMAT_LAST, the next free value.
     */
    public static final int IOMMU_PASID_FORMAT_SMMUV3 = 2;
    /** Guest PASID valid. */
    public static final long IOMMU_SVA_GPASID_VAL = 1L << 0;
    /** Every flag bit this model knows; any other bit is -EINVAL. */
    public static final long KNOWN_FLAGS = IOMMU_SVA_GPASID_VAL;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int version() { return u32(OFFSET_VERSION); }
    public IommuGpasidBindData version(int v) { return u32(OFFSET_VERSION, v); }
    public int format() { return u32(OFFSET_FORMAT); }
    public IommuGpasidBindData format(int v) { return u32(OFFSET_FORMAT, v); }
    public long flags() { return u64(OFFSET_FLAGS); }
    public IommuGpasidBindData flags(long v) { return u64(OFFSET_FLAGS, v); }
    public long gpgd() { return u64(OFFSET_GPGD); }
    public IommuGpasidBindData gpgd(long v) { return u64(OFFSET_GPGD, v); }
    public long hpasid() { return u64(OFFSET_HPASID); }
    public IommuGpasidBindData hpasid(long v) { return u64(OFFSET_HPASID, v); }
    public long gpasid() { return u64(OFFSET_GPASID); }
    public IommuGpasidBindData gpasid(long v) { return u64(OFFSET_GPASID, v); }
    public int addrWidth() { return u32(OFFSET_ADDR_WIDTH); }
    public IommuGpasidBindData addrWidth(int v) { return u32(OFFSET_ADDR_WIDTH, v); }
    /** {@code padding[i]}, i in 0..11 (should be zero). */
    public int padding(int i) { return u8(OFFSET_PADDING + Objects.checkIndex(i, PADDING_LEN)); }
    public IommuGpasidBindData padding(int i, int v) { return u8(OFFSET_PADDING + Objects.checkIndex(i, PADDING_LEN), v); }
    public IommuGpasidBindDataVtd vtd() { return nested(new IommuGpasidBindDataVtd(), OFFSET_VTD); }

    @Override
    protected String fields() {
        return "version=" + u(version()) + ", format=" + u(format()) + ", flags=" + x(flags()) + ", gpgd=" + x(gpgd())
                + ", hpasid=" + Long.toUnsignedString(hpasid()) + ", gpasid=" + Long.toUnsignedString(gpasid())
                + ", addr_width=" + u(addrWidth()) + ", vtd={" + vtd().fields() + "}";
    }
}
