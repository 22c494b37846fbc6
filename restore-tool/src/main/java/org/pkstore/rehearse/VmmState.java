package org.pkstore.rehearse;

import java.util.ArrayList;
import java.util.List;

/**
 * What the VMM keeps across a live update (QEMU keeps the equivalent in its own preserved state):
 * its guest memory mappings, and per container the group, the pkernfs page-table file and every
 * MAP_DMA it made. After kexec it replays exactly these with the live-update flag.
 * Serialised as JSON beside the mount ({@code vmm-state.json}).
 */
public final class VmmState {
    public static final class GuestMemory {
        public String name;
        public long vaddr;
        public long size;
    }

    public static final class Mapping {
        public long iova;
        public long vaddr;
        public long size;
        public int flags;
        public String label;
    }

    public static final class Container {
        public int group;
        public String bdf;
        public String pgtableFile;
        public int iommuType;
        public List<Mapping> mappings = new ArrayList<>();
    }

    /**
     * The guest's first-stage page table (its own, in its RAM) and the PASID it is bound to: what
     * the guest remembers, so the rehearsal can tell where PASID DMA must land without walking it.
     */
    public static final class Stage1 {
        /** {@link org.pkstore.iommu.Stage1Format} name. */
        public String format;
        public long rootGpa;
        public int pasid;
        public String bdf;
        public long gvaBase;
        /** Guest-physical page mapped at {@code gvaBase + i * 4096}. */
        public List<Long> pageGpas = new ArrayList<>();
        public long tablePages;
    }

    public String driver;
    /** Null when the VM bound no PASID. */
    public Stage1 stage1;
    public List<GuestMemory> guestMemory = new ArrayList<>();
    public List<Container> containers = new ArrayList<>();
}
