/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uapi_layout.c - print the x86-64 layout of every struct in pkstore_uapi.h, and the values of
 * its constants and ioctl numbers, for UapiLayoutTest to compare with the Java flyweights.
 *
 * Output, one item per line:
 *   <struct> <sizeof>                 e.g. "iommu_fault 64"
 *   <struct>.<member> <offsetof>      e.g. "iommu_fault.event 8", nested: "x.alloc_pasid.min 8"
 *   const <NAME> <value>              e.g. "const VFIO_IOMMU_MAP_DMA 15217" (unsigned decimal)
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -I. uapi_layout.c -o uapi_layout
 * With -DPKSTORE_SYSTEM_VFIO_H the mainline declarations come from the system <linux/vfio.h>
 * instead of pkstore_uapi.h's copy (so the copy is checked against the real header).
 */
#ifdef PKSTORE_SYSTEM_VFIO_H
#include <linux/vfio.h>
#endif
#include "pkstore_uapi.h"

#include <stddef.h>
#include <stdio.h>

#define SZ(s)     printf("%s %zu\n", #s, sizeof(struct s))
#define OFF(s, f) printf("%s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define CONST(c)  printf("const %s %llu\n", #c, (unsigned long long)(unsigned int)(c))

int main(void)
{
	/* ---- mainline vfio.h ---- */
	SZ(vfio_info_cap_header);
	OFF(vfio_info_cap_header, id);
	OFF(vfio_info_cap_header, version);
	OFF(vfio_info_cap_header, next);

	SZ(vfio_group_status);
	OFF(vfio_group_status, argsz);
	OFF(vfio_group_status, flags);

	SZ(vfio_iommu_type1_info);
	OFF(vfio_iommu_type1_info, argsz);
	OFF(vfio_iommu_type1_info, flags);
	OFF(vfio_iommu_type1_info, iova_pgsizes);
	OFF(vfio_iommu_type1_info, cap_offset);
#ifdef PKSTORE_OWN_VFIO_DECLS
	OFF(vfio_iommu_type1_info, pad);	/* older system headers leave it unnamed */
#endif

	SZ(vfio_iova_range);
	OFF(vfio_iova_range, start);
	OFF(vfio_iova_range, end);

	SZ(vfio_iommu_type1_info_cap_iova_range);
	OFF(vfio_iommu_type1_info_cap_iova_range, header);
	OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas);
	OFF(vfio_iommu_type1_info_cap_iova_range, reserved);
	OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges);

	SZ(vfio_iommu_type1_info_cap_migration);
	OFF(vfio_iommu_type1_info_cap_migration, header);
	OFF(vfio_iommu_type1_info_cap_migration, flags);
	OFF(vfio_iommu_type1_info_cap_migration, pgsize_bitmap);
	OFF(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size);

	SZ(vfio_iommu_type1_info_dma_avail);
	OFF(vfio_iommu_type1_info_dma_avail, header);
	OFF(vfio_iommu_type1_info_dma_avail, avail);

	SZ(vfio_iommu_type1_dma_map);
	OFF(vfio_iommu_type1_dma_map, argsz);
	OFF(vfio_iommu_type1_dma_map, flags);
	OFF(vfio_iommu_type1_dma_map, vaddr);
	OFF(vfio_iommu_type1_dma_map, iova);
	OFF(vfio_iommu_type1_dma_map, size);

	SZ(vfio_iommu_type1_dma_unmap);
	OFF(vfio_iommu_type1_dma_unmap, argsz);
	OFF(vfio_iommu_type1_dma_unmap, flags);
	OFF(vfio_iommu_type1_dma_unmap, iova);
	OFF(vfio_iommu_type1_dma_unmap, size);
	OFF(vfio_iommu_type1_dma_unmap, data);

	/* ---- docs/UAPI.md source 002 ---- */
	SZ(iommu_pasid_table_config);
	OFF(iommu_pasid_table_config, version);
	OFF(iommu_pasid_table_config, bytes);
	OFF(iommu_pasid_table_config, base_ptr);
	OFF(iommu_pasid_table_config, pasid_bits);

	SZ(iommu_smmu_s1_config);
	OFF(iommu_smmu_s1_config, disabled);
	OFF(iommu_smmu_s1_config, bypassed);
	OFF(iommu_smmu_s1_config, aborted);
	OFF(iommu_smmu_s1_config, cdptr_dma);
	OFF(iommu_smmu_s1_config, asid);

	SZ(iommu_guest_stage_config);
	OFF(iommu_guest_stage_config, flags);
	OFF(iommu_guest_stage_config, pasidt);
	OFF(iommu_guest_stage_config, smmu_s1);

	/* ---- docs/UAPI.md source 003 iommu.h ---- */
	SZ(iommu_fault_unrecoverable);
	OFF(iommu_fault_unrecoverable, reason);
	OFF(iommu_fault_unrecoverable, flags);
	OFF(iommu_fault_unrecoverable, pasid);
	OFF(iommu_fault_unrecoverable, perm);
	OFF(iommu_fault_unrecoverable, addr);
	OFF(iommu_fault_unrecoverable, fetch_addr);

	SZ(iommu_fault_page_request);
	OFF(iommu_fault_page_request, flags);
	OFF(iommu_fault_page_request, pasid);
	OFF(iommu_fault_page_request, grpid);
	OFF(iommu_fault_page_request, perm);
	OFF(iommu_fault_page_request, addr);
	OFF(iommu_fault_page_request, private_data);

	SZ(iommu_fault);
	OFF(iommu_fault, type);
	OFF(iommu_fault, padding);
	OFF(iommu_fault, event);
	OFF(iommu_fault, prm);
	OFF(iommu_fault, padding2);

	SZ(iommu_page_response);
	OFF(iommu_page_response, version);
	OFF(iommu_page_response, flags);
	OFF(iommu_page_response, pasid);
	OFF(iommu_page_response, grpid);
	OFF(iommu_page_response, code);

	SZ(iommu_inv_addr_info);
	OFF(iommu_inv_addr_info, flags);
	OFF(iommu_inv_addr_info, archid);
	OFF(iommu_inv_addr_info, pasid);
	OFF(iommu_inv_addr_info, addr);
	OFF(iommu_inv_addr_info, granule_size);
	OFF(iommu_inv_addr_info, nb_granules);

	SZ(iommu_inv_pasid_info);
	OFF(iommu_inv_pasid_info, flags);
	OFF(iommu_inv_pasid_info, archid);
	OFF(iommu_inv_pasid_info, pasid);

	SZ(iommu_cache_invalidate_info);
	OFF(iommu_cache_invalidate_info, version);
	OFF(iommu_cache_invalidate_info, cache);
	OFF(iommu_cache_invalidate_info, granularity);
	OFF(iommu_cache_invalidate_info, padding);
	OFF(iommu_cache_invalidate_info, pasid_info);
	OFF(iommu_cache_invalidate_info, addr_info);

	SZ(iommu_gpasid_bind_data_vtd);
	OFF(iommu_gpasid_bind_data_vtd, flags);
	OFF(iommu_gpasid_bind_data_vtd, pat);
	OFF(iommu_gpasid_bind_data_vtd, emt);

	SZ(iommu_gpasid_bind_data);
	OFF(iommu_gpasid_bind_data, version);
	OFF(iommu_gpasid_bind_data, format);
	OFF(iommu_gpasid_bind_data, flags);
	OFF(iommu_gpasid_bind_data, gpgd);
	OFF(iommu_gpasid_bind_data, hpasid);
	OFF(iommu_gpasid_bind_data, gpasid);
	OFF(iommu_gpasid_bind_data, addr_width);
	OFF(iommu_gpasid_bind_data, padding);
	OFF(iommu_gpasid_bind_data, vtd);

	/* ---- docs/UAPI.md source 003 vfio.h additions ---- */
	SZ(vfio_iommu_type1_info_cap_nesting);
	OFF(vfio_iommu_type1_info_cap_nesting, header);
	OFF(vfio_iommu_type1_info_cap_nesting, nesting_capabilities);
	OFF(vfio_iommu_type1_info_cap_nesting, stage1_format);

	SZ(vfio_iommu_type1_pasid_request);
	OFF(vfio_iommu_type1_pasid_request, argsz);
	OFF(vfio_iommu_type1_pasid_request, flags);
	OFF(vfio_iommu_type1_pasid_request, alloc_pasid);
	OFF(vfio_iommu_type1_pasid_request, alloc_pasid.min);
	OFF(vfio_iommu_type1_pasid_request, alloc_pasid.max);
	OFF(vfio_iommu_type1_pasid_request, alloc_pasid.result);
	OFF(vfio_iommu_type1_pasid_request, free_pasid);

	SZ(vfio_iommu_type1_bind);
	OFF(vfio_iommu_type1_bind, argsz);
	OFF(vfio_iommu_type1_bind, flags);
	OFF(vfio_iommu_type1_bind, data);

	SZ(vfio_iommu_type1_cache_invalidate);
	OFF(vfio_iommu_type1_cache_invalidate, argsz);
	OFF(vfio_iommu_type1_cache_invalidate, flags);
	OFF(vfio_iommu_type1_cache_invalidate, cache_info);

	/* ---- docs/UAPI.md source 004 ---- */
	SZ(vfio_set_persistent_pgtables);
	OFF(vfio_set_persistent_pgtables, persistent_pgtables_fd);

	/* ---- pkstore additions ---- */
	SZ(vfio_iommu_type1_fault_read);
	OFF(vfio_iommu_type1_fault_read, argsz);
	OFF(vfio_iommu_type1_fault_read, flags);
	OFF(vfio_iommu_type1_fault_read, count);
	OFF(vfio_iommu_type1_fault_read, pending);
	OFF(vfio_iommu_type1_fault_read, records);

	SZ(vfio_iommu_type1_page_response);
	OFF(vfio_iommu_type1_page_response, argsz);
	OFF(vfio_iommu_type1_page_response, flags);
	OFF(vfio_iommu_type1_page_response, resp);

	/* ---- ioctl numbers ---- */
	CONST(VFIO_GET_API_VERSION);
	CONST(VFIO_CHECK_EXTENSION);
	CONST(VFIO_SET_IOMMU);
	CONST(VFIO_GROUP_GET_STATUS);
	CONST(VFIO_GROUP_SET_CONTAINER);
	CONST(VFIO_GROUP_UNSET_CONTAINER);
	CONST(VFIO_IOMMU_GET_INFO);
	CONST(VFIO_IOMMU_MAP_DMA);
	CONST(VFIO_IOMMU_UNMAP_DMA);
	CONST(VFIO_IOMMU_PASID_REQUEST);
	CONST(VFIO_IOMMU_BIND);
	CONST(VFIO_IOMMU_CACHE_INVALIDATE);
	CONST(VFIO_IOMMU_GET_VMID);
	CONST(VFIO_IOMMU_SET_VMID);
	CONST(VFIO_CONTAINER_SET_PERSISTENT_PGTABLES);
	CONST(VFIO_IOMMU_READ_FAULTS);
	CONST(VFIO_IOMMU_PAGE_RESPONSE);
	CONST(VFIO_IOMMU_ENABLE);
	CONST(VFIO_IOMMU_DISABLE);
	CONST(VFIO_IOMMU_DIRTY_PAGES);
	CONST(VFIO_IOMMU_SPAPR_REGISTER_MEMORY);
	CONST(VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY);
	CONST(VFIO_IOMMU_SPAPR_TCE_CREATE);
	CONST(VFIO_IOMMU_SPAPR_TCE_REMOVE);
	CONST(VFIO_EEH_PE_OP);

	/* ---- other constants ---- */
	CONST(VFIO_TYPE);
	CONST(VFIO_BASE);
	CONST(VFIO_API_VERSION);
	CONST(VFIO_TYPE1_IOMMU);
	CONST(VFIO_SPAPR_TCE_IOMMU);
	CONST(VFIO_TYPE1v2_IOMMU);
	CONST(VFIO_DMA_CC_IOMMU);
	CONST(VFIO_EEH);
	CONST(VFIO_TYPE1_NESTING_IOMMU);
	CONST(VFIO_SPAPR_TCE_v2_IOMMU);
	CONST(VFIO_NOIOMMU_IOMMU);
	CONST(VFIO_UNMAP_ALL);
	CONST(VFIO_UPDATE_VADDR);
	CONST(VFIO_NESTING_IOMMU_UAPI);
	CONST(VFIO_GROUP_FLAGS_VIABLE);
	CONST(VFIO_GROUP_FLAGS_CONTAINER_SET);
	CONST(VFIO_IOMMU_INFO_PGSIZES);
	CONST(VFIO_IOMMU_INFO_CAPS);
	CONST(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	CONST(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	CONST(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	CONST(VFIO_IOMMU_TYPE1_INFO_CAP_NESTING);
	CONST(VFIO_IOMMU_PASID_REQS);
	CONST(VFIO_DMA_MAP_FLAG_READ);
	CONST(VFIO_DMA_MAP_FLAG_WRITE);
	CONST(VFIO_DMA_MAP_FLAG_VADDR);
	CONST(VFIO_DMA_MAP_FLAG_LIVE_UPDATE);
	CONST(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
	CONST(VFIO_DMA_UNMAP_FLAG_ALL);
	CONST(VFIO_DMA_UNMAP_FLAG_VADDR);
	CONST(VFIO_IOMMU_PASID_ALLOC);
	CONST(VFIO_IOMMU_PASID_FREE);
	CONST(VFIO_PASID_REQUEST_MASK);
	CONST(VFIO_IOMMU_BIND_GUEST_PGTBL);
	CONST(VFIO_IOMMU_UNBIND_GUEST_PGTBL);
	CONST(VFIO_IOMMU_BIND_MASK);
	CONST(VFIO_IOMMU_BIND_GUEST_STAGE);
	CONST(VFIO_IOMMU_UNBIND_GUEST_STAGE);
	CONST(VFIO_IOMMU_VMID_INVALID);

	CONST(PASID_TABLE_CFG_VERSION_1);
	CONST(PASID_TABLE);
	CONST(SMMUV3_S1_CFG);

	CONST(IOMMU_UAPI_VERSION);
	CONST(IOMMU_UAPI_BIND_GPASID);
	CONST(IOMMU_UAPI_CACHE_INVAL);
	CONST(IOMMU_UAPI_PAGE_RESP);
	CONST(NR_IOMMU_UAPI_TYPE);
	CONST(IOMMU_UAPI_CAP_MASK);
	CONST(IOMMU_FAULT_PERM_READ);
	CONST(IOMMU_FAULT_PERM_WRITE);
	CONST(IOMMU_FAULT_PERM_EXEC);
	CONST(IOMMU_FAULT_PERM_PRIV);
	CONST(IOMMU_FAULT_DMA_UNRECOV);
	CONST(IOMMU_FAULT_PAGE_REQ);
	CONST(IOMMU_FAULT_REASON_UNKNOWN);
	CONST(IOMMU_FAULT_REASON_PASID_FETCH);
	CONST(IOMMU_FAULT_REASON_BAD_PASID_ENTRY);
	CONST(IOMMU_FAULT_REASON_PASID_INVALID);
	CONST(IOMMU_FAULT_REASON_WALK_EABT);
	CONST(IOMMU_FAULT_REASON_PTE_FETCH);
	CONST(IOMMU_FAULT_REASON_PERMISSION);
	CONST(IOMMU_FAULT_REASON_ACCESS);
	CONST(IOMMU_FAULT_REASON_OOR_ADDRESS);
	CONST(IOMMU_FAULT_UNRECOV_PASID_VALID);
	CONST(IOMMU_FAULT_UNRECOV_ADDR_VALID);
	CONST(IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID);
	CONST(IOMMU_FAULT_PAGE_REQUEST_PASID_VALID);
	CONST(IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE);
	CONST(IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA);
	CONST(IOMMU_PAGE_RESP_SUCCESS);
	CONST(IOMMU_PAGE_RESP_INVALID);
	CONST(IOMMU_PAGE_RESP_FAILURE);
	CONST(IOMMU_PAGE_RESP_PASID_VALID);
	CONST(IOMMU_INV_GRANU_DOMAIN);
	CONST(IOMMU_INV_GRANU_PASID);
	CONST(IOMMU_INV_GRANU_ADDR);
	CONST(IOMMU_INV_GRANU_NR);
	CONST(IOMMU_INV_ADDR_FLAGS_PASID);
	CONST(IOMMU_INV_ADDR_FLAGS_ARCHID);
	CONST(IOMMU_INV_ADDR_FLAGS_LEAF);
	CONST(IOMMU_INV_PASID_FLAGS_PASID);
	CONST(IOMMU_INV_PASID_FLAGS_ARCHID);
	CONST(IOMMU_CACHE_INV_TYPE_IOTLB);
	CONST(IOMMU_CACHE_INV_TYPE_DEV_IOTLB);
	CONST(IOMMU_CACHE_INV_TYPE_PASID);
	CONST(IOMMU_CACHE_INV_TYPE_NR);
	CONST(IOMMU_SVA_VTD_GPASID_SRE);
	CONST(IOMMU_SVA_VTD_GPASID_EAFE);
	CONST(IOMMU_SVA_VTD_GPASID_PCD);
	CONST(IOMMU_SVA_VTD_GPASID_PWT);
	CONST(IOMMU_SVA_VTD_GPASID_EMTE);
	CONST(IOMMU_SVA_VTD_GPASID_CD);
	CONST(IOMMU_SVA_VTD_GPASID_EMT_MASK);
	CONST(IOMMU_PASID_FORMAT_INTEL_VTD);
	CONST(IOMMU_SVA_GPASID_VAL);
	return 0;
}
