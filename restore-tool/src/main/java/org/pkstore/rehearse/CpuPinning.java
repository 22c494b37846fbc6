package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Which CPUs the rehearsal's processes run on. The device JVM stands for hardware, which never
 * shares a CPU with the host kernel: it gets the last CPU this process may use, alone; this
 * process (the driver) moves to the others, and every host JVM it starts after that (with its
 * VMM, which runs inside it) inherits them. Without a second CPU, or without util-linux
 * {@code taskset}, every process runs unpinned and {@link #reason} says why.
 *
 * <p>Linux: sched_setaffinity(2) through {@code taskset -a -p} (every thread of this JVM) and
 * {@code taskset -c} (the device's command); a child inherits its parent's mask (fork(2)).
 *
 * @param pinned  whether the processes are pinned
 * @param device  the device JVM's CPU list ({@code taskset -c} syntax), or the whole set unpinned
 * @param host    the CPUs of the host JVMs, their VMM and the driver (this process)
 * @param allowed the CPUs this process could use before pinning (/proc/self/status Cpus_allowed_list)
 * @param reason  null when pinned, else why not
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CpuPinning(boolean pinned, String device, String host, String allowed, String reason) {
    static final Path TASKSET = Path.of("/usr/bin/taskset");
    /** util-linux setsid(1): the device JVM gets a session, hence an autogroup, of its own. */
    static final Path SETSID = Path.of("/usr/bin/setsid");

    /** Environment variable that turns pinning off: {@code PKSTORE_CPUS=unpinned}. */
    static final String ENV = "PKSTORE_CPUS";

    /**
     * The plan for this machine: pinned when there are 2 CPUs or more and taskset is installed,
     * unless {@code PKSTORE_CPUS=unpinned} (a machine shared with other work, where a device bound
     * to one CPU waits whenever something else runs there).
     */
    static CpuPinning plan() {
        return plan(System.getenv(ENV));
    }

    static CpuPinning plan(String env) {
        String allowed = allowedCpus();
        if ("unpinned".equals(env)) {
            return unpinned(allowed, ENV + "=unpinned");
        }
        List<Integer> cpus = parseList(allowed);
        if (cpus.size() < 2) {
            return unpinned(allowed, cpus.size() + " CPU(s) allowed (" + allowed + "): nothing to give the device alone");
        }
        if (!Files.isExecutable(TASKSET)) {
            return unpinned(allowed, TASKSET + " missing (util-linux; apt-get install util-linux)");
        }
        StringBuilder host = new StringBuilder();
        for (int i = 0; i < cpus.size() - 1; i++) {
            host.append(i == 0 ? "" : ",").append(cpus.get(i));
        }
        return new CpuPinning(true, String.valueOf(cpus.get(cpus.size() - 1)), host.toString(), allowed, null);
    }

    static CpuPinning unpinned(String allowed, String reason) {
        return new CpuPinning(false, allowed, allowed, allowed, reason);
    }

    /**
     * {@code command} prefixed to run on the device's CPU in a session of its own (unchanged when
     * unpinned). The session matters with autogroup scheduling (sched(7), on by default): CFS shares
     * a CPU between sessions first, and one session's weight is split over the CPUs by where its
     * threads are runnable, so a device in the rehearsal's session lost most of its weight on its
     * own CPU to the rest of the machine whenever a host JVM of that session was busy on the other
     * (a new host's start and mount: the device's longest gaps). Without {@code /usr/bin/setsid} the
     * device stays in the rehearsal's session.
     */
    List<String> deviceCommand(List<String> command) {
        if (!pinned) {
            return command;
        }
        List<String> out = new ArrayList<>();
        if (Files.isExecutable(SETSID)) {
            // not a process-group leader (a child of the JVM): setsid(1) execs in place, no fork
            out.add(SETSID.toString());
        }
        out.addAll(List.of(TASKSET.toString(), "-c", device));
        out.addAll(command);
        return out;
    }

    /** {@code command} prefixed to run on the host CPUs, where the rehearsal's host JVMs run (unchanged when unpinned). */
    List<String> hostCommand(List<String> command) {
        if (!pinned) {
            return command;
        }
        List<String> out = new ArrayList<>(List.of(TASKSET.toString(), "-c", host));
        out.addAll(command);
        return out;
    }

    /** Moves every thread of this JVM to the host CPUs; the pinning when it worked, else an unpinned one saying why. */
    CpuPinning pinThisProcess() {
        if (!pinned) {
            return this;
        }
        String failed = setThisProcess(host);
        return failed == null ? this : unpinned(allowed, failed);
    }

    /** Gives this JVM back every CPU it had before {@link #pinThisProcess}. */
    void unpinThisProcess() {
        if (pinned) {
            setThisProcess(allowed);
        }
    }

    /** One line for the text report. */
    String describe() {
        return pinned ? "device JVM on CPU " + device + (Files.isExecutable(SETSID) ? " in a session of its own" : "")
                + "; host JVMs (with the VMM) and the rehearsal on CPU " + host
                : "unpinned (" + reason + "); every process may use CPUs " + allowed;
    }

    private static String setThisProcess(String cpus) {
        List<String> cmd = List.of(TASKSET.toString(), "-a", "-p", "-c", cpus, String.valueOf(ProcessHandle.current().pid()));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", cmd) + " did not finish within 10 s";
            }
            return p.exitValue() == 0 ? null : String.join(" ", cmd) + " exited with status " + p.exitValue();
        } catch (IOException e) {
            return String.join(" ", cmd) + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Cpus_allowed_list of /proc/self/status (taskset -c syntax), or 0..n-1 from the JVM when unreadable. */
    static String allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        int n = Runtime.getRuntime().availableProcessors();
        return n == 1 ? "0" : "0-" + (n - 1);
    }

    /** "0-2,5" as [0, 1, 2, 5]; an unparsable list is empty (no pinning). */
    static List<Integer> parseList(String list) {
        List<Integer> out = new ArrayList<>();
        try {
            for (String part : list.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int dash = p.indexOf('-');
                int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
                int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1));
                for (int c = from; c <= to && out.size() < 4096; c++) {
                    out.add(c);
                }
            }
        } catch (NumberFormatException e) {
            return List.of();
        }
        return out;
    }
}
