/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * write_trace.c - example: write the ioctl trace of a small VFIO session, using the UAPI struct
 * declarations of pkstore_uapi.h (the same ones uapi_layout.c checks) and the emitter in
 * pkstore_trace.h. TraceReaderCTest compiles and runs it and parses the result with TraceReader.
 *
 *   usage: write_trace OUTPUT
 *
 * Nothing here calls ioctl(2): the fds are the ones a VMM would have got, and the trace records
 * what it would pass. (A real tracer would wrap ioctl() and record after each call.)
 */
#include "pkstore_uapi.h"
#include "pkstore_trace.h"

#define CONTAINER_FD	3
#define GROUP_FD	4
#define PGTABLE_FD	5
#define GROUP_ID	26
#define GUEST_VADDR	0x7f0000000000ULL
#define GUEST_SIZE	0x40000000ULL	/* 1 GiB */

int main(int argc, char **argv)
{
	struct pkstore_trace t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
		return 2;
	}
	pkstore_trace_open(&t, argv[1]);

	/* container = open("/dev/vfio/vfio"); group = open("/dev/vfio/26") */
	pkstore_trace_open_container(&t, CONTAINER_FD);
	pkstore_trace_open_group(&t, GROUP_FD, GROUP_ID);

	/* ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) */
	{
		__s32 container = CONTAINER_FD;
		pkstore_trace_ioctl(&t, GROUP_FD, VFIO_GROUP_SET_CONTAINER, &container, sizeof(container));
	}

	/* ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) */
	pkstore_trace_ioctl_scalar(&t, CONTAINER_FD, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);

	/* pgtables = open("<pkernfs>/iommu/vm0-iommu"); SET_PERSISTENT_PGTABLES before SET_IOMMU (docs/UAPI.md source 004) */
	pkstore_trace_open_pgtable_file(&t, PGTABLE_FD, "vm0-iommu");
	{
		struct vfio_set_persistent_pgtables ppt;

		memset(&ppt, 0, sizeof(ppt));
		ppt.persistent_pgtables_fd = PGTABLE_FD;
		pkstore_trace_ioctl(&t, CONTAINER_FD, VFIO_CONTAINER_SET_PERSISTENT_PGTABLES, &ppt, sizeof(ppt));
	}

	/* ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) */
	pkstore_trace_ioctl_scalar(&t, CONTAINER_FD, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);

	/* guest RAM = mmap(pkernfs guest memory file "vm0-ram") at GUEST_VADDR */
	pkstore_trace_map_guest_memory(&t, GUEST_VADDR, GUEST_SIZE, "vm0-ram");

	/* MAP_DMA all of guest RAM at IOVA 0 */
	{
		struct vfio_iommu_type1_dma_map map;

		memset(&map, 0, sizeof(map));
		map.argsz = sizeof(map);
		map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		map.vaddr = GUEST_VADDR;
		map.iova = 0;
		map.size = GUEST_SIZE;
		pkstore_trace_ioctl(&t, CONTAINER_FD, VFIO_IOMMU_MAP_DMA, &map, sizeof(map));
	}

	/* GET_INFO with argsz = sizeof(info): too small for the capability chain */
	{
		struct vfio_iommu_type1_info info;

		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		pkstore_trace_ioctl(&t, CONTAINER_FD, VFIO_IOMMU_GET_INFO, &info, sizeof(info));
	}

	/* UNMAP_DMA the whole mapping */
	{
		struct vfio_iommu_type1_dma_unmap unmap;

		memset(&unmap, 0, sizeof(unmap));
		unmap.argsz = sizeof(unmap);
		unmap.flags = 0;
		unmap.iova = 0;
		unmap.size = GUEST_SIZE;
		pkstore_trace_ioctl(&t, CONTAINER_FD, VFIO_IOMMU_UNMAP_DMA, &unmap, sizeof(unmap));
	}

	/* PASID_REQUEST: allocate a PASID in [1, 0xfffff] */
	{
		struct vfio_iommu_type1_pasid_request req;

		memset(&req, 0, sizeof(req));
		req.argsz = sizeof(req);
		req.flags = VFIO_IOMMU_PASID_ALLOC;
		req.alloc_pasid.min = 1;
		req.alloc_pasid.max = 0xfffff;
		pkstore_trace_ioctl(&t, CONTAINER_FD, VFIO_IOMMU_PASID_REQUEST, &req, sizeof(req));
	}

	/* close the group; then a planned kexec (live update) */
	pkstore_trace_close_fd(&t, GROUP_FD);
	pkstore_trace_kexec(&t, PKSTORE_TRACE_KEXEC_PLANNED);

	pkstore_trace_close(&t);
	return 0;
}
