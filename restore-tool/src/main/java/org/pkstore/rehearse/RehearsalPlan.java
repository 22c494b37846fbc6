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
}
