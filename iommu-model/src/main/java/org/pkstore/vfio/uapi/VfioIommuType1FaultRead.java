package org.pkstore.vfio.uapi;

/**
 * {@code struct vfio_iommu_type1_fault_read} (pkstore addition; no seed defines fault delivery),
 * argument of {@code VFIO_IOMMU_READ_FAULTS}: dequeue up to {@code count} fault records. The
 * caller sets {@code argsz} (at least {@code sizeFor(count)}), {@code flags} = 0 and {@code count}
 * = capacity; the kernel writes the records, sets {@code count} to the number returned and
 * {@code pending} to how many are still queued.
 * <pre>
 * +--------+------+---------------+---------------------------------------------+
 * | offset | size | type          | field                                       |
 * +--------+------+---------------+---------------------------------------------+
 * |      0 |    4 | __u32         | argsz                                       |
 * |      4 |    4 | __u32         | flags (must be 0)                           |
 * |      8 |    4 | __u32         | count (in: capacity; out: records returned) |
 * |     12 |    4 | __u32         | pending (out: still queued)                 |
 * |     16 | 64*n | iommu_fault[] | records                                     |
 * +--------+------+---------------+---------------------------------------------+  sizeof = 16 (+ 64 per record)
 * </pre>
 */
public final class VfioIommuType1FaultRead extends CStruct<VfioIommuType1FaultRead> implements ArgszStruct {
    public static final String C_NAME = "vfio_iommu_type1_fault_read";
    public static final int OFFSET_ARGSZ = 0;
    public static final int OFFSET_FLAGS = OFFSET_ARGSZ + U32;
    public static final int OFFSET_COUNT = OFFSET_FLAGS + U32;
    public static final int OFFSET_PENDING = OFFSET_COUNT + U32;
    public static final int OFFSET_RECORDS = OFFSET_PENDING + U32;
    public static final int SIZE = OFFSET_RECORDS;

    /** Bytes of an argument with room for {@code count} records. */
    public static int sizeFor(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("count " + count);
        }
        return Math.addExact(SIZE, Math.multiplyExact(count, IommuFault.SIZE));
    }

    /** No flag is defined: any bit is -EINVAL. */
    public static final int KNOWN_FLAGS = 0;

    @Override public int size() { return SIZE; }
    @Override public String cName() { return C_NAME; }

    public int argsz() { return u32(OFFSET_ARGSZ); }
    public VfioIommuType1FaultRead argsz(int v) { return u32(OFFSET_ARGSZ, v); }
    public int flags() { return u32(OFFSET_FLAGS); }
    public VfioIommuType1FaultRead flags(int v) { return u32(OFFSET_FLAGS, v); }
    public int count() { return u32(OFFSET_COUNT); }
    public VfioIommuType1FaultRead count(int v) { return u32(OFFSET_COUNT, v); }
    public int pending() { return u32(OFFSET_PENDING); }
    public VfioIommuType1FaultRead pending(int v) { return u32(OFFSET_PENDING, v); }

    /** {@code records[i]}; checked against the wrapped buffer. */
    public IommuFault record(int i) {
        int rel = OFFSET_RECORDS + Math.multiplyExact(i, IommuFault.SIZE);
        checkRange(rel, IommuFault.SIZE, "records[" + i + "]");
        return nested(new IommuFault(), rel);
    }

    @Override
    protected String fields() {
        return "argsz=" + u(argsz()) + ", flags=" + x(flags()) + ", count=" + u(count()) + ", pending=" + u(pending());
    }
}
