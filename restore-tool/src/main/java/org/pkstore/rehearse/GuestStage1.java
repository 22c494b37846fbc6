package org.pkstore.rehearse;

import org.pkstore.iommu.Stage1Format;
import org.pkstore.iommu.nested.FirstStageFormat;
import org.pkstore.iommu.nested.GuestPhysical;
import org.pkstore.iommu.nested.Stage1TableBuilder;
import org.pkstore.iommu.pgtable.Prot;
import org.pkstore.persist.GuestMemoryFile;

import java.util.List;

/**
 * The rehearsal's guest kernel giving a device a PASID address space: it builds a first-stage page
 * table in its own RAM (VT-d first-level 4-level for vtd, ARM stage 1 4 KiB / T0SZ 16 for smmuv3),
 * mapping {@link #PAGES} pages of a guest buffer at {@link #GVA_BASE}, scattered over two regions of
 * its RAM that stage 2 maps with 4 KiB pages and with 2 MiB blocks, so the device's nested walk
 * crosses both. The table pages come from a pool in the 1 GiB-mapped region.
 *
 * <p>The guest's physical address space is the one its VMM gave it: each MAP_DMA maps guest-physical
 * {@code [iova, iova + size)} (IOVA = GPA for an assigned device) to the VMM's memory at
 * {@code vaddr}, the same slots the CPU's stage 2 uses; {@link Ram} follows them to the guest
 * memory file, so the guest writes its tables where the IOMMU's stage 2 will find them.
 */
final class GuestStage1 {
    /** Guest virtual address of the buffer (lower half: canonical for VT-d, TTB0 for ARM). */
    static final long GVA_BASE = 0x5500_0000_0000L;
    /** Pages of the buffer. */
    static final int PAGES = 256;
    /** GPA of the guest's page-table pool (inside the 1 GiB-mapped region) and its size. */
    static final long TABLE_POOL_GPA = 0x3000_0000L;
    static final long TABLE_POOL_BYTES = 64 * 4096;
    /** GPA of the buffer's pages in the 2 MiB-mapped region. */
    static final long BLOCK_REGION_GPA = (1L << 30) + (64L << 20);
    /** Where in each buffer page the device's PASID slots are: clear of the untagged DMA slots (below 0x600). */
    static final long SLOT_OFFSET = 0xc00;
    /** Stride of the scatter: GVA page i is buffer page (i * 97) mod PAGES (97 is prime to 256). */
    private static final int SCATTER = 97;

    private GuestStage1() {}

    static Stage1Format formatFor(String driver) {
        return "smmuv3".equals(driver) ? Stage1Format.ARM_LPAE_S1_4K : Stage1Format.VTD_FIRST_LEVEL_4;
    }

    /** Builds the table in guest RAM and returns what the guest remembers of it (pasid and bdf left to the caller). */
    static VmmState.Stage1 build(Stage1Format kind, Ram ram, RehearsalPlan plan) {
        FirstStageFormat format = FirstStageFormat.of(kind);
        Stage1TableBuilder b = new Stage1TableBuilder(format, ram, TABLE_POOL_GPA, TABLE_POOL_BYTES);
        VmmState.Stage1 s = new VmmState.Stage1();
        s.format = kind.name();
        s.gvaBase = GVA_BASE;
        long small = Math.min(PAGES / 2, plan.smallMappings);
        long[] buffer = new long[PAGES];
        for (int k = 0; k < PAGES; k++) {
            buffer[k] = k < small ? RehearsalPlan.SMALL_PAGES_IOVA + k * 4096L : BLOCK_REGION_GPA + k * 4096L;
        }
        for (int i = 0; i < PAGES; i++) {
            long gpa = buffer[(int) ((long) i * SCATTER % PAGES)];
            b.map4k(GVA_BASE + i * 4096L, gpa, Prot.READ | Prot.WRITE | Prot.CACHE);
            s.pageGpas.add(gpa);
        }
        s.rootGpa = b.rootGpa();
        s.tablePages = b.tablePages();
        return s;
    }

    /** The word the device writes in a PASID slot: PASID and GVA page in the top bits, so a landing can be told apart. */
    static long tag(int pasid, long gva) {
        return (long) (pasid & 0xfff) << 52 | ((gva >>> 12) & 0xfff) << 40;
    }

    static final long TAG_MASK = 0xffffffL << 40;

    /** The guest's RAM as its VMM mapped it: GPA -> VMM address -> guest memory file. */
    static final class Ram implements GuestPhysical {
        private final GuestMemoryFile memory;
        private final long memoryVaddr;
        private final List<VmmState.Mapping> slots;

        Ram(GuestMemoryFile memory, long memoryVaddr, List<VmmState.Mapping> slots) {
            this.memory = memory;
            this.memoryVaddr = memoryVaddr;
            this.slots = slots;
        }

        private long hostPa(long gpa) {
            for (VmmState.Mapping m : slots) {
                if (gpa >= m.iova && gpa - m.iova < m.size) {
                    long pa = memory.paBase() + (m.vaddr - memoryVaddr) + (gpa - m.iova);
                    if (memory.contains(pa, 8)) {
                        return pa;
                    }
                }
            }
            throw new IllegalArgumentException("GPA 0x" + Long.toHexString(gpa) + " is not guest RAM");
        }

        @Override
        public long read(long gpa) {
            return memory.readLong(hostPa(gpa));
        }

        @Override
        public void write(long gpa, long value) {
            memory.writeLong(hostPa(gpa), value);
        }
    }
}
