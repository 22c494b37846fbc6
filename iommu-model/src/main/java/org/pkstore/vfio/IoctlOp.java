package org.pkstore.vfio;

import org.pkstore.vfio.uapi.CStruct;
import org.pkstore.vfio.uapi.VfioIoctl;

/**
 * One row of the kernel's ioctl table, as Linux iommufd's {@code struct iommufd_ioctl_op}
 * (drivers/iommu/iommufd/main.c, {@code IOCTL_OP(number, handler, struct, last_field)}): the ioctl
 * (number and argument kind, from {@link VfioIoctl}), the layer that answers it, the argument's
 * flyweight, the smallest argument accepted ({@code offsetofend} of the last mandatory member), the
 * flag bits the handler understands, and the handler, which receives the typed flyweight over the
 * kernel's copy of the argument. {@link IoctlTable#dispatch} does everything the rows share.
 *
 * @param <T> what the fd is ({@link VfioContainer} or {@link VfioGroup})
 * @param <S> the argument's flyweight (unused for by-value and argument-less ioctls)
 */
final class IoctlOp<T, S extends CStruct<S>> {
    /** Who answers: the VFIO core of the fd (any time), or the container's IOMMU driver (after SET_IOMMU). */
    enum Layer { CORE, DRIVER }

    /** Handler of an ioctl whose argument is a value (or nothing). */
    interface ValueHandler<T> {
        long execute(T target, long value);
    }

    /** Handler of an ioctl whose argument is a pointer to {@code S}. */
    interface StructHandler<T, S> {
        long execute(T target, S arg);
    }

    /** {@link #knownFlags} of an argument whose flags are output only (or that has none): not checked. */
    static final int ANY_FLAGS = -1;

    final VfioIoctl ioctl;
    final Layer layer;
    final S arg;
    final int minSize;
    final int knownFlags;
    final ValueHandler<T> valueHandler;
    final StructHandler<T, S> structHandler;

    private IoctlOp(VfioIoctl ioctl, Layer layer, S arg, int minSize, int knownFlags, ValueHandler<T> valueHandler,
                    StructHandler<T, S> structHandler) {
        this.ioctl = ioctl;
        this.layer = layer;
        this.arg = arg;
        this.minSize = minSize;
        this.knownFlags = knownFlags;
        this.valueHandler = valueHandler;
        this.structHandler = structHandler;
    }

    /** A by-value ioctl (VfioIoctl.ArgKind SCALAR or NONE). */
    static <T> IoctlOp<T, ?> value(VfioIoctl ioctl, Layer layer, ValueHandler<T> handler) {
        if (ioctl.argKind() != VfioIoctl.ArgKind.SCALAR && ioctl.argKind() != VfioIoctl.ArgKind.NONE) {
            throw new IllegalArgumentException(ioctl + " takes a pointer");
        }
        return new IoctlOp<T, NoArgument>(ioctl, layer, null, 0, ANY_FLAGS, handler, null);
    }

    /**
     * A pointer ioctl: {@code flyweight} is this row's one view of the argument (ioctls are
     * serialised), {@code minSize} the smallest buffer and argsz accepted, {@code knownFlags} the
     * flag bits understood (argsz structs only; {@link #ANY_FLAGS} to skip the check).
     */
    static <T, S extends CStruct<S>> IoctlOp<T, S> struct(VfioIoctl ioctl, Layer layer, S flyweight, int minSize,
                                                        int knownFlags, StructHandler<T, S> handler) {
        if (ioctl.argKind() != VfioIoctl.ArgKind.FIXED_POINTER && ioctl.argKind() != VfioIoctl.ArgKind.ARGSZ_STRUCT) {
            throw new IllegalArgumentException(ioctl + " does not take a pointer");
        }
        if (minSize != ioctl.minArgsz()) {
            throw new IllegalArgumentException(ioctl + ": minimum size " + minSize + ", the uAPI listing says "
                    + ioctl.minArgsz());
        }
        return new IoctlOp<>(ioctl, layer, flyweight, minSize, knownFlags, null, handler);
    }

    boolean byValue() {
        return valueHandler != null;
    }

    boolean hasArgsz() {
        return ioctl.argKind() == VfioIoctl.ArgKind.ARGSZ_STRUCT;
    }

    /** True when the kernel writes the argument back (copy_to_user) on success. */
    boolean copiesOut() {
        return ioctl.direction() == VfioIoctl.Direction.OUT || ioctl.direction() == VfioIoctl.Direction.INOUT;
    }

    /** Placeholder type argument of by-value rows (never instantiated). */
    abstract static class NoArgument extends CStruct<NoArgument> {
        private NoArgument() {}
    }
}
