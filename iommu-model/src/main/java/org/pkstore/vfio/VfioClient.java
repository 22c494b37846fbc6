package org.pkstore.vfio;

import org.pkstore.iommu.Errno;
import org.pkstore.vfio.uapi.IommuCacheInvalidateInfo;
import org.pkstore.vfio.uapi.IommuGpasidBindData;
import org.pkstore.vfio.uapi.IommuGuestStageConfig;
import org.pkstore.vfio.uapi.IommuInvAddrInfo;
import org.pkstore.vfio.uapi.IommuInvPasidInfo;
import org.pkstore.vfio.uapi.IommuPageResponse;
import org.pkstore.vfio.uapi.IommuPasidTableConfig;
import org.pkstore.vfio.uapi.IommuUapi;
import org.pkstore.vfio.uapi.VfioGroupStatus;
import org.pkstore.vfio.uapi.VfioInfoCapHeader;
import org.pkstore.vfio.uapi.VfioIommuType1Bind;
import org.pkstore.vfio.uapi.VfioIommuType1CacheInvalidate;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;
import org.pkstore.vfio.uapi.VfioIommuType1DmaUnmap;
import org.pkstore.vfio.uapi.VfioIommuType1FaultRead;
import org.pkstore.vfio.uapi.VfioIommuType1Info;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapIovaRange;
import org.pkstore.vfio.uapi.VfioIommuType1InfoCapNesting;
import org.pkstore.vfio.uapi.VfioIommuType1InfoDmaAvail;
import org.pkstore.vfio.uapi.VfioIommuType1PageResponse;
import org.pkstore.vfio.uapi.VfioIommuType1PasidRequest;
import org.pkstore.vfio.uapi.VfioIovaRange;
import org.pkstore.vfio.uapi.VfioSetPersistentPgtables;
import org.pkstore.vfio.uapi.UserU32;
import org.pkstore.vfio.uapi.VfioUapi;

import java.util.ArrayList;
import java.util.List;

/**
 * The VMM's typed view of VFIO: each method builds the C struct with the UAPI flyweights and
 * goes through {@link VfioKernel#ioctl} exactly as raw bytes would (one code path), then decodes
 * what the kernel wrote back. Return values are the ioctl's (0 or -errno) unless a record says
 * otherwise.
 */
public final class VfioClient {
    /** GET_INFO decoded: flags, page sizes and the capabilities found in the chain. */
    public record IommuInfo(int ret, int argsz, int flags, long iovaPgsizes, int capOffset, long iovaStart, long iovaEnd,
                            int dmaAvail, int nestingCapabilities, int stage1Format) {}

    public record Unmapped(int ret, long size) {}

    public record Pasid(int ret, int pasid) {}

    public record Vmid(int ret, int vmid) {}

    public record Faults(int ret, List<byte[]> faults, int pending) {}

    public record GroupStatus(int ret, int flags) {}

    private final VfioKernel kernel;

    public VfioClient(VfioKernel kernel) {
        this.kernel = kernel;
    }

    public VfioKernel kernel() { return kernel; }

    public int openContainer() { return kernel.openContainer(); }
    public int openGroup(int groupId) { return kernel.openGroup(groupId); }
    public int openPageTableFile(String name, boolean create) { return kernel.openPageTableFile(name, create); }
    public int close(int fd) { return kernel.close(fd); }
    public int mapGuestMemory(long vaddr, long size, String name) { return kernel.mapGuestMemory(vaddr, size, name); }

    public int apiVersion(int containerFd) {
        return (int) kernel.ioctl(containerFd, VfioKernel.VFIO_GET_API_VERSION, 0L);
    }

    public long checkExtension(int containerFd, int extension) {
        return kernel.ioctl(containerFd, VfioKernel.VFIO_CHECK_EXTENSION, extension);
    }

    public int setIommu(int containerFd, int type) {
        return (int) kernel.ioctl(containerFd, VfioKernel.VFIO_SET_IOMMU, type);
    }

    public int setContainer(int groupFd, int containerFd) {
        byte[] a = new byte[UserU32.SIZE];
        new UserU32().wrap(a, 0).value(containerFd);
        return kernel.ioctl(groupFd, VfioKernel.VFIO_GROUP_SET_CONTAINER, a);
    }

    public int unsetContainer(int groupFd) {
        return (int) kernel.ioctl(groupFd, VfioKernel.VFIO_GROUP_UNSET_CONTAINER, 0L);
    }

    public GroupStatus groupStatus(int groupFd) {
        byte[] a = new byte[VfioGroupStatus.SIZE];
        VfioGroupStatus s = new VfioGroupStatus().wrap(a, 0).argsz(VfioGroupStatus.SIZE);
        int r = kernel.ioctl(groupFd, VfioKernel.VFIO_GROUP_GET_STATUS, a);
        return new GroupStatus(r, s.flags());
    }

    /** GET_INFO with a buffer big enough for every capability this model reports. */
    public IommuInfo getInfo(int containerFd) {
        return getInfo(containerFd, 256);
    }

    public IommuInfo getInfo(int containerFd, int argsz) {
        byte[] a = new byte[Math.max(argsz, VfioIommuType1Info.SIZE)];
        VfioIommuType1Info info = new VfioIommuType1Info().wrap(a, 0).argsz(argsz);
        int r = kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_GET_INFO, a);
        long start = -1;
        long end = -1;
        int avail = -1;
        int nestCaps = -1;
        int s1fmt = -1;
        int off = r == 0 ? info.capOffset() : 0;
        for (int hops = 0; off != 0 && off + VfioInfoCapHeader.SIZE <= a.length && hops < 16; hops++) {
            VfioInfoCapHeader header = info.capAt(off);
            int id = header.id();
            if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
                VfioIovaRange range = new VfioIommuType1InfoCapIovaRange().wrap(a, off).iovaRange(0);
                start = range.start();
                end = range.end();
            } else if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
                avail = new VfioIommuType1InfoDmaAvail().wrap(a, off).avail();
            } else if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING) {
                VfioIommuType1InfoCapNesting nesting = new VfioIommuType1InfoCapNesting().wrap(a, off);
                nestCaps = nesting.nestingCapabilities();
                s1fmt = nesting.stage1Format();
            }
            off = header.next();
        }
        return new IommuInfo(r, info.argsz(), info.flags(), info.iovaPgsizes(), info.capOffset(), start, end, avail,
                nestCaps, s1fmt);
    }

    /** MAP_DMA with {@code flags} (VFIO_DMA_MAP_FLAG_*). */
    public int mapDma(int containerFd, long vaddr, long iova, long size, int flags) {
        byte[] a = new byte[VfioIommuType1DmaMap.SIZE];
        new VfioIommuType1DmaMap().wrap(a, 0).argsz(VfioIommuType1DmaMap.SIZE).flags(flags).vaddr(vaddr).iova(iova)
                .mapSize(size);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_MAP_DMA, a);
    }

    public int mapDma(int containerFd, long vaddr, long iova, long size) {
        return mapDma(containerFd, vaddr, iova, size,
                VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE);
    }

    /** MAP_DMA with LIVE_UPDATE: re-establish a mapping the tables already hold (after kexec). */
    public int liveUpdateMapDma(int containerFd, long vaddr, long iova, long size, int flags) {
        return mapDma(containerFd, vaddr, iova, size, flags | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_LIVE_UPDATE);
    }

    public Unmapped unmapDma(int containerFd, long iova, long size, int flags) {
        byte[] a = new byte[VfioIommuType1DmaUnmap.SIZE];
        VfioIommuType1DmaUnmap u = new VfioIommuType1DmaUnmap().wrap(a, 0).argsz(VfioIommuType1DmaUnmap.SIZE)
                .flags(flags).iova(iova).unmapSize(size);
        int r = kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_UNMAP_DMA, a);
        return new Unmapped(r, u.unmapSize());
    }

    public Unmapped unmapDma(int containerFd, long iova, long size) {
        return unmapDma(containerFd, iova, size, 0);
    }

    public Vmid getVmid(int containerFd) {
        byte[] a = new byte[UserU32.SIZE];
        UserU32 vmid = new UserU32().wrap(a, 0);
        int r = kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_GET_VMID, a);
        return new Vmid(r, vmid.value());
    }

    public int setVmid(int containerFd, int vmid) {
        return (int) kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_SET_VMID, Integer.toUnsignedLong(vmid));
    }

    public int setPersistentPgtables(int containerFd, int pgtableFd) {
        byte[] a = new byte[VfioSetPersistentPgtables.SIZE];
        new VfioSetPersistentPgtables().wrap(a, 0).persistentPgtablesFd(pgtableFd);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, a);
    }

    public Pasid allocPasid(int containerFd, int min, int max) {
        byte[] a = new byte[VfioIommuType1PasidRequest.SIZE];
        VfioIommuType1PasidRequest p = new VfioIommuType1PasidRequest().wrap(a, 0).argsz(VfioIommuType1PasidRequest.SIZE)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC).allocMin(min).allocMax(max);
        int r = kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PASID_REQUEST, a);
        return new Pasid(r, r == 0 ? p.allocResult() : -1);
    }

    public int freePasid(int containerFd, int pasid) {
        byte[] a = new byte[VfioIommuType1PasidRequest.SIZE];
        new VfioIommuType1PasidRequest().wrap(a, 0).argsz(VfioIommuType1PasidRequest.SIZE)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_FREE).freePasid(pasid);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PASID_REQUEST, a);
    }

    /** VFIO_IOMMU_BIND / UNBIND of a guest page table to {@code hpasid} (VT-d format, UAPI v1). */
    public int bindGuestPgtbl(int containerFd, boolean bind, long hpasid, long gpgd, long gpasid, boolean gpasidValid,
                              int addrWidth, long vtdFlags, int pat, int emt) {
        int size = VfioIommuType1Bind.SIZE_GPASID;
        byte[] a = new byte[size];
        VfioIommuType1Bind b = new VfioIommuType1Bind().wrap(a, 0).argsz(size)
                .flags(bind ? VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL : VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_PGTBL);
        IommuGpasidBindData d = b.gpasidBindData().version(IommuUapi.IOMMU_UAPI_VERSION)
                .format(IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD)
                .flags(gpasidValid ? IommuGpasidBindData.IOMMU_SVA_GPASID_VAL : 0).gpgd(gpgd)
                .hpasid(hpasid).gpasid(gpasid).addrWidth(addrWidth);
        d.vtd().flags(vtdFlags).pat(pat).emt(emt);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    /**
     * SMMUv3 gpasid BIND / UNBIND (format IOMMU_PASID_FORMAT_SMMUV3, docs/UAPI.md BIND rows): the guest
     * wrote the CD of SSID {@code hpasid} in its linear CD table at IPA {@code cdTableIpa}.
     */
    public int bindSmmuCdTable(int containerFd, boolean bind, long hpasid, long cdTableIpa, long gpasid) {
        int size = VfioIommuType1Bind.SIZE_GPASID;
        byte[] a = new byte[size];
        VfioIommuType1Bind b = new VfioIommuType1Bind().wrap(a, 0).argsz(size)
                .flags(bind ? VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_PGTBL : VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_PGTBL);
        b.gpasidBindData().version(IommuUapi.IOMMU_UAPI_VERSION).format(IommuGpasidBindData.IOMMU_PASID_FORMAT_SMMUV3)
                .flags(IommuGpasidBindData.IOMMU_SVA_GPASID_VAL).gpgd(cdTableIpa).hpasid(hpasid).gpasid(gpasid);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    /** Seed 002 guest-stage configuration, PASID-table kind (VT-d): BIND with VFIO_IOMMU_BIND_GUEST_STAGE. */
    public int bindGuestStagePasidTable(int containerFd, long basePtr, int pasidBits) {
        byte[] a = guestStageArg(VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_STAGE);
        IommuGuestStageConfig c = new VfioIommuType1Bind().wrap(a, 0).guestStageConfig()
                .flags(IommuGuestStageConfig.PASID_TABLE);
        c.pasidt().version(IommuPasidTableConfig.PASID_TABLE_CFG_VERSION_1).bytes(IommuPasidTableConfig.SIZE)
                .basePtr(basePtr).pasidBits(pasidBits);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    /** Seed 002 guest-stage configuration, SMMUv3 stage-1 kind. */
    public int bindGuestStageSmmu(int containerFd, long cdptr, boolean disabled, boolean bypassed, boolean aborted) {
        byte[] a = guestStageArg(VfioIommuType1Bind.VFIO_IOMMU_BIND_GUEST_STAGE);
        IommuGuestStageConfig c = new VfioIommuType1Bind().wrap(a, 0).guestStageConfig()
                .flags(IommuGuestStageConfig.SMMUV3_S1_CFG);
        c.smmuS1().disabled(disabled ? 1 : 0).bypassed(bypassed ? 1 : 0).aborted(aborted ? 1 : 0).cdptrDma(cdptr);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    public int unbindGuestStage(int containerFd) {
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, guestStageArg(VfioIommuType1Bind.VFIO_IOMMU_UNBIND_GUEST_STAGE));
    }

    private static byte[] guestStageArg(int flags) {
        int size = VfioIommuType1Bind.SIZE_GUEST_STAGE;
        byte[] a = new byte[size];
        new VfioIommuType1Bind().wrap(a, 0).argsz(size).flags(flags);
        return a;
    }

    private byte[] invalidateArg(int cache, int granularity) {
        byte[] a = new byte[VfioIommuType1CacheInvalidate.SIZE];
        VfioIommuType1CacheInvalidate c = new VfioIommuType1CacheInvalidate().wrap(a, 0)
                .argsz(VfioIommuType1CacheInvalidate.SIZE);
        c.cacheInfo().version(IommuUapi.IOMMU_UAPI_VERSION).cache(cache).granularity(granularity);
        return a;
    }

    public int invalidateDomain(int containerFd) {
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE,
                invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_DOMAIN));
    }

    public int invalidatePasid(int containerFd, int pasid) {
        byte[] a = invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_PASID);
        new VfioIommuType1CacheInvalidate().wrap(a, 0).cacheInfo().pasidInfo()
                .flags(IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID).pasid(pasid);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE, a);
    }

    /** Page-selective IOTLB invalidation; {@code pasid} &lt; 0 for all PASIDs. */
    public int invalidateAddr(int containerFd, long addr, long granuleSize, long nbGranules, int pasid, boolean leaf) {
        byte[] a = invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_ADDR);
        int flags = (pasid >= 0 ? IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID : 0)
                | (leaf ? IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF : 0);
        new VfioIommuType1CacheInvalidate().wrap(a, 0).cacheInfo().addrInfo().flags(flags)
                .pasid(Math.max(pasid, 0)).addr(addr).granuleSize(granuleSize).nbGranules(nbGranules);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE, a);
    }

    public Faults readFaults(int containerFd, int max) {
        int size = VfioIommuType1FaultRead.sizeFor(max);
        byte[] a = new byte[size];
        VfioIommuType1FaultRead f = new VfioIommuType1FaultRead().wrap(a, 0).argsz(size).count(max);
        int r = kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_READ_FAULTS, a);
        List<byte[]> out = new ArrayList<>();
        if (r == 0) {
            for (int i = 0; i < f.count(); i++) {
                out.add(f.record(i).toBytes());
            }
        }
        return new Faults(r, out, r == 0 ? f.pending() : -1);
    }

    /** PAGE_RESPONSE for group {@code grpid}; {@code pasid} &lt; 0 when the request had none. */
    public int pageResponse(int containerFd, int grpid, int pasid, int code) {
        byte[] a = new byte[VfioIommuType1PageResponse.SIZE];
        IommuPageResponse r = new VfioIommuType1PageResponse().wrap(a, 0).argsz(VfioIommuType1PageResponse.SIZE).resp();
        r.version(IommuUapi.IOMMU_UAPI_VERSION).flags(pasid >= 0 ? IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID : 0)
                .pasid(Math.max(pasid, 0)).grpid(grpid).code(code);
        return kernel.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PAGE_RESPONSE, a);
    }

    /** "EINVAL" for -22, "0" for 0, the number otherwise. */
    public static String result(long r) {
        return r < 0 ? Errno.name((int) r) : Long.toString(r);
    }
}
