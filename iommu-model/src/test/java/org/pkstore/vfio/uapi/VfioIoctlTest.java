package org.pkstore.vfio.uapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

class VfioIoctlTest {

    @Test
    void numbersAreLinuxIoEncoding() {
        assertEquals(0x3B64, VfioIoctl.VFIO_GET_API_VERSION.number());
        assertEquals(0x3B65, VfioIoctl.VFIO_CHECK_EXTENSION.number());
        assertEquals(0x3B66, VfioIoctl.VFIO_SET_IOMMU.number());
        assertEquals(0x3B67, VfioIoctl.VFIO_GROUP_GET_STATUS.number());
        assertEquals(0x3B68, VfioIoctl.VFIO_GROUP_SET_CONTAINER.number());
        assertEquals(0x3B69, VfioIoctl.VFIO_GROUP_UNSET_CONTAINER.number());
        assertEquals(0x3B70, VfioIoctl.VFIO_IOMMU_GET_INFO.number());
        assertEquals(0x3B71, VfioIoctl.VFIO_IOMMU_MAP_DMA.number());
        assertEquals(0x3B72, VfioIoctl.VFIO_IOMMU_UNMAP_DMA.number());
        assertEquals(0x3B7A, VfioIoctl.VFIO_IOMMU_PASID_REQUEST.number());
        assertEquals(0x3B7B, VfioIoctl.VFIO_IOMMU_BIND.number());
        assertEquals(0x3B7C, VfioIoctl.VFIO_IOMMU_CACHE_INVALIDATE.number());
        assertEquals(0x3B7D, VfioIoctl.VFIO_IOMMU_GET_VMID.number());
        assertEquals(0x3B7E, VfioIoctl.VFIO_IOMMU_SET_VMID.number());
        assertEquals(0x3B7F, VfioIoctl.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES.number());
        assertEquals(0x3B80, VfioIoctl.VFIO_IOMMU_READ_FAULTS.number());
        assertEquals(0x3B81, VfioIoctl.VFIO_IOMMU_PAGE_RESPONSE.number());
        for (VfioIoctl i : VfioIoctl.values()) {
            assertEquals((';' << 8) | (100 + i.baseOffset()), i.number(), i.name());
        }
    }

    @Test
    void byNumberFindsEachAndOnlyThose() {
        Set<Integer> seen = new HashSet<>();
        for (VfioIoctl i : VfioIoctl.values()) {
            assertEquals(Optional.of(i), VfioIoctl.byNumber(i.number()));
            assertTrue(seen.add(i.number()), "duplicate number " + i);
        }
        assertEquals(Optional.empty(), VfioIoctl.byNumber(VfioUapi.VFIO_EEH_PE_OP));
        assertEquals(Optional.empty(), VfioIoctl.byNumber(VfioUapi.VFIO_IOMMU_DIRTY_PAGES));
        assertEquals(Optional.empty(), VfioIoctl.byNumber(0));
        assertEquals(Optional.empty(), VfioIoctl.byNumber(-1));
        assertEquals("ioctl 0x3b79", VfioIoctl.describe(VfioUapi.VFIO_EEH_PE_OP));
        assertEquals("VFIO_IOMMU_MAP_DMA", VfioIoctl.describe(0x3B71));
    }

    @Test
    void noRfcIoctlReusesAMainlineContainerNumber() {
        for (VfioIoctl i : VfioIoctl.values()) {
            if (i.origin() != VfioIoctl.Origin.MAINLINE && i.fdType() == VfioIoctl.FdType.CONTAINER) {
                assertFalse(VfioIoctl.isMainlineContainerNr(i.baseOffset()), i.name());
            }
        }
        assertEquals(VfioUapi.vfioIo(21), VfioUapi.VFIO_EEH_PE_OP);
        assertTrue(VfioIoctl.byName("VFIO_IOMMU_TLB_INVALIDATE").isEmpty(), "the 2017 TLB_INVALIDATE RFC is superseded (docs/UAPI.md section 2, rule 6): no number");
    }

    @Test
    void argumentKindsAndSizes() {
        assertEquals(VfioIoctl.ArgKind.SCALAR, VfioIoctl.VFIO_IOMMU_SET_VMID.argKind());
        assertEquals(8, VfioIoctl.VFIO_IOMMU_SET_VMID.argSize());
        assertEquals(VfioIoctl.ArgKind.FIXED_POINTER, VfioIoctl.VFIO_IOMMU_GET_VMID.argKind());
        assertEquals(4, VfioIoctl.VFIO_IOMMU_GET_VMID.argSize());
        assertEquals(4, VfioIoctl.VFIO_GROUP_SET_CONTAINER.argSize());
        assertEquals(VfioIoctl.FdType.GROUP, VfioIoctl.VFIO_GROUP_SET_CONTAINER.fdType());
        assertEquals(24, VfioIoctl.VFIO_IOMMU_GET_INFO.argSize());
        assertEquals(16, VfioIoctl.VFIO_IOMMU_GET_INFO.minArgsz());
        assertEquals(32, VfioIoctl.VFIO_IOMMU_MAP_DMA.argSize());
        assertEquals(20, VfioIoctl.VFIO_IOMMU_PASID_REQUEST.argSize());
        assertEquals(56, VfioIoctl.VFIO_IOMMU_CACHE_INVALIDATE.argSize());
        assertEquals(28, VfioIoctl.VFIO_IOMMU_PAGE_RESPONSE.argSize());
        assertEquals(16, VfioIoctl.VFIO_IOMMU_READ_FAULTS.argSize());
        assertTrue(VfioIoctl.VFIO_IOMMU_READ_FAULTS.variableLength());
        assertEquals(VfioIoctl.ArgKind.NONE, VfioIoctl.VFIO_GET_API_VERSION.argKind());
    }

    @Test
    void tableListsEveryIoctl() {
        String t = VfioIoctl.table();
        for (VfioIoctl i : VfioIoctl.values()) {
            assertTrue(t.contains(i.name()), i.name());
            assertTrue(t.contains("0x" + Integer.toHexString(i.number())), i.name());
        }
        assertEquals(VfioIoctl.values().length + 1, t.split("\n").length);
    }

    @Test
    void extensionAndCapabilityDecisions() {
        assertEquals(9, VfioUapi.VFIO_UNMAP_ALL);
        assertEquals(10, VfioUapi.VFIO_UPDATE_VADDR);
        assertEquals(11, VfioUapi.VFIO_NESTING_IOMMU_UAPI);
        assertEquals(4, VfioUapi.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING);
        assertEquals("VFIO_NESTING_IOMMU_UAPI", VfioUapi.extensionName(11));
        assertEquals("?99", VfioUapi.extensionName(99));
        assertEquals("?-1", VfioUapi.extensionName(-1));
    }

    @Test
    void cacheGranularityValidityTable() {
        int iotlb = IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_IOTLB;
        int dev = IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_DEV_IOTLB;
        int pasid = IommuCacheInvalidateInfo.IOMMU_CACHE_INV_TYPE_PASID;
        int domainG = IommuUapi.IOMMU_INV_GRANU_DOMAIN;
        int pasidG = IommuUapi.IOMMU_INV_GRANU_PASID;
        int addrG = IommuUapi.IOMMU_INV_GRANU_ADDR;
        // the cache type x granularity table of docs/UAPI.md section 3, cell by cell
        assertFalse(IommuUapi.isValidCacheInvalidation(dev, domainG));
        assertTrue(IommuUapi.isValidCacheInvalidation(iotlb, domainG));
        assertTrue(IommuUapi.isValidCacheInvalidation(pasid, domainG));
        assertTrue(IommuUapi.isValidCacheInvalidation(dev, pasidG));
        assertTrue(IommuUapi.isValidCacheInvalidation(iotlb, pasidG));
        assertTrue(IommuUapi.isValidCacheInvalidation(pasid, pasidG));
        assertTrue(IommuUapi.isValidCacheInvalidation(dev, addrG));
        assertTrue(IommuUapi.isValidCacheInvalidation(iotlb, addrG));
        assertFalse(IommuUapi.isValidCacheInvalidation(pasid, addrG));
        // combinations: all set types must support the granularity
        assertTrue(IommuUapi.isValidCacheInvalidation(iotlb | dev | pasid, pasidG));
        assertFalse(IommuUapi.isValidCacheInvalidation(iotlb | dev, domainG));
        assertFalse(IommuUapi.isValidCacheInvalidation(iotlb | pasid, addrG));
        // nonsense
        assertFalse(IommuUapi.isValidCacheInvalidation(0, pasidG));
        assertFalse(IommuUapi.isValidCacheInvalidation(8, pasidG));
        assertFalse(IommuUapi.isValidCacheInvalidation(iotlb, IommuUapi.IOMMU_INV_GRANU_NR));
        assertFalse(IommuUapi.isValidCacheInvalidation(iotlb, -1));
    }

    @Test
    void faultReasonNames() {
        assertEquals("IOMMU_FAULT_REASON_UNKNOWN", IommuUapi.faultReasonName(0));
        assertEquals("IOMMU_FAULT_REASON_OOR_ADDRESS", IommuUapi.faultReasonName(8));
        assertEquals("IOMMU_FAULT_REASON_?9", IommuUapi.faultReasonName(9));
        assertEquals("IOMMU_FAULT_REASON_?4294967295", IommuUapi.faultReasonName(-1));
    }
}
