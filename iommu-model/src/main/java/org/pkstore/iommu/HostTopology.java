package org.pkstore.iommu;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host's IOMMU units and IOMMU groups, as firmware (DMAR / IORT) and the PCI core would
 * describe them. Parsed from a small line-oriented text:
 *
 * <pre>
 *  # comment; blank lines are ignored
 *  unit  ID DRIVER [no-pasid]            DRIVER is "vtd" or "smmuv3"; ID a decimal >= 0; no-pasid:
 *                                       a unit without PASID/nesting capability (VT-d legacy mode)
 *  group ID unit UNIT device BDF [BDF]...  BDF is [SSSS:]BB:DD.F in hex
 * </pre>
 *
 * Example (the {@link #defaultTopology() default}):
 * <pre>
 *  unit 0 vtd
 *  group 1 unit 0 device 00:01.0
 *  group 2 unit 0 device 00:02.0
 * </pre>
 *
 * A unit must be declared before the groups behind it; group ids are unique; a BDF belongs to
 * one group only. For an SMMUv3 unit the BDF's requester id is the stream id.
 */
public final class HostTopology {
    /**
     * One IOMMU unit. {@code pasid}: the unit has PASID and nested-translation capability (VT-d
     * ECAP.SMTS, PASID, NEST; the default); a VT-d unit without it keeps its tables in legacy mode.
     */
    public record Unit(int id, IommuDriver driver, boolean pasid) {
        public Unit(int id, IommuDriver driver) {
            this(id, driver, true);
        }
    }

    /** The optional word after a unit's driver declaring it without PASID capability. */
    public static final String NO_PASID = "no-pasid";

    /** One IOMMU group: the smallest set of devices that can be isolated, all behind one unit. */
    public record Group(int id, int unitId, List<Bdf> devices) {
        public Group {
            devices = List.copyOf(devices);
        }
    }

    private final Map<Integer, Unit> units;
    private final Map<Integer, Group> groups;

    private HostTopology(Map<Integer, Unit> units, Map<Integer, Group> groups) {
        this.units = Collections.unmodifiableMap(units);
        this.groups = Collections.unmodifiableMap(groups);
    }

    /** One VT-d unit 0; group 1 = 00:01.0, group 2 = 00:02.0. */
    public static HostTopology defaultTopology() {
        return parse("unit 0 vtd\ngroup 1 unit 0 device 00:01.0\ngroup 2 unit 0 device 00:02.0\n");
    }

    public static HostTopology parse(String text) {
        Map<Integer, Unit> units = new LinkedHashMap<>();
        Map<Integer, Group> groups = new LinkedHashMap<>();
        Map<Bdf, Integer> owner = new LinkedHashMap<>();
        int lineNo = 0;
        for (String raw : text.split("\n")) {
            lineNo++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] w = line.split("\\s+");
            try {
                switch (w[0]) {
                    case "unit": {
                        if (w.length != 3 && !(w.length == 4 && w[3].equals(NO_PASID))) {
                            throw new IllegalArgumentException("expected: unit ID DRIVER [" + NO_PASID + "]");
                        }
                        int id = nonNegative(w[1]);
                        if (units.containsKey(id)) {
                            throw new IllegalArgumentException("unit " + id + " declared twice");
                        }
                        units.put(id, new Unit(id, IommuDriver.byConfigName(w[2]), w.length == 3));
                        break;
                    }
                    case "group": {
                        if (w.length < 6 || !w[2].equals("unit") || !w[4].equals("device")) {
                            throw new IllegalArgumentException("expected: group ID unit UNIT device BDF [BDF]...");
                        }
                        int id = nonNegative(w[1]);
                        int unit = nonNegative(w[3]);
                        if (groups.containsKey(id)) {
                            throw new IllegalArgumentException("group " + id + " declared twice");
                        }
                        if (!units.containsKey(unit)) {
                            throw new IllegalArgumentException("unit " + unit + " is not declared (declare units first)");
                        }
                        List<Bdf> devs = new ArrayList<>();
                        for (int i = 5; i < w.length; i++) {
                            Bdf b = Bdf.parse(w[i]);
                            Integer prev = owner.putIfAbsent(b, id);
                            if (prev != null) {
                                throw new IllegalArgumentException("device " + b + " is already in group " + prev);
                            }
                            devs.add(b);
                        }
                        groups.put(id, new Group(id, unit, devs));
                        break;
                    }
                    default:
                        throw new IllegalArgumentException("unknown keyword \"" + w[0] + "\" (unit or group)");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("topology line " + lineNo + ": " + e.getMessage(), e);
            }
        }
        if (units.isEmpty()) {
            throw new IllegalArgumentException("topology declares no IOMMU unit");
        }
        return new HostTopology(units, groups);
    }

    private static int nonNegative(String s) {
        int v = Integer.parseInt(s);
        if (v < 0) {
            throw new IllegalArgumentException("negative id " + v);
        }
        return v;
    }

    public Map<Integer, Unit> units() { return units; }
    public Map<Integer, Group> groups() { return groups; }
    public Unit unit(int id) { return units.get(id); }
    public Group group(int id) { return groups.get(id); }

    /** The group holding {@code bdf}, or null. */
    public Group groupOf(Bdf bdf) {
        for (Group g : groups.values()) {
            if (g.devices().contains(bdf)) {
                return g;
            }
        }
        return null;
    }

    /** The text {@link #parse} reads back to an equal topology. */
    public String toConfig() {
        StringBuilder sb = new StringBuilder();
        for (Unit u : units.values()) {
            sb.append("unit ").append(u.id()).append(' ').append(u.driver().configName())
                    .append(u.pasid() ? "" : " " + NO_PASID).append('\n');
        }
        for (Group g : groups.values()) {
            sb.append("group ").append(g.id()).append(" unit ").append(g.unitId()).append(" device");
            for (Bdf b : g.devices()) {
                sb.append(' ').append(b);
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
