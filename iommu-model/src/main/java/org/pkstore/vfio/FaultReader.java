package org.pkstore.vfio;

import org.pkstore.iommu.Errno;
import org.pkstore.iommu.FaultQueue;
import org.pkstore.vfio.uapi.IommuFault;
import org.pkstore.vfio.uapi.IommuPageResponse;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.VfioIommuType1FaultRead;
import org.pkstore.vfio.uapi.VfioIommuType1PageResponse;

import java.util.List;

/**
 * The VMM's side of a container's fault queue: VFIO_IOMMU_READ_FAULTS copies queued
 * {@code struct iommu_fault} records out, VFIO_IOMMU_PAGE_RESPONSE answers a page request. The
 * queue itself ({@link FaultQueue}) is the kernel's, filled by the IOMMU units and kept in the
 * mount's fault registry, so it survives kexec; it is destroyed with the container.
 */
final class FaultReader {
    private final VfioKernel kernel;
    private final VfioContainer container;

    FaultReader(VfioKernel kernel, VfioContainer container) {
        this.kernel = kernel;
        this.container = container;
    }

    FaultQueue queue() {
        return kernel.faultQueue(container.id);
    }

    /**
     * READ_FAULTS: up to {@code count} records, oldest first; {@code count} out = returned,
     * {@code pending} = left. The records are consumed (leave the mount's fault registry) only
     * after they were copied into the caller's buffer.
     */
    int read(VfioIommuType1FaultRead arg) {
        long capacity = Integer.toUnsignedLong(arg.count());
        if (Integer.toUnsignedLong(arg.argsz()) < VfioIommuType1FaultRead.SIZE + capacity * IommuFault.SIZE) {
            return -Errno.EINVAL; // argsz must hold count records
        }
        FaultQueue q = queue();
        int n = (int) Math.min(capacity, q.pending());
        if (arg.available() < VfioIommuType1FaultRead.SIZE + (long) n * IommuFault.SIZE) {
            return -Errno.EFAULT;
        }
        // copy out first, consume last: a kill before the take leaves every record queued (delivered
        // again after the boot); once taken, the caller's buffer already holds them (docs/UAPI.md)
        List<byte[]> got = q.peek(n);
        for (int i = 0; i < got.size(); i++) {
            arg.buffer().put(arg.record(i).offset(), got.get(i), 0, IommuFault.SIZE);
        }
        arg.count(got.size());
        kernel.crashPoints.reached("faults:copied");
        q.take(got.size());
        arg.pending(q.pending());
        return 0;
    }

    /** PAGE_RESPONSE: EINVAL without an outstanding page request of that group (and PASID). */
    int respond(VfioIommuType1PageResponse arg) {
        IommuPageResponse resp = arg.resp();
        int flags = resp.flags();
        if (resp.version() != IommuUapi.IOMMU_UAPI_VERSION
                || (flags & ~IommuPageResponse.KNOWN_FLAGS) != 0
                || Integer.compareUnsigned(resp.code(), IommuUapi.IOMMU_PAGE_RESP_FAILURE) > 0) {
            return -Errno.EINVAL;
        }
        boolean withPasid = (flags & IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID) != 0;
        return queue().respond(resp.grpid(), withPasid, resp.pasid()) ? 0 : -Errno.EINVAL;
    }
}
