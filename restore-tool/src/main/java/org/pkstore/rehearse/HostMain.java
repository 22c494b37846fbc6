package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Entry point of a host JVM: the kernel model (pkernfs mount, IOMMU, VFIO) and the VMM that drives
 * it, controlled by the rehearsal driver over stdin/stdout, one command and one reply line at a
 * time ({@code OK <json>} or {@code ERR <message>}). Usage: {@code HostMain WORK_DIR DRIVER}.
 * Prints {@code READY <pid> <ms since JVM start>} first, so the driver can tell JVM start from boot.
 */
public final class HostMain {
    private HostMain() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        HostSession host = new HostSession(work, args.length > 1 ? args[1] : "vtd");
        ObjectMapper json = new ObjectMapper();
        System.out.println("READY " + ProcessHandle.current().pid() + " " + ManagementFactory.getRuntimeMXBean().getUptime());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String cmd = line.trim();
            String arg = "";
            int sp = cmd.indexOf(' ');
            if (sp > 0) {
                arg = cmd.substring(sp + 1);
                cmd = cmd.substring(0, sp);
            }
            String reply;
            boolean exit = false;
            try {
                Object result;
                switch (cmd) {
                    case "boot": result = host.boot(); break;
                    case "setup": result = host.setup(json.readValue(arg, RehearsalPlan.class)); break;
                    case "reattach": result = host.reattach(arg); break;
                    case "state": result = host.state(); break;
                    case "churn-start": result = host.churnStart(); break;
                    case "churn-stop": result = host.churnStop(); break;
                    case "churn-cleanup": result = host.churnCleanup(); break;
                    case "consistency": result = host.consistency(); break;
                    case "freeze-at": result = host.freezeAt(arg); break;
                    case "rebuild": result = host.replayRebuild(); break;
                    case "kexec": result = host.plannedKexec(); exit = true; break;
                    case "quit": host.close(); result = "bye"; exit = true; break;
                    default: throw new IllegalArgumentException("unknown command " + cmd);
                }
                reply = "OK " + json.writeValueAsString(result);
            } catch (Exception | LinkageError | AssertionError e) {
                // the driver gets the reason on the channel; the trace goes to the log
                e.printStackTrace();
                reply = "ERR " + (e.getMessage() == null ? e.getClass().getName() : e.getMessage().replace('\n', ' '));
            }
            System.out.println(reply);
            System.out.flush();
            if (exit) {
                System.exit(0);
            }
        }
    }
}
