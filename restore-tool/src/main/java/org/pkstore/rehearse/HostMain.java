package org.pkstore.rehearse;

import org.pkstore.iommu.IommuDriver;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.rehearse.protocol.CommandLoop;
import org.pkstore.rehearse.protocol.HostCommand;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.MessageCodec;
import org.pkstore.rehearse.protocol.ReplyLine;
import org.pkstore.vfio.CatchUpTimes;
import org.pkstore.vfio.RecoveryReport;
import org.pkstore.vfio.VfioKernel;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Entry point of a host JVM: one boot of the kernel model ({@link HostBoot}), the VMM that drives
 * it ({@link GuestVmm}) and the ioctls a crash kexec hits ({@link DmaChurn}), controlled by the
 * rehearsal driver over stdin/stdout with {@link HostCommand}s, one command and one reply line at a
 * time. Usage: {@code HostMain WORK_DIR vtd|smmuv3}. Prints {@code READY <pid> <System.nanoTime>}
 * first, so the driver can tell JVM start from boot.
 */
public final class HostMain {
    private final Path work;
    private final HostBoot boot;
    private GuestVmm vmm;
    private DmaChurn churn;

    private HostMain(Path work, IommuDriver driver) {
        this.work = work;
        this.boot = new HostBoot(work, driver);
    }

    public static void main(String[] args) throws Exception {
        // The JSON codec (the rehearsal's protocol, not the kernel's work) is made when the boot's
        // reply is encoded, after the boot: the host runs on one CPU, where a thread making it beside
        // the boot only took the boot's time (mount 446 -> 3xx ms). The boot command comes by name.
        // READY carries System.nanoTime (CLOCK_MONOTONIC, the driver's clock too), not the JVM's
        // uptime, whose management bean costs a fresh JVM 40-150 ms before READY.
        HostMain host = new HostMain(Path.of(args[0]), IommuDriver.byConfigName(args.length > 1 ? args[1] : "vtd"));
        System.out.println(ReplyLine.READY + " " + ProcessHandle.current().pid() + " " + System.nanoTime());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (host.commands().serve(in, System.out) != null) {
            // the session's end (kexec, quit) left every file stored and the mount closed, and the reply
            // is flushed: halt skips the shutdown hooks (Chronicle's, logging's: 10-15 ms of the
            // blackout's old host exit), which have nothing left to store. A class-data archive
            // being trained is still written (the JVM dumps it on halt as on exit).
            System.err.flush();
            Runtime.getRuntime().halt(0);
        }
    }


    /** The host's command table: each command record and what answers it. */
    private CommandLoop<HostCommand<?>> commands() {
        return new CommandLoop<HostCommand<?>>(HostCommand.class, () -> MessageCodec.HOST_COMMANDS)
                .on(HostCommand.Boot.class, c -> booted())
                .on(HostCommand.Setup.class, c -> vmm().setup(c.plan()))
                .on(HostCommand.Reattach.class, c -> vmm().reattach(c.strategy()))
                .on(HostCommand.CatchUp.class, c -> caughtUp())
                .on(HostCommand.State.class, c -> vmm().state())
                .on(HostCommand.Consistency.class, c -> vmm().consistency())
                .on(HostCommand.ChurnStart.class, c -> churn().start(vmm().containerFds().get(0)))
                .on(HostCommand.ChurnStop.class, c -> churn().stop())
                .on(HostCommand.ChurnCleanup.class, c -> vmm().churnCleanup())
                .on(HostCommand.FreezeAt.class, c -> churn().freezeAt(c.point(), c.nth()))
                .on(HostCommand.FreezeBootAt.class, c -> boot.freezeAt(c.step(), c.file()))
                .on(HostCommand.ChurnWindow.class, c -> vmm().churnWindow())
                .on(HostCommand.Hotswap.class, c -> vmm().hotswapContainer(c.container()))
                .on(HostCommand.Hotplug.class, c -> hotplug().attach())
                .on(HostCommand.HotplugState.class, c -> hotplug().state())
                .on(HostCommand.HotplugRelease.class, c -> hotplug().release())
                .on(HostCommand.Rebuild.class, c -> boot.replayRebuild())
                .on(HostCommand.Kexec.class, c -> plannedKexec())
                .on(HostCommand.Quit.class, c -> {
                    boot.close();
                    return new HostReply.Closed();
                });
    }

    private HostReply.Booted booted() {
        HostReply.Booted b = boot.boot();
        vmm = new GuestVmm(work, boot);
        churn = new DmaChurn(boot.kernel(), boot.client(), work);
        return b;
    }

    /**
     * Waits for record mode's catch-up (after the VMM resumed: harness time) and reports it with the
     * registries' open, both from the mount's start as the boot reply counts.
     */
    private HostReply.CaughtUp caughtUp() {
        VfioKernel kernel = boot.kernel();
        PkernfsMount mount = boot.mount();
        kernel.catchUp();
        CatchUpTimes t = kernel.catchUpTimes();
        long[] open = mount.registryOpenNanos();
        long origin = mount.mountStartNanos();
        List<HostReply.Wait> waits = new ArrayList<>();
        if (t != null) {
            t.waits().forEach(w -> waits.add(new HostReply.Wait(w.operation(), Millis.exact(w.nanos()))));
        }
        RecoveryReport r = kernel.recoveryReport();
        Map<String, Long> reclaimed = new TreeMap<>();
        r.reclaimedPages().forEach((file, pages) -> reclaimed.put(file.endsWith(PkernfsMount.IOMMU_SUFFIX)
                ? PkernfsMount.IOMMU_DIR + "/" + file : PkernfsMount.PGTABLES_DIR + "/" + file + PkernfsMount.PGTABLE_SUFFIX, pages));
        return new HostReply.CaughtUp(Millis.exact(open[0] - origin), Millis.exact(open[1] - open[0]),
                t == null ? null : Millis.exact(t.startNanos() - origin), t == null ? null : Millis.exact(t.nanos()),
                t == null ? null : Millis.exact(t.prepareNanos()),
                t == null ? null : t.owner(), waits, t == null ? null : t.difference(), t == null ? null : t.parts(),
                mount.registryRecoveryMillis(),
                r.toString(), r.intent() == null ? "none" : r.intent() + " " + r.intentAction(), reclaimed);
    }

    /** Quiesce (no ioctl in flight after the churn stopped), then hand over. */
    private HostReply.HandedOver plannedKexec() throws InterruptedException {
        long t0 = System.nanoTime();
        if (churn != null) {
            churn.stop();
        }
        return boot.handOver(t0, Millis.exact(System.nanoTime() - t0));
    }

    private GuestVmm vmm() {
        if (vmm == null) {
            throw new IllegalStateException("the host has not booted");
        }
        return vmm;
    }

    private HotplugVm hotplug() {
        return new HotplugVm(boot.kernel(), boot.client(), work);
    }

    private DmaChurn churn() {
        if (churn == null) {
            throw new IllegalStateException("the host has not booted");
        }
        return churn;
    }
}
