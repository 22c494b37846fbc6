package org.pkstore.vfio;

import org.pkstore.iommu.Errno;
import org.pkstore.vfio.uapi.IommuCacheInvalidateInfo;
import org.pkstore.vfio.uapi.IommuGpasidBindData;
import org.pkstore.vfio.uapi.IommuGuestStageConfig;
import org.pkstore.vfio.uapi.IommuInvAddrInfo;
import org.pkstore.vfio.uapi.IommuInvPasidInfo;
import org.pkstore.vfio.uapi.IommuPageResponse;
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
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

    private final VfioKernel k;

    public VfioClient(VfioKernel kernel) {
        this.k = kernel;
    }

    public VfioKernel kernel() { return k; }

    public int openContainer() { return k.openContainer(); }
    public int openGroup(int groupId) { return k.openGroup(groupId); }
    public int openPageTableFile(String name, boolean create) { return k.openPageTableFile(name, create); }
    public int close(int fd) { return k.close(fd); }
    public int mapGuestMemory(long vaddr, long size, String name) { return k.mapGuestMemory(vaddr, size, name); }

    public int apiVersion(int containerFd) {
        return (int) k.ioctl(containerFd, VfioKernel.VFIO_GET_API_VERSION, 0L);
    }

    public long checkExtension(int containerFd, int extension) {
        return k.ioctl(containerFd, VfioKernel.VFIO_CHECK_EXTENSION, extension);
    }

    public int setIommu(int containerFd, int type) {
        return (int) k.ioctl(containerFd, VfioKernel.VFIO_SET_IOMMU, type);
    }

    public int setContainer(int groupFd, int containerFd) {
        byte[] a = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(containerFd).array();
        return k.ioctl(groupFd, VfioKernel.VFIO_GROUP_SET_CONTAINER, a);
    }

    public int unsetContainer(int groupFd) {
        return (int) k.ioctl(groupFd, VfioKernel.VFIO_GROUP_UNSET_CONTAINER, 0L);
    }

    public GroupStatus groupStatus(int groupFd) {
        byte[] a = new byte[VfioGroupStatus.SIZE];
        VfioGroupStatus s = new VfioGroupStatus().wrap(a, 0).argsz(VfioGroupStatus.SIZE);
        int r = k.ioctl(groupFd, VfioKernel.VFIO_GROUP_GET_STATUS, a);
        return new GroupStatus(r, s.flags());
    }

    /** GET_INFO with a buffer big enough for every capability this model reports. */
    public IommuInfo getInfo(int containerFd) {
        return getInfo(containerFd, 256);
    }

    public IommuInfo getInfo(int containerFd, int argsz) {
        byte[] a = new byte[Math.max(argsz, VfioIommuType1Info.SIZE)];
        VfioIommuType1Info info = new VfioIommuType1Info().wrap(a, 0).argsz(argsz);
        int r = k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_GET_INFO, a);
        long start = -1;
        long end = -1;
        int avail = -1;
        int nestCaps = -1;
        int s1fmt = -1;
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        int off = r == 0 ? info.capOffset() : 0;
        for (int hops = 0; off != 0 && off + VfioInfoCapHeader.SIZE <= a.length && hops < 16; hops++) {
            int id = b.getShort(off + VfioInfoCapHeader.OFFSET_ID) & 0xFFFF;
            if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
                int rg = off + VfioIommuType1InfoCapIovaRange.OFFSET_IOVA_RANGES;
                start = b.getLong(rg + VfioIovaRange.OFFSET_START);
                end = b.getLong(rg + VfioIovaRange.OFFSET_END);
            } else if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
                avail = b.getInt(off + VfioIommuType1InfoDmaAvail.OFFSET_AVAIL);
            } else if (id == VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING) {
                nestCaps = b.getInt(off + VfioIommuType1InfoCapNesting.OFFSET_NESTING_CAPABILITIES);
                s1fmt = b.getInt(off + VfioIommuType1InfoCapNesting.OFFSET_STAGE1_FORMAT);
            }
            off = b.getInt(off + VfioInfoCapHeader.OFFSET_NEXT);
        }
        return new IommuInfo(r, info.argsz(), info.flags(), info.iovaPgsizes(), info.capOffset(), start, end, avail,
                nestCaps, s1fmt);
    }

    /** MAP_DMA with {@code flags} (VFIO_DMA_MAP_FLAG_*). */
    public int mapDma(int containerFd, long vaddr, long iova, long size, int flags) {
        byte[] a = new byte[VfioIommuType1DmaMap.SIZE];
        new VfioIommuType1DmaMap().wrap(a, 0).argsz(VfioIommuType1DmaMap.SIZE).flags(flags).vaddr(vaddr).iova(iova)
                .mapSize(size);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_MAP_DMA, a);
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
        int r = k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_UNMAP_DMA, a);
        return new Unmapped(r, u.unmapSize());
    }

    public Unmapped unmapDma(int containerFd, long iova, long size) {
        return unmapDma(containerFd, iova, size, 0);
    }

    public Vmid getVmid(int containerFd) {
        byte[] a = new byte[4];
        int r = k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_GET_VMID, a);
        return new Vmid(r, ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    public int setVmid(int containerFd, int vmid) {
        return (int) k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_SET_VMID, Integer.toUnsignedLong(vmid));
    }

    public int setPersistentPgtables(int containerFd, int pgtableFd) {
        byte[] a = new byte[VfioSetPersistentPgtables.SIZE];
        new VfioSetPersistentPgtables().wrap(a, 0).persistentPgtablesFd(pgtableFd);
        return k.ioctl(containerFd, VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, a);
    }

    public Pasid allocPasid(int containerFd, int min, int max) {
        byte[] a = new byte[VfioIommuType1PasidRequest.SIZE];
        VfioIommuType1PasidRequest p = new VfioIommuType1PasidRequest().wrap(a, 0).argsz(VfioIommuType1PasidRequest.SIZE)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_ALLOC).allocMin(min).allocMax(max);
        int r = k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PASID_REQUEST, a);
        return new Pasid(r, r == 0 ? p.allocResult() : -1);
    }

    public int freePasid(int containerFd, int pasid) {
        byte[] a = new byte[VfioIommuType1PasidRequest.SIZE];
        new VfioIommuType1PasidRequest().wrap(a, 0).argsz(VfioIommuType1PasidRequest.SIZE)
                .flags(VfioIommuType1PasidRequest.VFIO_IOMMU_PASID_FREE).freePasid(pasid);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PASID_REQUEST, a);
    }

    /** VFIO_IOMMU_BIND / UNBIND of a guest page table to {@code hpasid} (VT-d format, UAPI v1). */
    public int bindGuestPgtbl(int containerFd, boolean bind, long hpasid, long gpgd, long gpasid, boolean gpasidValid,
                              int addrWidth, long vtdFlags, int pat, int emt) {
        int size = VfioIommuType1Bind.OFFSET_DATA + IommuGpasidBindData.SIZE;
        byte[] a = new byte[size];
        VfioIommuType1Bind b = new VfioIommuType1Bind().wrap(a, 0).argsz(size)
                .flags(bind ? VfioContainer.BIND_GUEST_PGTBL : VfioContainer.UNBIND_GUEST_PGTBL);
        IommuGpasidBindData d = b.gpasidBindData().version(IommuUapi.IOMMU_UAPI_VERSION)
                .format(IommuGpasidBindData.IOMMU_PASID_FORMAT_INTEL_VTD).flags(gpasidValid ? 1 : 0).gpgd(gpgd)
                .hpasid(hpasid).gpasid(gpasid).addrWidth(addrWidth);
        d.vtd().flags(vtdFlags).pat(pat).emt(emt);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    /** Seed 002 guest-stage configuration, PASID-table kind (VT-d): BIND with VFIO_IOMMU_BIND_GUEST_STAGE. */
    public int bindGuestStagePasidTable(int containerFd, long basePtr, int pasidBits) {
        byte[] a = guestStageArg(VfioContainer.BIND_GUEST_STAGE);
        IommuGuestStageConfig c = new IommuGuestStageConfig().wrap(a, VfioIommuType1Bind.OFFSET_DATA)
                .flags(IommuGuestStageConfig.PASID_TABLE);
        c.pasidt().version(1).bytes(org.pkstore.vfio.uapi.IommuPasidTableConfig.SIZE).basePtr(basePtr).pasidBits(pasidBits);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    /** Seed 002 guest-stage configuration, SMMUv3 stage-1 kind. */
    public int bindGuestStageSmmu(int containerFd, long cdptr, boolean disabled, boolean bypassed, boolean aborted) {
        byte[] a = guestStageArg(VfioContainer.BIND_GUEST_STAGE);
        IommuGuestStageConfig c = new IommuGuestStageConfig().wrap(a, VfioIommuType1Bind.OFFSET_DATA)
                .flags(IommuGuestStageConfig.SMMUV3_S1_CFG);
        c.smmuS1().disabled(disabled ? 1 : 0).bypassed(bypassed ? 1 : 0).aborted(aborted ? 1 : 0).cdptrDma(cdptr);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, a);
    }

    public int unbindGuestStage(int containerFd) {
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_BIND, guestStageArg(VfioContainer.UNBIND_GUEST_STAGE));
    }

    private static byte[] guestStageArg(int flags) {
        int size = VfioIommuType1Bind.OFFSET_DATA + IommuGuestStageConfig.SIZE;
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
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE,
                invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_DOMAIN));
    }

    public int invalidatePasid(int containerFd, int pasid) {
        byte[] a = invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_PASID);
        new VfioIommuType1CacheInvalidate().wrap(a, 0).cacheInfo().pasidInfo()
                .flags(IommuInvPasidInfo.IOMMU_INV_PASID_FLAGS_PASID).pasid(pasid);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE, a);
    }

    /** Page-selective IOTLB invalidation; {@code pasid} &lt; 0 for all PASIDs. */
    public int invalidateAddr(int containerFd, long addr, long granuleSize, long nbGranules, int pasid, boolean leaf) {
        byte[] a = invalidateArg(IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB, IommuUapi.IOMMU_INV_GRANU_ADDR);
        int flags = (pasid >= 0 ? IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_PASID : 0)
                | (leaf ? IommuInvAddrInfo.IOMMU_INV_ADDR_FLAGS_LEAF : 0);
        new VfioIommuType1CacheInvalidate().wrap(a, 0).cacheInfo().addrInfo().flags(flags)
                .pasid(Math.max(pasid, 0)).addr(addr).granuleSize(granuleSize).nbGranules(nbGranules);
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_CACHE_INVALIDATE, a);
    }

    public Faults readFaults(int containerFd, int max) {
        int size = VfioIommuType1FaultRead.SIZE + max * org.pkstore.iommu.IommuFault.SIZE;
        byte[] a = new byte[size];
        VfioIommuType1FaultRead f = new VfioIommuType1FaultRead().wrap(a, 0).argsz(size).count(max);
        int r = k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_READ_FAULTS, a);
        List<byte[]> out = new ArrayList<>();
        if (r == 0) {
            for (int i = 0; i < f.count(); i++) {
                byte[] one = new byte[org.pkstore.iommu.IommuFault.SIZE];
                System.arraycopy(a, VfioIommuType1FaultRead.OFFSET_RECORDS + i * one.length, one, 0, one.length);
                out.add(one);
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
        return k.ioctl(containerFd, VfioKernel.VFIO_IOMMU_PAGE_RESPONSE, a);
    }

    /** "EINVAL" for -22, "0" for 0, the number otherwise. */
    public static String result(long r) {
        return r < 0 ? Errno.name((int) r) : Long.toString(r);
    }
}
