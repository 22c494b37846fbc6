package org.pkstore.rehearse;

/**
 * The VM a rehearsal sets up on its first boot: guest memory size, and how many 4 KiB mappings its
 * guest has beside the 1 GiB and 2 MiB ones. Both containers of the VM share one VMID, so both map
 * the same guest identically (docs/UAPI.md, SET_VMID row); the guest's 4 KiB-mapped memory is a
 * small region and a bulk region, both in both domains.
 */
public final class RehearsalPlan {
    /** Guest RAM, bytes. */
    public long guestMemoryBytes = 6L << 30;
    /** 4 KiB mappings of the small region ("ram-4k", one MAP_DMA per domain). */
    public long smallMappings = 1_000;
    /** 4 KiB mappings of the bulk region ("ram-4k-bulk", one MAP_DMA per domain). */
    public long largeMappings = 1_000_000;
    /** PASIDs the VM allocates; the first gets a guest page table bound. */
    public int pasids = 2;

    /** Guest-physical offset of the 4 KiB mappings: 1.5 GiB + 4 KiB, so that no larger page fits. */
    public static final long SMALL_PAGES_OFFSET = (3L << 29) + 4096;
    /** IOVA of the small region: 2 GiB. */
    public static final long SMALL_PAGES_IOVA = 2L << 30;

    /** The bulk region follows the small one after a one-page hole (IOVA and guest offset alike). */
    public long bulkPagesOffset() {
        return SMALL_PAGES_OFFSET + (smallMappings + 1) * 4096L;
    }

    public long bulkPagesIova() {
        return SMALL_PAGES_IOVA + (smallMappings + 1) * 4096L;
    }

    /** Why this plan cannot run, or null. */
    public String problem() {
        if (smallMappings < 1 || largeMappings < 1) {
            return "mapping counts must be at least 1";
        }
        long need = bulkPagesOffset() + largeMappings * 4096L;
        if (need > guestMemoryBytes) {
            return "guest memory of " + guestMemoryBytes + " bytes is too small for " + smallMappings + " + "
                    + largeMappings + " 4 KiB mappings after the 1 GiB and 2 MiB ones (needs " + need + " bytes)";
        }
        if (pasids < 0 || pasids > 64) {
            return "pasids must be 0..64";
        }
        return null;
    }
}
