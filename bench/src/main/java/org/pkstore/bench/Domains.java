package org.pkstore.bench;

import org.pkstore.iommu.pgtable.IoPageTable;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.PartialUnmapPolicy;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.registry.ReattachState;
import org.pkstore.vfio.uapi.VfioUapi;

import java.nio.file.Path;
import java.util.List;

import static org.pkstore.bench.Fixtures.IOVA_BASE;
import static org.pkstore.bench.Fixtures.OUT_PA_BASE;
import static org.pkstore.bench.Fixtures.SZ_4K;

/** Domains inside a pkernfs mount: what reattach and replay work on. */
final class Domains {
    private Domains() {}

    static final String NAME = "dom";

    /** The IOVA reattach translates to prove the domain usable: in the last mapped page. */
    static long probeIova(long mappings) {
        return IOVA_BASE + (mappings - 1) * SZ_4K + 0x123;
    }

    /** Creates mount {@code dir} with one domain of {@code mappings} dense 4 KiB pages, and unmounts cleanly. */
    static void prepare(Path dir, PageTableFormat fmt, long mappings) {
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            PageTableFile f = m.createTableFile(m.pageTablePath(NAME), PageTableFileDescriptor.KIND_DOMAIN_TABLES,
                    fmt.id(), Fixtures.DOMAIN_FILE_PAGES, 1);
            IoPageTable t = IoPageTable.create(f, fmt, PartialUnmapPolicy.SPLIT);
            t.setPageSizes(SZ_4K);
            int r = t.map(IOVA_BASE, OUT_PA_BASE, mappings * SZ_4K, MapBench.PROT);
            Fixtures.check(r == 0, "prepare map returned " + r);
            // what a kernel keeps for its reattach: one container whose domain lives in that file
            m.preservedRecord().write(new ReattachState(List.of(new ReattachState.Container(1,
                    VfioUapi.VFIO_TYPE1_NESTING_IOMMU, 1, 0, 0, 1, 1, NAME, List.of(1), List.of(), List.of(), 0, 0, 0)),
                    false), m.generation());
        }
    }

    /**
     * Boot-to-usable after kexec without waiting for the registries: mount read-write with the
     * Chronicle Map registries opening in the background ({@code mountReadWrite(dir, true)}), the
     * preserved record (read by the mount), the record's page-table file opened, its root adopted,
     * one IOVA translated. Returns the mount, still open: the caller joins the registries' open and
     * unmounts ({@link #join}).
     */
    static PkernfsMount reattachDeferred(Path dir, PageTableFormat fmt, long mappings) {
        long probe = probeIova(mappings);
        PkernfsMount m = PkernfsMount.mountReadWrite(dir, true);
        PreservedRecord.Contents rec = m.preservedAtMount();
        Fixtures.check(rec != null && rec.state().containers().size() == 1, "preserved record read at mount: "
                + m.preservedRefusal());
        PageTableFile f = m.openTableFile(m.pageTablePath(rec.state().containers().get(0).pgtableFile()));
        IoPageTable t = IoPageTable.attach(f, fmt, PartialUnmapPolicy.SPLIT);
        long pa = t.iovaToPhys(probe);
        Fixtures.check(pa == DenseDomain.expectedPa(probe), "reattached domain translates");
        return m;
    }

    /** Waits for the registries a mount opens in the background, then unmounts; null is no mount. */
    static void join(PkernfsMount m) {
        if (m != null) {
            Fixtures.check(m.registries() != null, "registries opened");
            m.close();
        }
    }

    /**
     * Boot-to-usable after kexec: mount read-write (writer lock, superblock, registries), open the
     * domain's page-table file, adopt its root ({@link IoPageTable#attach}), translate one IOVA,
     * unmount.
     */
    static long reattach(Path dir, PageTableFormat fmt, long mappings) {
        long probe = probeIova(mappings);
        try (PkernfsMount m = PkernfsMount.mountReadWrite(dir)) {
            PageTableFile f = m.openTableFile(m.pageTablePath(NAME));
            IoPageTable t = IoPageTable.attach(f, fmt, PartialUnmapPolicy.SPLIT);
            long pa = t.iovaToPhys(probe);
            Fixtures.check(pa == DenseDomain.expectedPa(probe), "reattached domain translates");
            return pa;
        }
    }
}
