package org.pkstore.vfio;

import org.pkstore.persist.PageTableFile;

/**
 * An open pkernfs IOMMU page-table file ({@code pgtables/NAME.pt}) as a file descriptor: what
 * user space hands to VFIO_CONTAINER_SET_PERSISTENT_PGTABLES (pkernfs RFC 13/18, docs/UAPI.md).
 */
public final class PersistentPgtableFile {
    private final String name;
    private final PageTableFile file;

    PersistentPgtableFile(String name, PageTableFile file) {
        this.name = name;
        this.file = file;
    }

    public String name() { return name; }
    public PageTableFile file() { return file; }

    @Override
    public String toString() {
        return "PersistentPgtableFile[" + name + "]";
    }
}
