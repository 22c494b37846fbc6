package org.pkstore.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.pkstore.iommu.pgtable.PageTableGeometry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every domain of a mount as its page tables map it, for the rehearsal report's {@code domains}:
 * the same walk and numbers as {@code pkstore inspect} (file, format, root, leaves and bytes per page
 * size, table pages, the devices whose stage-2 root it is), without the registries, so it opens no
 * Chronicle Map. Read-only.
 */
public final class MountDomains {
    private MountDomains() {}

    /**
     * One domain ({@code domains[]} of docs/REPORT.md): a file that cannot be walked has only
     * {@code file} and {@code problem}; a walked one has everything else.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Domain(String file, String problem, String format, String rootPa, Long mappedBytes,
                         Map<String, Long> leaves, Map<String, Long> bytesByPageSize, Long tablePages,
                         List<String> devices, Long problems) {
        static Domain unreadable(String file, String problem) {
            return new Domain(file, problem, null, null, null, null, null, null, null, null);
        }
    }

    public static List<Domain> of(Path mountDir) {
        List<Domain> out = new ArrayList<>();
        try (MountView v = MountView.open(mountDir)) {
            long[][] memory = MountModel.memoryWindows(v);
            List<DeviceScan> units = new ArrayList<>();
            for (MountView.TableFile t : v.unitFiles) {
                if (t.ok()) {
                    units.add(DeviceScan.run(t));
                }
            }
            for (MountView.TableFile t : v.domainFiles) {
                if (!t.ok() || t.format() == null) {
                    out.add(Domain.unreadable(t.rel(), t.ok() ? "unknown page-table format" : t.problem().toString()));
                    continue;
                }
                DomainScan s = DomainScan.run(v, t, -1, 0, PageTableGeometry.IOVA_LIMIT, false, memory, null,
                        Progress.OFF);
                Map<String, Long> leaves = new LinkedHashMap<>();
                Map<String, Long> bytes = new LinkedHashMap<>();
                for (int l = 1; l < PageTableGeometry.LEVELS; l++) {
                    leaves.put(Fmt.pageName(l), s.leavesByLevel[l]);
                    bytes.put(Fmt.pageName(l), s.leavesByLevel[l] * PageTableGeometry.blockSize(l));
                }
                List<String> devices = new ArrayList<>();
                for (DeviceScan u : units) {
                    for (DeviceScan.Device dev : u.devices) {
                        if (dev.present() && dev.stage2Root() == s.root) {
                            devices.add(dev.bdf().toString());
                        }
                    }
                }
                out.add(new Domain(t.rel(), null, t.format().name(), Fmt.hex(t.file().rootPa()), s.mappedBytes, leaves,
                        bytes, s.tablePages(), devices, s.findings.stream().filter(Finding::isError).count()));
            }
        }
        return out;
    }
}
