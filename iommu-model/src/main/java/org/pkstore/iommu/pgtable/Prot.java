package org.pkstore.iommu.pgtable;

/**
 * Mapping permissions and attributes as the Linux IOMMU API passes them to map
 * (include/linux/iommu.h). Formats translate these into their own descriptor bits; a format that
 * cannot express a bit drops it, as the Linux driver for that hardware does.
 */
public final class Prot {
    private Prot() {}

    /** Device may read (DMA to memory from the device's point of view: memory is read). */
    public static final int READ = 1 << 0;
    /** Device may write. */
    public static final int WRITE = 1 << 1;
    /** Coherent with CPU caches (snooped / write-back cacheable). */
    public static final int CACHE = 1 << 2;
    /** Instruction fetch not allowed. */
    public static final int NOEXEC = 1 << 3;
    /** The target is MMIO: device memory type. */
    public static final int MMIO = 1 << 4;

    /** Every bit this class defines. */
    public static final int ALL = READ | WRITE | CACHE | NOEXEC | MMIO;

    /** "RW-C-X--" style: R, W, C(ache), X for NOEXEC, M(mio); '-' for absent. Allocates. */
    public static String toString(int prot) {
        StringBuilder sb = new StringBuilder(5);
        sb.append((prot & READ) != 0 ? 'R' : '-');
        sb.append((prot & WRITE) != 0 ? 'W' : '-');
        sb.append((prot & CACHE) != 0 ? 'C' : '-');
        sb.append((prot & NOEXEC) != 0 ? 'X' : '-');
        sb.append((prot & MMIO) != 0 ? 'M' : '-');
        return sb.toString();
    }
}
