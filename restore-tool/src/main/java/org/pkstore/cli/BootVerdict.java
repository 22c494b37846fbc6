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
 * @param lostEntries  registry entries a recovery reports dropping
 * @param held         a host holds the mount now: the verdict is for a boot if it died now
 * @param damagedRegistries registry files whose recovery repairs damage (more than a kill leaves): entries
 *                     may be lost there beyond those counted
 */
record BootVerdict(String decision, boolean planned, String handover, String reason, int lostEntries,
                   List<String> damagedRegistries, boolean held) {

    /** Messages of Chronicle Map's recovery (TierRecovery) that mean an entry is dropped. */
    private static final String[] DROPS = {"Checksum doesn't match", "Entry pos is out of range", "Overlapping entry",
            "Expected segment index", "Segment index from the entry key hash code is out of range",
            "entries with duplicate key", "Entries with duplicate keys"};
    /**
     * What a recovery meets after any kill and repairs without touching an entry: a lock the dead
     * writer held, a creation or recovery it did not finish, allocation hints it had not updated.
     */
    private static final String[] ROUTINE = {"lock of segment", "NOT_COMPLETE", "wrong lowest free chunk",
            "wrong first free tier index"};

    static boolean dropsEntry(String message) {
        return contains(message, DROPS);
    }

    /** True unless the repair is routine after a kill: damage, and entries may be gone. */
    static boolean damage(String message) {
        return !contains(message, ROUTINE);
    }

    private static boolean contains(String message, String[] any) {
        if (message == null) {
            return false;
        }
        for (String d : any) {
            if (message.contains(d)) {
                return true;
            }
        }
        return false;
    }

    static BootVerdict of(MountView v) {
        MountAcceptance a = v.acceptance;
        if (a == null) {
            return new BootVerdict("refuse", false, "unknown", "the boot's check could not run", 0, List.of(),
                    org.pkstore.persist.MountLock.isHeld(v.dir));
        }
        int lost = 0;
        List<String> damaged = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : v.recoveryEvents.entrySet()) {
            String rel = v.rel(Registries.fileOf(v.dir, e.getKey()));
            for (String m : e.getValue()) {
                if (dropsEntry(m)) {
                    lost++;
                }
                if (damage(m) && !damaged.contains(rel)) {
                    damaged.add(rel);
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
        return new BootVerdict(d, a.planned(), a.handover(), reason, a.planned() ? 0 : lost,
                a.planned() ? List.of() : damaged, org.pkstore.persist.MountLock.isHeld(v.dir));
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
            List<String> damage = new ArrayList<>();
            int drops = 0;
            for (String m : e.getValue()) {
                if (damage(m)) {
                    damage.add(m);
                }
                if (dropsEntry(m)) {
                    drops++;
                }
            }
            String first = damage.isEmpty() ? null : String.join("; ", damage.subList(0, Math.min(3, damage.size())));
            if (!damage.isEmpty() && a.planned()) {
                out.add(Finding.error("registry-loss", rel, -1, "Chronicle Map's entry checks fail (" + first
                        + "): a planned boot reads the registry as it is"));
            } else if (!damage.isEmpty()) {
                out.add(Finding.error("registry-loss", rel, -1, "the recovering boot repairs damage here and loses what it "
                        + "cannot repair: " + (drops > 0 ? drops + " entries dropped, " : "") + damage.size() + " repairs ("
                        + first + (damage.size() > 3 ? "; ..." : "") + ")"));
            } else if (!e.getValue().isEmpty() && !a.planned()) {
                out.add(Finding.note("registry-recovery", rel, -1, "the recovering boot clears what the killed writer "
                        + "left and loses no entry (" + e.getValue().size() + " routine repairs, first: "
                        + e.getValue().get(0) + ")"));
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
        String who = planned ? "a planned boot" : held ? "a host holds the mount now; if it died now, the recovering boot"
                : "the recovering boot (the last writer did not unmount cleanly)";
        switch (decision) {
            case "refuse":
                return "boot: " + who + " refuses this mount: " + reason;
            case "recover":
                return "boot: " + who + " recovers it" + (damagedRegistries.isEmpty() ? ", losing no registry entry"
                        : ", repairing damage in " + String.join(", ", damagedRegistries) + (lostEntries > 0 ? " (dropping "
                        + lostEntries + " entries)" : "") + " and losing what it cannot repair") + "; handover record " + handover;
            default:
                return "boot: " + who + " accepts it; handover record " + handover;
        }
    }
}
