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

    public String driver;
    public List<GuestMemory> guestMemory = new ArrayList<>();
    public List<Container> containers = new ArrayList<>();
}
