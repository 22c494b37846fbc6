package org.pkstore.rehearse;

/**
 * The VM a rehearsal sets up on its first boot: guest memory size, and how many 4 KiB mappings the
 * two containers get beside their 1 GiB and 2 MiB mappings (one container small, one large, so that
 * reattach can be compared between them).
 */
public final class RehearsalPlan {
    /** Guest RAM, bytes. */
    public long guestMemoryBytes = 6L << 30;
    /** 4 KiB mappings in the first container's domain. */
    public long smallMappings = 1_000;
    /** 4 KiB mappings in the second container's domain. */
    public long largeMappings = 1_000_000;
    /** PASIDs the VM allocates; the first gets a guest page table bound. */
    public int pasids = 2;

    /** Guest-physical offset of the 4 KiB mappings: 1.5 GiB + 4 KiB, so that no larger page fits. */
    public static final long SMALL_PAGES_OFFSET = (3L << 29) + 4096;

    /** Why this plan cannot run, or null. */
    public String problem() {
        long most = Math.max(smallMappings, largeMappings);
        if (smallMappings < 1 || largeMappings < 1) {
            return "mapping counts must be at least 1";
        }
        long need = SMALL_PAGES_OFFSET + most * 4096L;
        if (need > guestMemoryBytes) {
            return "guest memory of " + guestMemoryBytes + " bytes is too small for " + most
                    + " 4 KiB mappings after the 1 GiB and 2 MiB ones (needs " + need + " bytes)";
        }
        if (pasids < 0 || pasids > 64) {
            return "pasids must be 0..64";
        }
        return null;
    }
}
