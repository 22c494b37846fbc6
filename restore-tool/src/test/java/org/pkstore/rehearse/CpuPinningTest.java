package org.pkstore.rehearse;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** CPU lists, the device's taskset prefix, and pinning this JVM and back, as the rehearsal does. */
class CpuPinningTest {
    @Test
    void cpuListsInTasksetSyntax() {
        assertEquals(List.of(0, 1), CpuPinning.parseList("0-1"));
        assertEquals(List.of(0, 2, 3, 4, 7), CpuPinning.parseList("0,2-4,7"));
        assertEquals(List.of(3), CpuPinning.parseList("3"));
        assertEquals(List.of(), CpuPinning.parseList("x-y"), "unparsable: no pinning");
    }

    @Test
    void unpinnedLeavesTheCommandAlone() {
        CpuPinning none = CpuPinning.unpinned("0", "1 CPU(s) allowed (0): nothing to give the device alone");
        assertFalse(none.pinned());
        assertEquals(List.of("java", "-version"), none.deviceCommand(List.of("java", "-version")));
        assertEquals(List.of("java", "-version"), none.hostCommand(List.of("java", "-version")));
        assertTrue(none.describe().startsWith("unpinned (1 CPU"), none.describe());
    }

    @Test
    void pinningCanBeTurnedOff() {
        CpuPinning off = CpuPinning.plan("unpinned");
        assertFalse(off.pinned());
        assertEquals("PKSTORE_CPUS=unpinned", off.reason());
        assertEquals(off.allowed(), off.device());
    }

    @Test
    void theDeviceGetsTheLastAllowedCpuAndThisJvmTheOthers() throws Exception {
        CpuPinning plan = CpuPinning.plan(null);
        List<Integer> allowed = CpuPinning.parseList(plan.allowed());
        if (allowed.size() < 2 || !Files.isExecutable(CpuPinning.TASKSET)) {
            assertFalse(plan.pinned());
            assertNotNull(plan.reason());
            return;
        }
        assertTrue(plan.pinned());
        assertNull(plan.reason());
        assertEquals(String.valueOf(allowed.get(allowed.size() - 1)), plan.device());
        List<String> session = Files.isExecutable(CpuPinning.SETSID) ? List.of(CpuPinning.SETSID.toString()) : List.of();
        List<String> device = new java.util.ArrayList<>(session);
        device.addAll(List.of(CpuPinning.TASKSET.toString(), "-c", plan.device(), "java"));
        assertEquals(device, plan.deviceCommand(List.of("java")));
        assertEquals(List.of(CpuPinning.TASKSET.toString(), "-c", plan.host(), "java"), plan.hostCommand(List.of("java")));
        CpuPinning pinned = plan.pinThisProcess();
        try {
            assumeTrue(pinned.pinned(), "taskset refused here: " + pinned.reason());
            assertEquals(allowed.subList(0, allowed.size() - 1), CpuPinning.parseList(CpuPinning.allowedCpus()),
                    "this JVM runs on the host CPUs only");
            // a child inherits the mask: the host JVMs run where the rehearsal runs
            Process p = new ProcessBuilder("/bin/grep", "Cpus_allowed_list", "/proc/self/status").start();
            String child = new String(p.getInputStream().readAllBytes()).trim();
            assertEquals(0, p.waitFor());
            assertEquals(CpuPinning.parseList(plan.host()), CpuPinning.parseList(child.substring(child.indexOf(':') + 1).trim()));
        } finally {
            pinned.unpinThisProcess();
        }
        assertEquals(allowed, CpuPinning.parseList(CpuPinning.allowedCpus()), "every CPU given back");
    }

    /**
     * The device's command runs in a session of its own (autogroup: its CPU weight is not shared
     * with the host JVMs of the rehearsal's session), as the process the caller started (no fork:
     * the pid the rehearsal kills is the device's).
     */
    @Test
    void theDeviceRunsInASessionOfItsOwn() throws Exception {
        CpuPinning plan = CpuPinning.plan(null);
        assumeTrue(plan.pinned() && Files.isExecutable(CpuPinning.SETSID), "no pinning or no setsid here");
        Process p = new ProcessBuilder(plan.deviceCommand(List.of("/bin/cat", "/proc/self/stat"))).start();
        String stat = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor());
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long session = Long.parseLong(fields[3]); // stat field 6, session id
        assertEquals(p.pid(), session, "the started process leads its own session: " + stat);
        String ours = Files.readString(java.nio.file.Path.of("/proc/self/stat"));
        long ourSession = Long.parseLong(ours.substring(ours.lastIndexOf(')') + 2).split(" ")[3]);
        assertNotEquals(ourSession, session);
    }
}
