/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pkstore_uapi.h - the VFIO type1 / IOMMU UAPI that pkstore models, as C declarations.
 *
 * Shared by uapi_layout.c (prints sizeof/offsetof/constants; UapiLayoutTest compares them with
 * the Java flyweights in org.pkstore.vfio.uapi) and write_trace.c (writes an example ioctl trace).
 *
 * Layout of this file:
 *   1. mainline <linux/vfio.h> subset (declared here unless <linux/vfio.h> was included first;
 *      UapiLayoutTest compiles once each way, so the copy is checked against the real header)
 *   2. docs/UAPI.md source 002: iommu_pasid_table_config / iommu_smmu_s1_config / iommu_guest_stage_config
 *      (RFC 01/13 "iommu: Introduce bind_guest_stage API", Aug 2018), copied verbatim
 *   3. docs/UAPI.md source 003: include/uapi/linux/iommu.h from "[RFC v3.1 02/22] header file update VFIO/IOMMU
 *      vSVA APIs" (Feb 2020), copied verbatim
 *   4. docs/UAPI.md source 003: its linux/vfio.h additions, struct bodies verbatim, numbers per docs/UAPI.md
 *   5. docs/UAPI.md source 000 (GET/SET_VMID) and docs/UAPI.md source 004 (SET_PERSISTENT_PGTABLES), renumbered per docs/UAPI.md
 *   6. pkstore additions: MAP_DMA live-update flag, fault read / page response ioctls
 *
 * Every ioctl number that differs from its RFC is marked "docs/UAPI.md source N said ...". The reasons are in
 * docs/UAPI.md ("Numbering decisions"). Do not include the system <linux/iommu.h> together with
 * this header: section 3 declares the (older, RFC) versions of the same structs.
 *
 * x86-64 / little-endian only: the Java model and the trace format assume it.
 */
#ifndef PKSTORE_UAPI_H
#define PKSTORE_UAPI_H

#if defined(__has_include)
#  if __has_include(<linux/types.h>)
#    define PKSTORE_HAVE_LINUX_TYPES 1
#  endif
#endif
#ifdef PKSTORE_HAVE_LINUX_TYPES
#include <linux/types.h>
#else
#include <stdint.h>
typedef uint8_t  __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t  __s32;
#endif

#ifndef _IO
/* <linux/ioctl.h> on x86-64: _IOC_NONE = 0, size field 0, so _IO(type, nr) = type << 8 | nr. */
#define _IO(type, nr) ((((unsigned int)(type)) << 8) | ((unsigned int)(nr)))
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pkstore UAPI layouts and traces are little-endian (x86-64)"
#endif

/* ======================================================================================= */
/* 1. mainline <linux/vfio.h> subset (numbers and layouts are ABI; copied, not changed)     */
/* ======================================================================================= */
#ifndef VFIO_API_VERSION   /* defined by <linux/vfio.h>: then use the real declarations */
#define PKSTORE_OWN_VFIO_DECLS 1

#define VFIO_API_VERSION	0

/* Extensions */
#define VFIO_TYPE1_IOMMU		1
#define VFIO_SPAPR_TCE_IOMMU		2
#define VFIO_TYPE1v2_IOMMU		3
#define VFIO_DMA_CC_IOMMU		4
#define VFIO_EEH			5
#define VFIO_TYPE1_NESTING_IOMMU	6	/* Implies v2 */
#define VFIO_SPAPR_TCE_v2_IOMMU		7
#define VFIO_NOIOMMU_IOMMU		8
#define VFIO_UNMAP_ALL			9
#define VFIO_UPDATE_VADDR		10

#define VFIO_TYPE	(';')
#define VFIO_BASE	100

struct vfio_info_cap_header {
	__u16	id;		/* Identifies capability */
	__u16	version;	/* Version specific to the capability ID */
	__u32	next;		/* Offset of next capability */
};

#define VFIO_GET_API_VERSION		_IO(VFIO_TYPE, VFIO_BASE + 0)
#define VFIO_CHECK_EXTENSION		_IO(VFIO_TYPE, VFIO_BASE + 1)
#define VFIO_SET_IOMMU			_IO(VFIO_TYPE, VFIO_BASE + 2)

struct vfio_group_status {
	__u32	argsz;
	__u32	flags;
#define VFIO_GROUP_FLAGS_VIABLE		(1 << 0)
#define VFIO_GROUP_FLAGS_CONTAINER_SET	(1 << 1)
};
#define VFIO_GROUP_GET_STATUS		_IO(VFIO_TYPE, VFIO_BASE + 3)
#define VFIO_GROUP_SET_CONTAINER	_IO(VFIO_TYPE, VFIO_BASE + 4)
#define VFIO_GROUP_UNSET_CONTAINER	_IO(VFIO_TYPE, VFIO_BASE + 5)

struct vfio_iommu_type1_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)	/* supported page sizes info */
#define VFIO_IOMMU_INFO_CAPS	(1 << 1)	/* Info supports caps */
	__u64	iova_pgsizes;	/* Bitmap of supported page sizes */
	__u32   cap_offset;	/* Offset within info struct of first cap */
	__u32   pad;		/* explicit here; implicit tail padding in older headers (sizeof 24 either way) */
};

#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE  1

struct vfio_iova_range {
	__u64	start;
	__u64	end;
};

struct vfio_iommu_type1_info_cap_iova_range {
	struct	vfio_info_cap_header header;
	__u32	nr_iovas;
	__u32	reserved;
	struct	vfio_iova_range iova_ranges[];
};

#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION  2

struct vfio_iommu_type1_info_cap_migration {
	struct	vfio_info_cap_header header;
	__u32	flags;
	__u64	pgsize_bitmap;
	__u64	max_dirty_bitmap_size;		/* in bytes */
};

#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3

struct vfio_iommu_type1_info_dma_avail {
	struct	vfio_info_cap_header header;
	__u32	avail;
};

#define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

struct vfio_iommu_type1_dma_map {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMA_MAP_FLAG_READ (1 << 0)		/* readable from device */
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1)	/* writable from device */
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2)
	__u64	vaddr;				/* Process virtual address */
	__u64	iova;				/* IO virtual address */
	__u64	size;				/* Size of mapping (bytes) */
};

#define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)

struct vfio_iommu_type1_dma_unmap {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL		     (1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR	     (1 << 2)
	__u64	iova;				/* IO virtual address */
	__u64	size;				/* Size of mapping (bytes) */
	__u8    data[];
};

#define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)

/* Mainline numbers on the container fd that the RFC seeds must not reuse (not modelled): */
#define VFIO_IOMMU_ENABLE	_IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_IOMMU_DISABLE	_IO(VFIO_TYPE, VFIO_BASE + 16)
#define VFIO_IOMMU_DIRTY_PAGES             _IO(VFIO_TYPE, VFIO_BASE + 17)
#define VFIO_IOMMU_SPAPR_REGISTER_MEMORY	_IO(VFIO_TYPE, VFIO_BASE + 17)
#define VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY	_IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_IOMMU_SPAPR_TCE_CREATE	_IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIO_IOMMU_SPAPR_TCE_REMOVE	_IO(VFIO_TYPE, VFIO_BASE + 20)
#define VFIO_EEH_PE_OP			_IO(VFIO_TYPE, VFIO_BASE + 21)

#endif /* !VFIO_API_VERSION */

/* ======================================================================================= */
/* 2. docs/UAPI.md source 002: guest stage configuration (RFC 01/13, 2018), copied verbatim               */
/* ======================================================================================= */

/**
 * PASID table data used to bind guest PASID table to the host IOMMU. This will
 * enable guest managed first level page tables.
 * @version: for future extensions and identification of the data format
 * @bytes: size of this structure
 * @base_ptr: PASID table pointer
 * @pasid_bits: number of bits supported in the guest PASID table, must be less
 * or equal than the host supported PASID size.
 */
struct iommu_pasid_table_config {
	__u32 version;
#define PASID_TABLE_CFG_VERSION_1 1
	__u32 bytes;
	__u64 base_ptr;
	__u8 pasid_bits;
};

/**
 * Stream Table Entry S1 info
 * @disabled: the smmu is disabled
 * @bypassed: stage 1 is bypassed
 * @aborted: aborted
 * @cdptr_dma: GPA of the Context Descriptor
 * @asid: address space identified associated to the CD
 */
struct iommu_smmu_s1_config {
	__u8 disabled;
	__u8 bypassed;
	__u8 aborted;
	__u64 cdptr_dma;
	__u16 asid;
};

struct iommu_guest_stage_config {
#define PASID_TABLE (1 << 0)
#define SMMUV3_S1_CFG (1 << 1)
	__u32 flags;
	union {
		struct iommu_pasid_table_config pasidt;
		struct iommu_smmu_s1_config smmu_s1;
	};
};

/* ======================================================================================= */
/* 3. docs/UAPI.md source 003: include/uapi/linux/iommu.h of the vSVA RFC v3.1 (2020), copied verbatim     */
/*    (only the include guard is renamed: the system header uses _IOMMU_H for the newer,   */
/*    different file)                                                                       */
/* ======================================================================================= */
#ifdef _IOMMU_H
#error "system <linux/iommu.h> was included: it declares newer, different versions of these structs"
#endif
/* --- begin docs/UAPI.md source 003 linux/iommu.h body --- */
/**
 * Current version of the IOMMU user API. This is intended for query
 * between user and kernel to determine compatible data structures.
 *
 * Having a single UAPI version to govern the user-kernel data structures
 * makes compatibility check straightforward. On the contrary, supporting
 * combinations of multiple versions of the data can be a nightmare.
 *
 * UAPI version can be bumped up with the following rules:
 * 1. All data structures passed between user and kernel space share
 *    the same version number. i.e. any extension to to any structure
 *    results in version bump up.
 *
 * 2. Data structures are open to extension but closed to modification.
 *    New fields must be added at the end of each data structure with
 *    64bit alignment. Flag bits can be added without size change but
 *    existing ones cannot be altered.
 *
 * 3. Versions are backward compatible.
 *
 * 4. Version to size lookup is supported by kernel internal API for each
 *    API function type. @version is mandatory for new data structures
 *    and must be at the beginning with type of __u32.
 */
#define IOMMU_UAPI_VERSION	1
static __inline__ int iommu_get_uapi_version(void)
{
	return IOMMU_UAPI_VERSION;
}

/*
 * Supported UAPI features that can be reported to user space.
 * These types represent the capability available in the kernel.
 *
 * REVISIT: UAPI version also implies the capabilities. Should we
 * report them explicitly?
 */
enum IOMMU_UAPI_DATA_TYPES {
	IOMMU_UAPI_BIND_GPASID,
	IOMMU_UAPI_CACHE_INVAL,
	IOMMU_UAPI_PAGE_RESP,
	NR_IOMMU_UAPI_TYPE,
};

#define IOMMU_UAPI_CAP_MASK ((1 << IOMMU_UAPI_BIND_GPASID) |	\
				(1 << IOMMU_UAPI_CACHE_INVAL) |	\
				(1 << IOMMU_UAPI_PAGE_RESP))

#define IOMMU_FAULT_PERM_READ	(1 << 0) /* read */
#define IOMMU_FAULT_PERM_WRITE	(1 << 1) /* write */
#define IOMMU_FAULT_PERM_EXEC	(1 << 2) /* exec */
#define IOMMU_FAULT_PERM_PRIV	(1 << 3) /* privileged */

/* Generic fault types, can be expanded IRQ remapping fault */
enum iommu_fault_type {
	IOMMU_FAULT_DMA_UNRECOV = 1,	/* unrecoverable fault */
	IOMMU_FAULT_PAGE_REQ,		/* page request fault */
};

enum iommu_fault_reason {
	IOMMU_FAULT_REASON_UNKNOWN = 0,

	/* Could not access the PASID table (fetch caused external abort) */
	IOMMU_FAULT_REASON_PASID_FETCH,

	/* PASID entry is invalid or has configuration errors */
	IOMMU_FAULT_REASON_BAD_PASID_ENTRY,

	/*
	 * PASID is out of range (e.g. exceeds the maximum PASID
	 * supported by the IOMMU) or disabled.
	 */
	IOMMU_FAULT_REASON_PASID_INVALID,

	/*
	 * An external abort occurred fetching (or updating) a translation
	 * table descriptor
	 */
	IOMMU_FAULT_REASON_WALK_EABT,

	/*
	 * Could not access the page table entry (Bad address),
	 * actual translation fault
	 */
	IOMMU_FAULT_REASON_PTE_FETCH,

	/* Protection flag check failed */
	IOMMU_FAULT_REASON_PERMISSION,

	/* access flag check failed */
	IOMMU_FAULT_REASON_ACCESS,

	/* Output address of a translation stage caused Address Size fault */
	IOMMU_FAULT_REASON_OOR_ADDRESS,
};

/**
 * struct iommu_fault_unrecoverable - Unrecoverable fault data
 * @reason: reason of the fault, from &enum iommu_fault_reason
 * @flags: parameters of this fault (IOMMU_FAULT_UNRECOV_* values)
 * @pasid: Process Address Space ID
 * @perm: requested permission access using by the incoming transaction
 *        (IOMMU_FAULT_PERM_* values)
 * @addr: offending page address
 * @fetch_addr: address that caused a fetch abort, if any
 */
struct iommu_fault_unrecoverable {
	__u32	reason;
#define IOMMU_FAULT_UNRECOV_PASID_VALID		(1 << 0)
#define IOMMU_FAULT_UNRECOV_ADDR_VALID		(1 << 1)
#define IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID	(1 << 2)
	__u32	flags;
	__u32	pasid;
	__u32	perm;
	__u64	addr;
	__u64	fetch_addr;
};

/**
 * struct iommu_fault_page_request - Page Request data
 * @flags: encodes whether the corresponding fields are valid and whether this
 *         is the last page in group (IOMMU_FAULT_PAGE_REQUEST_* values)
 * @pasid: Process Address Space ID
 * @grpid: Page Request Group Index
 * @perm: requested page permissions (IOMMU_FAULT_PERM_* values)
 * @addr: page address
 * @private_data: device-specific private information
 */
struct iommu_fault_page_request {
#define IOMMU_FAULT_PAGE_REQUEST_PASID_VALID	(1 << 0)
#define IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE	(1 << 1)
#define IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA	(1 << 2)
	__u32	flags;
	__u32	pasid;
	__u32	grpid;
	__u32	perm;
	__u64	addr;
	__u64	private_data[2];
};

/**
 * struct iommu_fault - Generic fault data
 * @type: fault type from &enum iommu_fault_type
 * @padding: reserved for future use (should be zero)
 * @event: fault event, when @type is %IOMMU_FAULT_DMA_UNRECOV
 * @prm: Page Request message, when @type is %IOMMU_FAULT_PAGE_REQ
 * @padding2: sets the fault size to allow for future extensions
 */
struct iommu_fault {
	__u32	type;
	__u32	padding;
	union {
		struct iommu_fault_unrecoverable event;
		struct iommu_fault_page_request prm;
		__u8 padding2[56];
	};
};

/**
 * enum iommu_page_response_code - Return status of fault handlers
 * @IOMMU_PAGE_RESP_SUCCESS: Fault has been handled and the page tables
 *	populated, retry the access. This is "Success" in PCI PRI.
 * @IOMMU_PAGE_RESP_FAILURE: General error. Drop all subsequent faults from
 *	this device if possible. This is "Response Failure" in PCI PRI.
 * @IOMMU_PAGE_RESP_INVALID: Could not handle this fault, don't retry the
 *	access. This is "Invalid Request" in PCI PRI.
 */
enum iommu_page_response_code {
	IOMMU_PAGE_RESP_SUCCESS = 0,
	IOMMU_PAGE_RESP_INVALID,
	IOMMU_PAGE_RESP_FAILURE,
};

/**
 * struct iommu_page_response - Generic page response information
 * @version: IOMMU_UAPI_VERSION
 * @flags: encodes whether the corresponding fields are valid
 *         (IOMMU_FAULT_PAGE_RESPONSE_* values)
 * @pasid: Process Address Space ID
 * @grpid: Page Request Group Index
 * @code: response code from &enum iommu_page_response_code
 */
struct iommu_page_response {
	__u32	version;
#define IOMMU_PAGE_RESP_PASID_VALID	(1 << 0)
	__u32	flags;
	__u32	pasid;
	__u32	grpid;
	__u32	code;
};

/* defines the granularity of the invalidation */
enum iommu_inv_granularity {
	IOMMU_INV_GRANU_DOMAIN,	/* domain-selective invalidation */
	IOMMU_INV_GRANU_PASID,	/* PASID-selective invalidation */
	IOMMU_INV_GRANU_ADDR,	/* page-selective invalidation */
	IOMMU_INV_GRANU_NR,	/* number of invalidation granularities */
};

/**
 * struct iommu_inv_addr_info - Address Selective Invalidation Structure
 *
 * @flags: indicates the granularity of the address-selective invalidation
 * - If the PASID bit is set, the @pasid field is populated and the invalidation
 *   relates to cache entries tagged with this PASID and matching the address
 *   range.
 * - If ARCHID bit is set, @archid is populated and the invalidation relates
 *   to cache entries tagged with this architecture specific ID and matching
 *   the address range.
 * - Both PASID and ARCHID can be set as they may tag different caches.
 * - If neither PASID or ARCHID is set, global addr invalidation applies.
 * - The LEAF flag indicates whether only the leaf PTE caching needs to be
 *   invalidated and other paging structure caches can be preserved.
 * @pasid: process address space ID
 * @archid: architecture-specific ID
 * @addr: first stage/level input address
 * @granule_size: page/block size of the mapping in bytes
 * @nb_granules: number of contiguous granules to be invalidated
 */
struct iommu_inv_addr_info {
#define IOMMU_INV_ADDR_FLAGS_PASID	(1 << 0)
#define IOMMU_INV_ADDR_FLAGS_ARCHID	(1 << 1)
#define IOMMU_INV_ADDR_FLAGS_LEAF	(1 << 2)
	__u32	flags;
	__u32	archid;
	__u64	pasid;
	__u64	addr;
	__u64	granule_size;
	__u64	nb_granules;
};

/**
 * struct iommu_inv_pasid_info - PASID Selective Invalidation Structure
 *
 * @flags: indicates the granularity of the PASID-selective invalidation
 * - If the PASID bit is set, the @pasid field is populated and the invalidation
 *   relates to cache entries tagged with this PASID and matching the address
 *   range.
 * - If the ARCHID bit is set, the @archid is populated and the invalidation
 *   relates to cache entries tagged with this architecture specific ID and
 *   matching the address range.
 * - Both PASID and ARCHID can be set as they may tag different caches.
 * - At least one of PASID or ARCHID must be set.
 * @pasid: process address space ID
 * @archid: architecture-specific ID
 */
struct iommu_inv_pasid_info {
#define IOMMU_INV_PASID_FLAGS_PASID	(1 << 0)
#define IOMMU_INV_PASID_FLAGS_ARCHID	(1 << 1)
	__u32	flags;
	__u32	archid;
	__u64	pasid;
};

/**
 * struct iommu_cache_invalidate_info - First level/stage invalidation
 *     information
 * @version: IOMMU_UAPI_VERSION
 * @cache: bitfield that allows to select which caches to invalidate
 * @granularity: defines the lowest granularity used for the invalidation:
 *     domain > PASID > addr
 * @padding: reserved for future use (should be zero)
 * @pasid_info: invalidation data when @granularity is %IOMMU_INV_GRANU_PASID
 * @addr_info: invalidation data when @granularity is %IOMMU_INV_GRANU_ADDR
 *
 * Not all the combinations of cache/granularity are valid:
 *
 * +--------------+---------------+---------------+---------------+
 * | type /       |   DEV_IOTLB   |     IOTLB     |      PASID    |
 * | granularity  |               |               |      cache    |
 * +==============+===============+===============+===============+
 * | DOMAIN       |       N/A     |       Y       |       Y       |
 * +--------------+---------------+---------------+---------------+
 * | PASID        |       Y       |       Y       |       Y       |
 * +--------------+---------------+---------------+---------------+
 * | ADDR         |       Y       |       Y       |       N/A     |
 * +--------------+---------------+---------------+---------------+
 *
 * Invalidations by %IOMMU_INV_GRANU_DOMAIN don't take any argument other than
 * @version and @cache.
 *
 * If multiple cache types are invalidated simultaneously, they all
 * must support the used granularity.
 */
struct iommu_cache_invalidate_info {
	__u32	version;
/* IOMMU paging structure cache */
#define IOMMU_CACHE_INV_TYPE_IOTLB	(1 << 0) /* IOMMU IOTLB */
#define IOMMU_CACHE_INV_TYPE_DEV_IOTLB	(1 << 1) /* Device IOTLB */
#define IOMMU_CACHE_INV_TYPE_PASID	(1 << 2) /* PASID cache */
#define IOMMU_CACHE_INV_TYPE_NR		(3)
	__u8	cache;
	__u8	granularity;
	__u8	padding[2];
	union {
		struct iommu_inv_pasid_info pasid_info;
		struct iommu_inv_addr_info addr_info;
	};
};

/**
 * struct iommu_gpasid_bind_data_vtd - Intel VT-d specific data on device and guest
 * SVA binding.
 *
 * @flags:	VT-d PASID table entry attributes
 * @pat:	Page attribute table data to compute effective memory type
 * @emt:	Extended memory type
 *
 * Only guest vIOMMU selectable and effective options are passed down to
 * the host IOMMU.
 */
struct iommu_gpasid_bind_data_vtd {
#define IOMMU_SVA_VTD_GPASID_SRE	(1 << 0) /* supervisor request */
#define IOMMU_SVA_VTD_GPASID_EAFE	(1 << 1) /* extended access enable */
#define IOMMU_SVA_VTD_GPASID_PCD	(1 << 2) /* page-level cache disable */
#define IOMMU_SVA_VTD_GPASID_PWT	(1 << 3) /* page-level write through */
#define IOMMU_SVA_VTD_GPASID_EMTE	(1 << 4) /* extended mem type enable */
#define IOMMU_SVA_VTD_GPASID_CD		(1 << 5) /* PASID-level cache disable */
	__u64 flags;
	__u32 pat;
	__u32 emt;
};
#define IOMMU_SVA_VTD_GPASID_EMT_MASK	(IOMMU_SVA_VTD_GPASID_CD | \
					 IOMMU_SVA_VTD_GPASID_EMTE | \
					 IOMMU_SVA_VTD_GPASID_PCD |  \
					 IOMMU_SVA_VTD_GPASID_PWT)
/**
 * struct iommu_gpasid_bind_data - Information about device and guest PASID binding
 * @version:	IOMMU_UAPI_VERSION
 * @format:	PASID table entry format
 * @flags:	Additional information on guest bind request
 * @gpgd:	Guest page directory base of the guest mm to bind
 * @hpasid:	Process address space ID used for the guest mm in host IOMMU
 * @gpasid:	Process address space ID used for the guest mm in guest IOMMU
 * @addr_width:	Guest virtual address width
 * @padding:	Reserved for future use (should be zero)
 * @vtd:	Intel VT-d specific data
 *
 * Guest to host PASID mapping can be an identity or non-identity, where guest
 * has its own PASID space. For non-identify mapping, guest to host PASID lookup
 * is needed when VM programs guest PASID into an assigned device. VMM may
 * trap such PASID programming then request host IOMMU driver to convert guest
 * PASID to host PASID based on this bind data.
 */
struct iommu_gpasid_bind_data {
	__u32 version;
#define IOMMU_PASID_FORMAT_INTEL_VTD	1
#define IOMMU_PASID_FORMAT_SMMUV3	2	/* pkstore: gpgd = IPA of the guest linear CD table */
	__u32 format;
#define IOMMU_SVA_GPASID_VAL	(1 << 0) /* guest PASID valid */
	__u64 flags;
	__u64 gpgd;
	__u64 hpasid;
	__u64 gpasid;
	__u32 addr_width;
	__u8  padding[12];
	/* Vendor specific data */
	union {
		struct iommu_gpasid_bind_data_vtd vtd;
	};
};
/* --- end docs/UAPI.md source 003 linux/iommu.h body --- */

/* ======================================================================================= */
/* 4. docs/UAPI.md source 003: linux/vfio.h additions of the vSVA RFC v3.1. Struct bodies verbatim;        */
/*    numbers per docs/UAPI.md.                                                             */
/* ======================================================================================= */

/*
 * Hardware IOMMUs with two-stage translation capability give userspace
 * the ownership of stage-1 translation structures (e.g. page tables).
 * VFIO exposes the two-stage IOMMU programming capability to userspace
 * based on the IOMMU UAPIs. Therefore user of VFIO_TYPE1_NESTING should
 * check the IOMMU UAPI version compatibility.
 *
 * docs/UAPI.md source 003 said 9: taken by mainline VFIO_UNMAP_ALL (and 10 by VFIO_UPDATE_VADDR).
 */
#define VFIO_NESTING_IOMMU_UAPI		11

/* docs/UAPI.md source 003 said 2: taken by mainline CAP_MIGRATION (and 3 by DMA_AVAIL). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_NESTING  4

struct vfio_iommu_type1_info_cap_nesting {
	struct	vfio_info_cap_header header;
#define VFIO_IOMMU_PASID_REQS	(1 << 0)
	__u32	nesting_capabilities;
	__u32	stage1_format;
};

struct vfio_iommu_type1_pasid_request {
	__u32	argsz;
#define VFIO_IOMMU_PASID_ALLOC	(1 << 0)
#define VFIO_IOMMU_PASID_FREE	(1 << 1)
	__u32	flags;
	union {
		struct {
			__u32 min;
			__u32 max;
			__u32 result;
		} alloc_pasid;
		__u32 free_pasid;
	};
};

#define VFIO_PASID_REQUEST_MASK	(VFIO_IOMMU_PASID_ALLOC | \
					 VFIO_IOMMU_PASID_FREE)

/* Unchanged: docs/UAPI.md source 003 is the reference series for +22..+24. */
#define VFIO_IOMMU_PASID_REQUEST	_IO(VFIO_TYPE, VFIO_BASE + 22)

struct vfio_iommu_type1_bind {
	__u32		argsz;
	__u32		flags;
#define VFIO_IOMMU_BIND_GUEST_PGTBL	(1 << 0)
#define VFIO_IOMMU_UNBIND_GUEST_PGTBL	(1 << 1)
	__u8		data[];
};

#define VFIO_IOMMU_BIND_MASK	(VFIO_IOMMU_BIND_GUEST_PGTBL | \
					VFIO_IOMMU_UNBIND_GUEST_PGTBL)

#define VFIO_IOMMU_BIND		_IO(VFIO_TYPE, VFIO_BASE + 23)

/*
 * pkstore: docs/UAPI.md source 002's guest-stage configuration is carried by VFIO_IOMMU_BIND (its own 2018
 * VFIO ioctl was superseded by docs/UAPI.md source 003's BIND). data[] is then a struct iommu_guest_stage_config
 * (32 bytes; its flags select PASID_TABLE or SMMUV3_S1_CFG), so argsz >= 8 + 32. See docs/UAPI.md.
 */
#define VFIO_IOMMU_BIND_GUEST_STAGE	(1 << 2)
#define VFIO_IOMMU_UNBIND_GUEST_STAGE	(1 << 3)

struct vfio_iommu_type1_cache_invalidate {
	__u32   argsz;
	__u32   flags;
	struct	iommu_cache_invalidate_info cache_info;
};
#define VFIO_IOMMU_CACHE_INVALIDATE      _IO(VFIO_TYPE, VFIO_BASE + 24)

/*
 * docs/UAPI.md source 001 (2017) VFIO_IOMMU_TLB_INVALIDATE (+23, struct vfio_iommu_tlb_invalidate) is superseded
 * by VFIO_IOMMU_CACHE_INVALIDATE and deliberately has no number here (docs/UAPI.md).
 */

/* ======================================================================================= */
/* 5. docs/UAPI.md source 000 (VMID, 2021) and docs/UAPI.md source 004 (pkernfs persistent page tables, 2024)            */
/* ======================================================================================= */

#define VFIO_IOMMU_VMID_INVALID (-1U)

/* docs/UAPI.md source 000 said +22 / +23: taken by VFIO_IOMMU_PASID_REQUEST / VFIO_IOMMU_BIND. */
#define VFIO_IOMMU_GET_VMID _IO(VFIO_TYPE, VFIO_BASE + 25)	/* arg: __u32 *vmid (out) */
#define VFIO_IOMMU_SET_VMID _IO(VFIO_TYPE, VFIO_BASE + 26)	/* arg: the vmid value itself */

struct vfio_set_persistent_pgtables {
	/*
	 * File descriptor for a pkernfs IOMMU pgtables
	 * file to be used for persistence.
	 */
	__u32	persistent_pgtables_fd;
};
/* docs/UAPI.md source 004 said +21: that is mainline VFIO_EEH_PE_OP, also handled on the container fd. */
#define VFIO_CONTAINER_SET_PERSISTENT_PGTABLES	_IO(VFIO_TYPE, VFIO_BASE + 27)

/* ======================================================================================= */
/* 6. pkstore additions (no seed defines these)                                             */
/* ======================================================================================= */

/*
 * MAP_DMA after kexec: re-establish the vfio_dma bookkeeping for a range that the persistent
 * page tables (VFIO_CONTAINER_SET_PERSISTENT_PGTABLES) already map, without writing PTEs.
 */
#define VFIO_DMA_MAP_FLAG_LIVE_UPDATE (1 << 3)

/*
 * VFIO_IOMMU_READ_FAULTS: dequeue up to @count struct iommu_fault records (docs/UAPI.md source 003 defines the
 * record but not how VFIO delivers it). Records follow the fixed part, inside @argsz.
 */
struct vfio_iommu_type1_fault_read {
	__u32	argsz;
	__u32	flags;		/* must be 0 */
	__u32	count;		/* in: capacity in records; out: records returned */
	__u32	pending;	/* out: records still queued after this read */
	struct	iommu_fault records[];
};
#define VFIO_IOMMU_READ_FAULTS		_IO(VFIO_TYPE, VFIO_BASE + 28)

/* VFIO_IOMMU_PAGE_RESPONSE: answer a IOMMU_FAULT_PAGE_REQ fault. */
struct vfio_iommu_type1_page_response {
	__u32	argsz;
	__u32	flags;		/* must be 0 */
	struct	iommu_page_response resp;
};
#define VFIO_IOMMU_PAGE_RESPONSE	_IO(VFIO_TYPE, VFIO_BASE + 29)

#endif /* PKSTORE_UAPI_H */
