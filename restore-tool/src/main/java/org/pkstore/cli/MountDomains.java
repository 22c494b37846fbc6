package org.pkstore.cli;

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

    public static List<Map<String, Object>> of(Path mountDir) {
        List<Map<String, Object>> out = new ArrayList<>();
        try (MountView v = MountView.open(mountDir)) {
            long[][] memory = MountModel.memoryWindows(v);
            List<DeviceScan> units = new ArrayList<>();
            for (MountView.TableFile t : v.unitFiles) {
                if (t.ok()) {
                    units.add(DeviceScan.run(t));
                }
            }
            for (MountView.TableFile t : v.domainFiles) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("file", t.rel());
                if (!t.ok() || t.format() == null) {
                    d.put("problem", t.ok() ? "unknown page-table format" : t.problem().toString());
                    out.add(d);
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
                d.put("format", t.format().name());
                d.put("rootPa", Fmt.hex(t.file().rootPa()));
                d.put("mappedBytes", s.mappedBytes);
                d.put("leaves", leaves);
                d.put("bytesByPageSize", bytes);
                d.put("tablePages", s.tablePages());
                d.put("devices", devices);
                d.put("problems", s.findings.stream().filter(Finding::isError).count());
                out.add(d);
            }
        }
        return out;
    }
}
