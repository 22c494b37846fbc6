package org.pkstore.cli;

import org.pkstore.persist.MountAcceptance;
import org.pkstore.persist.registry.Registries;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the next boot would do with a mount, as {@code verify} and {@code inspect} report it: the
 * boot's own decision ({@link MountAcceptance}, the code the boot runs) and, after a crash, the
 * registry entries Chronicle Map's recovery would drop (counted by recovering private copies, the
 * same recovery on the same bytes).
 *
 * @param decision     accept (planned boot), recover (after a crash), refuse
 * @param planned      the last writer unmounted cleanly
 * @param handover     what became of the handover record
 * @param reason       the first refusal (file @ offset: reason), or null
 * @param lostEntries  registry entries a recovery would drop
 */
record BootVerdict(String decision, boolean planned, String handover, String reason, int lostEntries) {

    /** Messages of Chronicle Map's recovery (TierRecovery) that mean an entry is dropped. */
    private static final String[] DROPS = {"Checksum doesn't match", "Entry pos is out of range", "Overlapping entry",
            "Expected segment index", "Segment index from the entry key hash code is out of range",
            "entries with duplicate key", "Entries with duplicate keys"};

    static boolean dropsEntry(String message) {
        if (message == null) {
            return false;
        }
        for (String d : DROPS) {
            if (message.contains(d)) {
                return true;
            }
        }
        return false;
    }

    static BootVerdict of(MountView v) {
        MountAcceptance a = v.acceptance;
        if (a == null) {
            return new BootVerdict("refuse", false, "unknown", "the boot's check could not run", 0);
        }
        int lost = 0;
        for (List<String> events : v.recoveryEvents.values()) {
            for (String m : events) {
                if (dropsEntry(m)) {
                    lost++;
                }
            }
        }
        String reason = null;
        if (!a.refusals().isEmpty()) {
            MountAcceptance.Problem p = a.refusals().get(0);
            reason = v.rel(p.file()) + (p.offset() >= 0 ? " @ " + Fmt.hex(p.offset()) : "") + ": " + p.reason();
        }
        String d = a.decision() == MountAcceptance.Decision.REFUSE ? "refuse"
                : a.decision() == MountAcceptance.Decision.RECOVER ? "recover" : "accept";
        return new BootVerdict(d, a.planned(), a.handover(), reason, a.planned() ? 0 : lost);
    }

    /** The verdict as findings: refusals and notes of the boot's check, and what a recovery would lose. */
    static List<Finding> findings(MountView v, List<Finding> already) {
        List<Finding> out = new ArrayList<>();
        MountAcceptance a = v.acceptance;
        if (a == null) {
            return out;
        }
        for (MountAcceptance.Problem p : a.refusals()) {
            String rel = v.rel(p.file());
            boolean reported = false;
            for (Finding f : already) {
                if (f.isError() && rel.equals(f.file())) {
                    reported = true;
                }
            }
            if (!reported) {
                out.add(Finding.error(kindOf(rel, true), rel, p.offset(), p.reason() + " (a boot refuses the mount)"));
            }
        }
        for (MountAcceptance.Problem p : a.notes()) {
            String rel = v.rel(p.file());
            out.add(Finding.note(kindOf(rel, false), rel, p.offset(), p.reason()));
        }
        for (Map.Entry<String, List<String>> e : v.recoveryEvents.entrySet()) {
            String rel = v.rel(Registries.fileOf(v.dir, e.getKey()));
            int drops = 0;
            String first = null;
            for (String m : e.getValue()) {
                if (dropsEntry(m)) {
                    drops++;
                    first = first == null ? m : first;
                }
            }
            if (drops > 0) {
                out.add(Finding.error("registry-loss", rel, -1, (a.planned()
                        ? drops + " entries fail Chronicle Map's entry checks; a planned boot reads them as they are"
                        : "the recovering boot drops " + drops + " entries") + " (first: " + first + ")"));
            } else if (!e.getValue().isEmpty() && !a.planned()) {
                out.add(Finding.note("registry-recovery", rel, -1, "the recovering boot repairs its bookkeeping and "
                        + "loses no entry (" + e.getValue().size() + " repairs, first: " + e.getValue().get(0) + ")"));
            }
        }
        return out;
    }

    private static String kindOf(String rel, boolean refusal) {
        if (rel.endsWith(org.pkstore.persist.HandoverRecord.FILE_NAME)) {
            return "handover";
        }
        if (rel.startsWith(Registries.DIR + "/")) {
            return refusal ? "registry-damage" : "registry";
        }
        return refusal ? "boot-refuses" : "boot";
    }

    /** One line for people. */
    String line() {
        String who = planned ? "a planned boot" : "the recovering boot (the last writer did not unmount cleanly)";
        switch (decision) {
            case "refuse":
                return "boot: " + who + " refuses this mount: " + reason;
            case "recover":
                return "boot: " + who + " recovers it" + (lostEntries > 0 ? ", dropping " + lostEntries + " registry entries"
                        : ", losing no registry entry") + "; handover record " + handover;
            default:
                return "boot: " + who + " accepts it; handover record " + handover;
        }
    }
}
