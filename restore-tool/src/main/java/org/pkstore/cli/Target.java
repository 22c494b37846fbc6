package org.pkstore.cli;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.BoundPasidEntry;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.Registries;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which tables {@code walk} and {@code translate} read, chosen by {@code --domain} (a domain id from
 * the registry, or a page-table file name), {@code --device} (the stage-2 root the device table
 * gives that device: what the IOMMU walks) and/or {@code --pasid} (the domain of the container
 * owning the PASID, which must be bound on the device if one is named). When several are given
 * they must agree. Reads the registries only when a domain id or a PASID needs them.
 */
final class Target {
    final MountView.TableFile table;
    /** Root the walk starts from: the device's stage-2 root, else the file header's. */
    final long root;
    final Long domainId;
    final DeviceScan.Device device;
    final DeviceScan deviceTable;
    final Integer pasid;
    final BoundPasidEntry binding;
    final List<Finding> notes;

    private Target(MountView.TableFile table, long root, Long domainId, DeviceScan.Device device, DeviceScan deviceTable,
                   Integer pasid, BoundPasidEntry binding, List<Finding> notes) {
        this.table = table;
        this.root = root;
        this.domainId = domainId;
        this.device = device;
        this.deviceTable = deviceTable;
        this.pasid = pasid;
        this.binding = binding;
        this.notes = notes;
    }

    record Out(Long domain, String file, String format, String root, String device, Integer unit, Integer did,
               Integer pasid, String gpgd, Long gpasid) {}

    Out out() {
        return new Out(domainId, table.rel(), table.format().name(), Fmt.hex(root), device == null ? null : device.bdf().toString(),
                device == null ? null : device.unit(), device == null ? null : device.did(), pasid,
                binding == null ? null : Fmt.hex(binding.gpgd()), binding == null ? null : binding.gpasid());
    }

    /** "domain 1: pgtables/vm0.pt (vtd-sl), root 0x..., device 0000:00:01.0 on unit 0, PASID 1". */
    String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(domainId != null ? "domain " + domainId + ": " : "").append(table.rel()).append(" (")
                .append(table.format().name()).append("), root ").append(Fmt.hex(root));
        if (device != null) {
            sb.append(", device ").append(device.bdf()).append(" on unit ").append(device.unit())
                    .append(" (DID/VMID ").append(device.did()).append(')');
        }
        if (pasid != null) {
            sb.append(", PASID ").append(pasid);
            if (binding != null) {
                sb.append(" bound to guest tables at GPA ").append(Fmt.hex(binding.gpgd()));
            }
        }
        return sb.toString();
    }

    static Target resolve(MountView v, String domain, String deviceArg, Integer unit, Integer pasid) {
        if (domain == null && deviceArg == null && pasid == null) {
            throw CliException.unusable("name the tables: --domain ID|FILE, --device BDF or --pasid P");
        }
        List<Finding> notes = new ArrayList<>();
        MountView.TableFile byDomain = null;
        Long domainId = null;
        if (domain != null) {
            byDomain = v.domainFile(domain);
            if (byDomain == null && domain.matches("\\d+")) {
                DomainRecord r = registries(v).get(Long.parseLong(domain));
                if (r == null) {
                    throw CliException.unusable("no domain " + domain + " in the registry and no page-table file "
                            + "pgtables/" + domain + ".pt (known files: " + fileNames(v) + ")");
                }
                byDomain = v.domainFile(r.pgtableFile());
                domainId = r.domainId();
                if (byDomain == null) {
                    throw CliException.unusable("domain " + domain + " uses pgtables/" + r.pgtableFile()
                            + ".pt, which does not exist");
                }
            }
            if (byDomain == null) {
                throw CliException.unusable("no page-table file pgtables/" + domain + ".pt and no such domain id (known files: "
                        + fileNames(v) + ")");
            }
        }
        DeviceScan.Device dev = null;
        DeviceScan devTable = null;
        MountView.TableFile byDevice = null;
        if (deviceArg != null) {
            Bdf bdf;
            try {
                bdf = Bdf.parse(deviceArg);
            } catch (IllegalArgumentException e) {
                throw CliException.unusable(e.getMessage());
            }
            List<DeviceScan.Device> found = new ArrayList<>();
            List<DeviceScan> tables = new ArrayList<>();
            for (MountView.TableFile t : v.unitFiles) {
                if (!t.ok() || unit != null && MountView.unitId(t) != unit) {
                    continue;
                }
                DeviceScan s = DeviceScan.run(t);
                if ("smmuv3".equals(s.driver)) {
                    SmmuGuestCds.fill(v, s); // SMMUv3: the bound SSIDs are the guest's valid CDs, in guest memory
                }
                DeviceScan.Device d = s.device(bdf);
                if (d != null) {
                    found.add(d);
                    tables.add(s);
                }
            }
            if (found.isEmpty()) {
                throw CliException.unusable("device " + bdf + " has no entry in " + (unit != null ? "unit " + unit + "'s"
                        : "any") + " device table");
            }
            if (found.size() > 1) {
                throw CliException.unusable("device " + bdf + " has entries on several units; choose one with --unit");
            }
            dev = found.get(0);
            devTable = tables.get(0);
            if (!dev.present()) {
                throw CliException.unusable("device " + bdf + "'s entry is not present (not attached to a domain): "
                        + "the IOMMU blocks its DMA");
            }
            MountView.TableFile holder = v.tableFileAt(dev.stage2Root());
            if (holder == null || !holder.domain()) {
                throw CliException.unusable("device " + bdf + "'s stage-2 root 0x" + Long.toHexString(dev.stage2Root())
                        + " lies in no page-table file of this mount");
            }
            byDevice = holder;
            if (holder.file().rootPa() != dev.stage2Root()) {
                notes.add(Finding.note("device-root", devTable.table.rel(), dev.entryPa() - devTable.file.paBase(),
                        "device " + bdf + " points at 0x" + Long.toHexString(dev.stage2Root()) + ", not at the root 0x"
                                + Long.toHexString(holder.file().rootPa()) + " in " + holder.rel() + "'s header"));
            }
            if (byDomain != null && byDomain != holder) {
                throw CliException.unusable("device " + bdf + " translates through " + holder.rel() + ", not "
                        + byDomain.rel());
            }
        }
        BoundPasidEntry binding = null;
        MountView.TableFile byPasid = null;
        if (pasid != null) {
            if (dev != null) {
                for (BoundPasidEntry e : dev.bound()) {
                    if (e.pasid() == pasid) {
                        binding = e;
                    }
                }
                if (binding == null && !dev.nested()) {
                    throw CliException.unusable("PASID " + pasid + " is not bound on device " + dev.bdf()
                            + " (bound: " + boundList(dev) + "): its DMA with that PASID faults");
                }
            } else {
                Registries r = v.registries();
                PasidRecord p = r == null ? null : r.pasids.get(pasid);
                if (p == null) {
                    throw CliException.unusable("PASID " + pasid + " is not allocated in the registry"
                            + (r == null ? " (registries unreadable)" : ""));
                }
                ContainerRecord c = r.containers.get(p.containerId());
                DomainRecord d = c == null ? null : r.domains.get(c.domainId());
                if (d == null) {
                    throw CliException.unusable("PASID " + pasid + " belongs to container " + p.containerId()
                            + ", which has no domain");
                }
                byPasid = v.domainFile(d.pgtableFile());
                domainId = d.domainId();
                if (byPasid == null) {
                    throw CliException.unusable("PASID " + pasid + "'s domain uses pgtables/" + d.pgtableFile()
                            + ".pt, which does not exist");
                }
                if (byDomain != null && byDomain != byPasid) {
                    throw CliException.unusable("PASID " + pasid + " belongs to " + byPasid.rel() + ", not " + byDomain.rel());
                }
            }
        }
        MountView.TableFile chosen = byDevice != null ? byDevice : byDomain != null ? byDomain : byPasid;
        if (!chosen.ok()) {
            throw CliException.unusable("cannot read " + chosen.rel() + ": " + chosen.problem().line());
        }
        if (chosen.format() == null) {
            throw CliException.unusable(chosen.rel() + ": unknown page-table format id " + chosen.file().format());
        }
        long root = dev != null ? dev.stage2Root() : chosen.file().rootPa();
        return new Target(chosen, root, domainId, dev, devTable, pasid, binding, notes);
    }

    private static Map<Long, DomainRecord> registries(MountView v) {
        Registries r = v.registries();
        if (r == null) {
            throw CliException.unusable("a domain id needs the registries, which cannot be read: "
                    + (v.findings.isEmpty() ? "" : v.findings.get(v.findings.size() - 1).line()) + "; name the file instead");
        }
        return v.entries(r.domains, new ArrayList<>());
    }

    private static String boundList(DeviceScan.Device d) {
        List<Integer> p = new ArrayList<>();
        for (BoundPasidEntry e : d.bound()) {
            p.add(e.pasid());
        }
        return p.isEmpty() ? "none" : p.toString();
    }

    private static String fileNames(MountView v) {
        List<String> n = new ArrayList<>();
        for (MountView.TableFile t : v.domainFiles) {
            n.add(t.name());
        }
        return n.isEmpty() ? "none" : String.join(", ", n);
    }
}
