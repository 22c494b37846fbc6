package org.pkstore.vfio.uapi;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every VFIO ioctl that pkstore models, with its number, the fd it is issued on, how its
 * argument is passed and how big the fixed part is. Numbers are Linux {@code _IO(VFIO_TYPE,
 * VFIO_BASE + nr)} ({@link VfioUapi#vfioIo(int)}); the numbering decisions for the RFC ioctls are
 * in docs/UAPI.md. {@code byNumber} is what an ioctl dispatcher or trace reader uses;
 * {@link #table()} is the listing printed by {@code pkstore ioctls}.
 *
 * <p>Seed 001's {@code VFIO_IOMMU_TLB_INVALIDATE} is deliberately absent: it is superseded by
 * {@link #VFIO_IOMMU_CACHE_INVALIDATE} and gets no number.
 */
public enum VfioIoctl {
    VFIO_GET_API_VERSION(0, FdType.CONTAINER, ArgKind.NONE, 0, 0, Direction.NONE, "-",
            Origin.MAINLINE, "returns VFIO_API_VERSION (0)"),
    VFIO_CHECK_EXTENSION(1, FdType.CONTAINER, ArgKind.SCALAR, 8, 8, Direction.IN, "__u32 extension (by value)",
            Origin.MAINLINE, "returns 1 if the extension is supported, else 0"),
    VFIO_SET_IOMMU(2, FdType.CONTAINER, ArgKind.SCALAR, 8, 8, Direction.IN, "__s32 iommu type (by value)",
            Origin.MAINLINE, "select the IOMMU backend; needs a group in the container"),
    VFIO_GROUP_GET_STATUS(3, FdType.GROUP, ArgKind.ARGSZ_STRUCT, VfioGroupStatus.SIZE, VfioGroupStatus.SIZE,
            Direction.INOUT, "struct vfio_group_status", Origin.MAINLINE, "VIABLE / CONTAINER_SET flags"),
    VFIO_GROUP_SET_CONTAINER(4, FdType.GROUP, ArgKind.FIXED_POINTER, 4, 4, Direction.IN, "__s32 *container_fd",
            Origin.MAINLINE, "attach the group to a container"),
    VFIO_GROUP_UNSET_CONTAINER(5, FdType.GROUP, ArgKind.NONE, 0, 0, Direction.NONE, "-",
            Origin.MAINLINE, "detach the group from its container"),
    VFIO_IOMMU_GET_INFO(12, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1Info.SIZE, VfioIommuType1Info.MINSZ,
            Direction.INOUT, "struct vfio_iommu_type1_info + capability chain", Origin.MAINLINE,
            "page sizes and capability chain (IOVA ranges, DMA avail, nesting)", true),
    VFIO_IOMMU_MAP_DMA(13, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1DmaMap.SIZE,
            VfioIommuType1DmaMap.SIZE, Direction.IN, "struct vfio_iommu_type1_dma_map", Origin.MAINLINE,
            "map vaddr -> iova"),
    VFIO_IOMMU_UNMAP_DMA(14, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1DmaUnmap.SIZE,
            VfioIommuType1DmaUnmap.SIZE, Direction.INOUT, "struct vfio_iommu_type1_dma_unmap", Origin.MAINLINE,
            "unmap; size out = bytes unmapped", true),
    VFIO_IOMMU_PASID_REQUEST(22, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1PasidRequest.SIZE,
            VfioIommuType1PasidRequest.SIZE, Direction.INOUT, "struct vfio_iommu_type1_pasid_request",
            Origin.SEED_003, "allocate / free a PASID"),
    VFIO_IOMMU_BIND(23, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1Bind.SIZE, VfioIommuType1Bind.SIZE,
            Direction.IN, "struct vfio_iommu_type1_bind + iommu_gpasid_bind_data (80)", Origin.SEED_003,
            "bind / unbind guest stage-1 page table to a PASID", true),
    VFIO_IOMMU_CACHE_INVALIDATE(24, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1CacheInvalidate.SIZE,
            VfioIommuType1CacheInvalidate.SIZE, Direction.IN, "struct vfio_iommu_type1_cache_invalidate",
            Origin.SEED_003, "propagate a guest IOMMU cache invalidation"),
    VFIO_IOMMU_GET_VMID(25, FdType.CONTAINER, ArgKind.FIXED_POINTER, 4, 4, Direction.OUT, "__u32 *vmid",
            Origin.SEED_000, "read the container VMID (VFIO_IOMMU_VMID_INVALID until set)"),
    VFIO_IOMMU_SET_VMID(26, FdType.CONTAINER, ArgKind.SCALAR, 8, 8, Direction.IN, "__u32 vmid (by value)",
            Origin.SEED_000, "set the container VMID"),
    VFIO_CONTAINER_SET_PERSISTENT_PGTABLES(27, FdType.CONTAINER, ArgKind.FIXED_POINTER,
            VfioSetPersistentPgtables.SIZE, VfioSetPersistentPgtables.SIZE, Direction.IN,
            "struct vfio_set_persistent_pgtables", Origin.SEED_004,
            "use a pkernfs page-table file for the container's IOMMU domain"),
    VFIO_IOMMU_READ_FAULTS(28, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1FaultRead.SIZE,
            VfioIommuType1FaultRead.SIZE, Direction.INOUT, "struct vfio_iommu_type1_fault_read + iommu_fault[]",
            Origin.PKSTORE, "dequeue fault records", true),
    VFIO_IOMMU_PAGE_RESPONSE(29, FdType.CONTAINER, ArgKind.ARGSZ_STRUCT, VfioIommuType1PageResponse.SIZE,
            VfioIommuType1PageResponse.SIZE, Direction.IN, "struct vfio_iommu_type1_page_response",
            Origin.PKSTORE, "answer a page request fault");

    /** Which kind of fd the ioctl is issued on. */
    public enum FdType {
        /** /dev/vfio/vfio. */
        CONTAINER,
        /** /dev/vfio/$GROUP. */
        GROUP
    }

    /** How the {@code unsigned long arg} of ioctl(2) is used. */
    public enum ArgKind {
        /** Ignored. */
        NONE,
        /** The value itself (8 bytes on x86-64; in a trace: IOCTL flag ARG_IS_SCALAR, arg_len 8). */
        SCALAR,
        /** Pointer to an object of exactly {@link #argSize()} bytes, no argsz field. */
        FIXED_POINTER,
        /** Pointer to a struct starting with {@code __u32 argsz}: the caller says how big it is. */
        ARGSZ_STRUCT
    }

    /** Data direction through the pointer (VFIO's {@code _IO} numbers do not encode it). */
    public enum Direction {
        NONE, IN, OUT, INOUT
    }

    /** Where the ioctl (and its number) comes from. */
    public enum Origin {
        MAINLINE("mainline Linux (ABI)"),
        SEED_000("seed 000: VMID RFC v2 (2021)"),
        SEED_003("seed 003: vSVA RFC v3.1 (2020)"),
        SEED_004("seed 004: pkernfs RFC 13/18 (2024)"),
        PKSTORE("pkstore (no seed)");

        private final String description;

        Origin(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    private final int nr;
    private final int number;
    private final FdType fdType;
    private final ArgKind argKind;
    private final int argSize;
    private final int minArgsz;
    private final Direction direction;
    private final String argType;
    private final Origin origin;
    private final String summary;
    private final boolean variableLength;

    VfioIoctl(int nr, FdType fdType, ArgKind argKind, int argSize, int minArgsz, Direction direction,
              String argType, Origin origin, String summary) {
        this(nr, fdType, argKind, argSize, minArgsz, direction, argType, origin, summary, false);
    }

    VfioIoctl(int nr, FdType fdType, ArgKind argKind, int argSize, int minArgsz, Direction direction,
              String argType, Origin origin, String summary, boolean variableLength) {
        this.nr = nr;
        this.number = VfioUapi.vfioIo(nr);
        this.fdType = fdType;
        this.argKind = argKind;
        this.argSize = argSize;
        this.minArgsz = minArgsz;
        this.direction = direction;
        this.argType = argType;
        this.origin = origin;
        this.summary = summary;
        this.variableLength = variableLength;
    }

    private static final Map<Integer, VfioIoctl> BY_NUMBER;

    static {
        Map<Integer, VfioIoctl> m = new HashMap<>();
        for (VfioIoctl i : values()) {
            VfioIoctl prev = m.put(i.number, i);
            if (prev != null) {
                throw new ExceptionInInitializerError("ioctl number collision: " + prev + " and " + i);
            }
        }
        BY_NUMBER = Collections.unmodifiableMap(m);
    }

    /** The ioctl request number, {@code _IO(VFIO_TYPE, VFIO_BASE + nr)}. */
    public int number() {
        return number;
    }

    /** {@code nr - VFIO_BASE}, i.e. the n in {@code VFIO_BASE + n}. */
    public int baseOffset() {
        return nr;
    }

    public FdType fdType() {
        return fdType;
    }

    public ArgKind argKind() {
        return argKind;
    }

    /**
     * Bytes of the fixed argument: {@code sizeof} the struct (fixed part, for structs with a
     * flexible tail) or of the pointed-to object; 8 for a scalar; 0 for none.
     */
    public int argSize() {
        return argSize;
    }

    /** For ARGSZ_STRUCT: the smallest {@code argsz} accepted (smaller is -EINVAL); else {@link #argSize()}. */
    public int minArgsz() {
        return minArgsz;
    }

    /** True if valid arguments may extend beyond {@link #argSize()} within argsz. */
    public boolean variableLength() {
        return variableLength;
    }

    public Direction direction() {
        return direction;
    }

    /** C type of the argument, for documentation. */
    public String argType() {
        return argType;
    }

    public Origin origin() {
        return origin;
    }

    public String summary() {
        return summary;
    }

    /** The ioctl with this request number, if pkstore models it. */
    public static Optional<VfioIoctl> byNumber(int number) {
        return Optional.ofNullable(BY_NUMBER.get(number));
    }

    /** The ioctl with this C name, if pkstore models it. */
    public static Optional<VfioIoctl> byName(String name) {
        return Arrays.stream(values()).filter(i -> i.name().equals(name)).findFirst();
    }

    /** True if {@code VFIO_BASE + n} is used by a mainline ioctl on the container fd (0-2, 12-21). */
    public static boolean isMainlineContainerNr(int n) {
        return Arrays.stream(VfioUapi.MAINLINE_CONTAINER_NRS).anyMatch(x -> x == n);
    }

    /** "VFIO_IOMMU_MAP_DMA" for a known number, else "ioctl 0x3b99". */
    public static String describe(int number) {
        return byNumber(number).map(Enum::name).orElse("ioctl 0x" + Integer.toHexString(number));
    }

    /** The ioctl table printed by {@code pkstore ioctls}: one line per ioctl, fixed-width columns. */
    public static String table() {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-39s %-9s %-6s %-13s %-13s %5s %6s %-5s %s%n";
        sb.append(String.format(fmt, "NAME", "FD", "NUMBER", "NR", "ARG", "SIZE", "MINSZ", "DIR", "ARGUMENT / ORIGIN"));
        for (VfioIoctl i : values()) {
            sb.append(String.format(fmt, i.name(), i.fdType.name().toLowerCase(),
                    "0x" + Integer.toHexString(i.number), "VFIO_BASE+" + i.nr, i.argKind.name().toLowerCase(),
                    i.argSize + (i.variableLength ? "+" : ""), i.minArgsz, i.direction.name().toLowerCase(),
                    i.argType + "  [" + i.origin.description() + "]"));
        }
        return sb.toString();
    }

    /** Prints {@link #table()}. */
    public static void main(String[] args) {
        System.out.print(table());
    }
}
