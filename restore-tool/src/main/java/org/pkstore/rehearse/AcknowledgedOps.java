package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.HostReply;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The driver's side of the acknowledgements a killed host left ({@link WorkDirectory#CHURN_ACKS},
 * {@link WorkDirectory#HOTPLUG_ACKS}: one line per operation that returned, written before the
 * next began): appended to {@code logs/acks.log} as read, then checked against what recovery left.
 */
final class AcknowledgedOps {
    /** Records one check of the kexec. */
    @FunctionalInterface
    interface Checks {
        void check(String name, boolean ok, String detail);
    }

    private final Path work;
    private final String kexec;
    private final Checks checks;

    AcknowledgedOps(Path work, String kexec, Checks checks) {
        this.work = work;
        this.kexec = kexec;
        this.checks = checks;
    }

    /**
     * The further VM after recovery: every acknowledged step present; the one in flight (SET_IOMMU
     * or group 4's GROUP_SET_CONTAINER) entirely present (record and device-table entry) or absent.
     */
    void checkHotplug(HostReply.HotplugState st) {
        List<String> acked = readLines(work.resolve(WorkDirectory.HOTPLUG_ACKS));
        log("hotplug", acked);
        boolean ok = true;
        List<String> why = new ArrayList<>();
        if (acked.contains("group " + HotplugVm.FIRST_GROUP)
                && (st.group3() == null || !st.group3().equals(st.container()))) {
            ok = false;
            why.add("GROUP_SET_CONTAINER 3 acknowledged, group 3 recorded in " + st.group3());
        }
        if (acked.contains("setiommu") && !(st.domainRecord() && st.device3Present())) {
            ok = false;
            why.add("SET_IOMMU acknowledged, domain record " + st.domainRecord() + ", 00:03.0 present "
                    + st.device3Present());
        }
        if (!acked.contains("setiommu") && st.domainRecord() != st.device3Present()) {
            ok = false;
            why.add("SET_IOMMU torn: domain record " + st.domainRecord() + ", 00:03.0 present " + st.device3Present());
        }
        boolean group4 = st.group4() != null && st.group4().equals(st.container());
        if (!acked.contains("group " + HotplugVm.SECOND_GROUP) && group4 != st.device4Present()) {
            ok = false;
            why.add("GROUP_SET_CONTAINER 4 torn: group 4 recorded " + group4 + ", 00:04.0 present "
                    + st.device4Present());
        }
        checks.check("further VM: acknowledged steps present, the interrupted one entirely present or absent", ok,
                (why.isEmpty() ? "" : String.join("; ", why) + " | ") + "acknowledged " + acked + "; " + st.detail());
    }

    /**
     * The churn after recovery: the last acknowledged MAP_DMA still mapped (unless the UNMAP_DMA in
     * flight after it completed), nothing acknowledged as unmapped back, and at most the one ioctl in
     * flight present, whole (records versus tables is the consistency check).
     */
    void checkChurn(HostReply.ChurnWindow window) {
        List<String> acked = readLines(work.resolve(WorkDirectory.CHURN_ACKS));
        log("churn", acked);
        String last = acked.isEmpty() ? null : acked.get(acked.size() - 1);
        List<String> records = window.records();
        boolean ok;
        String inFlight;
        if (last != null && last.startsWith("map ")) {
            String range = last.substring(4);
            ok = records.isEmpty() || records.equals(List.of(range));
            inFlight = "UNMAP_DMA " + range + " in flight";
        } else {
            ok = records.size() <= 1 && (last == null || !records.contains(last.substring(6)));
            inFlight = "a MAP_DMA in flight";
        }
        checks.check("every acknowledged churn op present, the one in flight all or nothing", ok,
                acked.size() + " ops acknowledged, last " + last + ", " + inFlight + "; window records " + records);
    }

    /** The acknowledgements as the harness read them, appended to {@code logs/acks.log}. */
    private void log(String what, List<String> acked) {
        StringBuilder sb = new StringBuilder("# " + kexec + ", " + what + "\n");
        for (String a : acked) {
            sb.append(a).append('\n');
        }
        try {
            Files.writeString(work.resolve(WorkDirectory.LOGS).resolve("acks.log"), sb.toString(),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new RehearsalException("cannot write the acknowledgement log: " + e.getMessage(), e);
        }
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p) : List.of();
        } catch (IOException e) {
            throw new RehearsalException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }
}
