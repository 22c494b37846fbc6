package org.pkstore.iommu.nested;

/**
 * The guest's own view of its RAM: 64-bit words at guest-physical addresses, as the guest kernel
 * reads and writes them (through its CPU's stage 2, not the IOMMU). What {@link Stage1TableBuilder}
 * writes through.
 */
public interface GuestPhysical {
    /** The word at {@code gpa} (8-byte aligned); IllegalArgumentException outside guest RAM. */
    long read(long gpa);

    /** Stores {@code value} at {@code gpa} with release semantics (a walker sees a whole word). */
    void write(long gpa, long value);
}
