package org.pkstore.vfio;

import org.pkstore.iommu.Errno;
import org.pkstore.vfio.IoctlOp.Layer;
import org.pkstore.vfio.uapi.ArgszStruct;
import org.pkstore.vfio.uapi.CStruct;
import org.pkstore.vfio.uapi.UserU32;
import org.pkstore.vfio.uapi.VfioGroupStatus;
import org.pkstore.vfio.uapi.VfioIoctl;
import org.pkstore.vfio.uapi.VfioIommuType1Bind;
import org.pkstore.vfio.uapi.VfioIommuType1CacheInvalidate;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;
import org.pkstore.vfio.uapi.VfioIommuType1FaultRead;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1PageResponse;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel's ioctl table and its one dispatcher, in the shape of Linux iommufd
 * (drivers/iommu/iommufd/main.c: {@code iommufd_ioctl_ops[]} built with {@code IOCTL_OP()}, and
 * {@code iommufd_fops_ioctl}, which copies the argument in, checks its size against the row's
 * {@code min_size} and calls the row's handler). Each ioctl is declared once, in {@link #CONTAINER}
 * or {@link #GROUP} below; docs/UAPI.md (section 1 and "Container model behaviour") is its prose.
 *
 * <p>What every row shares, in this order (the errnos of docs/UAPI.md, section 4):
 * <ol>
 *   <li>a container without an IOMMU driver answers -EINVAL to anything its core does not handle,
 *       known number or not (vfio_fops_unl_ioctl); an unknown number is -ENOTTY (type1's default,
 *       and a group's);</li>
 *   <li>a by-value argument is the scalar, or the little-endian value of the bytes given;</li>
 *   <li>a pointer argument: a value given instead, or fewer bytes than the minimum, is -EFAULT
 *       (copy_from_user fails); otherwise the bytes are copied into the kernel's buffer;</li>
 *   <li>an argsz struct: {@code argsz} below the minimum, or a flag bit the row does not know, is
 *       -EINVAL;</li>
 *   <li>the handler runs on the kernel's copy through the row's flyweight; on success, an
 *       out/in-out argument is copied back (copy_to_user), on failure nothing is.</li>
 * </ol>
 * Not thread-safe: {@link VfioKernel} serialises ioctls, which lets each row keep one flyweight and
 * the table one kernel buffer (nothing is allocated per call once the buffer has grown).
 */
final class IoctlTable {
    private final Map<Integer, IoctlOp<VfioContainer, ?>> containerOps = new HashMap<>();
    private final Map<Integer, IoctlOp<VfioGroup, ?>> groupOps = new HashMap<>();
    private byte[] kernelCopy = new byte[256];
    private ByteBuffer kernelBuffer = ByteBuffer.wrap(kernelCopy).order(ByteOrder.LITTLE_ENDIAN);
    /** Bytes the caller passed in the current call (the kernel copy is zero-padded to the struct's size). */
    private int userLength;

    IoctlTable(VfioKernel kernel) {
        // in record mode the reattach rows answer from the preserved record (RecordReattach)
        RecordReattach record = kernel.reattach;
        List<IoctlOp<VfioContainer, ?>> container = List.of(
                IoctlOp.value(VfioIoctl.VFIO_GET_API_VERSION, Layer.CORE, (c, v) -> 0), // VFIO_API_VERSION
                IoctlOp.value(VfioIoctl.VFIO_CHECK_EXTENSION, Layer.CORE, (c, v) -> VfioContainer.checkExtension(v)),
                IoctlOp.value(VfioIoctl.VFIO_SET_IOMMU, Layer.CORE,
                        (c, v) -> record.active() ? record.setIommu(c, v) : c.setIommu(v)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_GET_VMID, Layer.CORE, new UserU32(), UserU32.SIZE,
                        IoctlOp.ANY_FLAGS, VfioContainer::getVmid),
                IoctlOp.value(VfioIoctl.VFIO_IOMMU_SET_VMID, Layer.CORE, VfioContainer::setVmid),
                IoctlOp.struct(VfioIoctl.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, Layer.CORE,
                        new VfioSetPersistentPgtables(), VfioSetPersistentPgtables.SIZE, IoctlOp.ANY_FLAGS,
                        (c, a) -> record.active() ? record.setPersistentPgtables(c, a) : c.setPersistentPgtables(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_GET_INFO, Layer.DRIVER, new VfioIommuType1Info(),
                        VfioIommuType1Info.MINSZ, IoctlOp.ANY_FLAGS, (c, a) -> c.getInfo(a, userLength)),
                // VADDR is not offered (VFIO_UPDATE_VADDR unsupported): docs/UAPI.md, "Deviations", MAP_DMA
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_MAP_DMA, Layer.DRIVER, new VfioIommuType1DmaMap(),
                        VfioIommuType1DmaMap.SIZE,
                        VfioIommuType1DmaMap.KNOWN_FLAGS & ~VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_VADDR,
                        (c, a) -> record.active() ? record.mapDma(c, a) : c.dma.map(a)),
                // dirty tracking and VADDR are not modelled: docs/UAPI.md, section 4, UNMAP_DMA
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_UNMAP_DMA, Layer.DRIVER, new VfioIommuType1DmaUnmap(),
                        VfioIommuType1DmaUnmap.SIZE, VfioIommuType1DmaUnmap.VFIO_DMA_UNMAP_FLAG_ALL,
                        (c, a) -> c.dma.unmap(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_PASID_REQUEST, Layer.DRIVER, new VfioIommuType1PasidRequest(),
                        VfioIommuType1PasidRequest.SIZE, VfioIommuType1PasidRequest.KNOWN_FLAGS,
                        (c, a) -> c.pasids.request(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_BIND, Layer.DRIVER, new VfioIommuType1Bind(),
                        VfioIommuType1Bind.SIZE, VfioIommuType1Bind.KNOWN_FLAGS, (c, a) -> c.pasids.bind(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_CACHE_INVALIDATE, Layer.DRIVER,
                        new VfioIommuType1CacheInvalidate(), VfioIommuType1CacheInvalidate.SIZE,
                        VfioIommuType1CacheInvalidate.KNOWN_FLAGS, (c, a) -> c.pasids.invalidate(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_READ_FAULTS, Layer.DRIVER, new VfioIommuType1FaultRead(),
                        VfioIommuType1FaultRead.SIZE, VfioIommuType1FaultRead.KNOWN_FLAGS,
                        (c, a) -> record.active() ? record.readFaults(c, a) : c.faultReader.read(a)),
                IoctlOp.struct(VfioIoctl.VFIO_IOMMU_PAGE_RESPONSE, Layer.DRIVER, new VfioIommuType1PageResponse(),
                        VfioIommuType1PageResponse.SIZE, VfioIommuType1PageResponse.KNOWN_FLAGS,
                        (c, a) -> c.faultReader.respond(a)));
        List<IoctlOp<VfioGroup, ?>> group = List.of(
                IoctlOp.struct(VfioIoctl.VFIO_GROUP_GET_STATUS, Layer.CORE, new VfioGroupStatus(), VfioGroupStatus.SIZE,
                        IoctlOp.ANY_FLAGS, VfioGroup::status),
                IoctlOp.struct(VfioIoctl.VFIO_GROUP_SET_CONTAINER, Layer.CORE, new UserU32(), UserU32.SIZE,
                        IoctlOp.ANY_FLAGS, (g, a) -> record.active() ? record.setContainer(g, a) : kernel.setContainer(g, a)),
                IoctlOp.value(VfioIoctl.VFIO_GROUP_UNSET_CONTAINER, Layer.CORE, (g, v) -> g.unsetContainer()));
        for (IoctlOp<VfioContainer, ?> op : container) {
            add(containerOps, op, VfioIoctl.FdType.CONTAINER);
        }
        for (IoctlOp<VfioGroup, ?> op : group) {
            add(groupOps, op, VfioIoctl.FdType.GROUP);
        }
    }

    private static <T> void add(Map<Integer, IoctlOp<T, ?>> ops, IoctlOp<T, ?> op, VfioIoctl.FdType fdType) {
        if (op.ioctl.fdType() != fdType || ops.put(op.ioctl.number(), op) != null) {
            throw new IllegalStateException("ioctl table: " + op.ioctl + " misplaced or declared twice");
        }
    }

    /** The ioctls the table answers on a fd of this type (for tests and listings). */
    List<VfioIoctl> declared(VfioIoctl.FdType fdType) {
        Map<Integer, ? extends IoctlOp<?, ?>> ops = fdType == VfioIoctl.FdType.CONTAINER ? containerOps : groupOps;
        return ops.values().stream().map(op -> op.ioctl).sorted().toList();
    }

    /** ioctl(2) on an open file: the result or -errno. */
    long dispatch(Object file, int request, byte[] user, long scalar, boolean byValue) {
        if (file instanceof VfioContainer) {
            VfioContainer c = (VfioContainer) file;
            IoctlOp<VfioContainer, ?> op = containerOps.get(request);
            if (op == null || op.layer == Layer.DRIVER) {
                if (c.iommuType == 0) {
                    return -Errno.EINVAL; // no driver: container.c's default, known number or not
                }
                if (op == null) {
                    return -Errno.ENOTTY; // type1's default
                }
            }
            return run(op, c, user, scalar, byValue);
        }
        if (file instanceof VfioGroup) {
            IoctlOp<VfioGroup, ?> op = groupOps.get(request);
            return op == null ? -Errno.ENOTTY : run(op, (VfioGroup) file, user, scalar, byValue);
        }
        return -Errno.ENOTTY; // a page-table file has no ioctls
    }

    private <T, S extends CStruct<S>> long run(IoctlOp<T, S> op, T target, byte[] user, long scalar, boolean byValue) {
        if (op.byValue()) {
            return op.valueHandler.execute(target, byValue ? scalar : valueOf(user));
        }
        if (byValue || user == null || user.length < op.minSize) {
            return -Errno.EFAULT; // a value is not a user pointer; or copy_from_user runs off the buffer
        }
        S arg = op.arg.wrapLe(copyIn(user, op.arg.size()), 0);
        if (op.hasArgsz()) {
            ArgszStruct head = (ArgszStruct) arg;
            if (Integer.compareUnsigned(head.argsz(), op.minSize) < 0) {
                return -Errno.EINVAL;
            }
            if (op.knownFlags != IoctlOp.ANY_FLAGS && (head.flags() & ~op.knownFlags) != 0) {
                return -Errno.EINVAL;
            }
        }
        long r = op.structHandler.execute(target, arg);
        if (r >= 0 && op.copiesOut()) {
            System.arraycopy(kernelCopy, 0, user, 0, user.length); // copy_to_user
        }
        return r;
    }

    /**
     * copy_from_user of the whole user buffer into the kernel's (grown when needed, never shrunk),
     * zero-filled up to {@code structSize} when the caller passed less (as copy_struct_from_user).
     */
    private ByteBuffer copyIn(byte[] user, int structSize) {
        int length = Math.max(user.length, structSize);
        if (length > kernelCopy.length) {
            kernelCopy = new byte[Math.max(length, 2 * kernelCopy.length)];
            kernelBuffer = ByteBuffer.wrap(kernelCopy).order(ByteOrder.LITTLE_ENDIAN);
        }
        System.arraycopy(user, 0, kernelCopy, 0, user.length);
        Arrays.fill(kernelCopy, user.length, length, (byte) 0);
        userLength = user.length;
        kernelBuffer.clear().limit(length);
        return kernelBuffer;
    }

    /** A by-value argument passed through the pointer path: the little-endian value of the bytes. */
    private static long valueOf(byte[] arg) {
        if (arg == null) {
            return 0;
        }
        long v = 0;
        for (int i = Math.min(arg.length, 8) - 1; i >= 0; i--) {
            v = v << 8 | (arg[i] & 0xFF);
        }
        return v;
    }
}
