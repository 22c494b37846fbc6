package org.pkstore.vfio.engine;

import org.pkstore.iommu.Errno;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.vfio.RecoveryReport;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.trace.KexecKind;
import org.pkstore.vfio.trace.TraceReader;
import org.pkstore.vfio.trace.TraceRecord;
import org.pkstore.vfio.uapi.VfioIoctl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an ioctl trace (docs/TRACE.md) against a pkernfs mount: boots a {@link VfioKernel} on it,
 * maps the trace's file descriptors to the kernel's, and executes every record in order through
 * the same entry points a VMM would use. KEXEC records reboot in this JVM: PLANNED stops the kernel
 * and unmounts cleanly before booting again; CRASH drops everything without cleanup, as SIGKILL
 * would, and the next boot recovers.
 *
 * <p>fds inside arguments (VFIO_GROUP_SET_CONTAINER's container fd,
 * VFIO_CONTAINER_SET_PERSISTENT_PGTABLES' file fd) are trace fds too and are translated on the way
 * in, and restored in the output bytes. An fd the trace never opened (or opened and closed, or
 * lost in a kexec) reaches the kernel as an fd that is not open. An {@code OPEN_*} record whose fd
 * is still open is refused with {@link InconsistentTraceException} before anything of it runs:
 * the kernel never hands out an open fd, and mapping it again would silently shadow the first.
 *
 * <p>Each record yields a {@link StepResult}: what ran, its return value (the trace fd for a
 * successful open) or errno name, and for a pointer ioctl the argument bytes as the kernel left
 * them (copy_to_user). Not thread-safe.
 */
public final class TraceEngine implements AutoCloseable {
    /**
     * The outcome of one record.
     *
     * @param index  position in the trace (0-based)
     * @param name   the ioctl's name (VFIO_IOMMU_MAP_DMA ...), or the record type (OPEN_CONTAINER, CLOSE, KEXEC ...)
     * @param ret    the raw return value (0, a value, a trace fd, or -errno)
     * @param result "0", the value, or the errno name ("EINVAL")
     * @param outArg the argument bytes after the call (empty when there are none)
     */
    public record StepResult(int index, String name, long ret, String result, byte[] outArg) {
        @Override
        public String toString() {
            return "#" + index + " " + name + " -> " + result;
        }
    }

    /** A kernel fd that is never open: what an unknown trace fd turns into. */
    static final int NOT_OPEN = Integer.MAX_VALUE;

    private final Path mountDir;
    private final HostTopology topology;
    private PkernfsMount mount;
    private VfioKernel kernel;
    private final Map<Integer, Integer> fds = new HashMap<>();
    /** Trace fd to the index of the record that opened it, for the message when it is reused. */
    private final Map<Integer, Integer> openedBy = new HashMap<>();
    private final List<RecoveryReport> boots = new ArrayList<>();
    private int index;

    public TraceEngine(Path mountDir, HostTopology topology) {
        this.mountDir = mountDir;
        this.topology = topology;
        boot();
    }

    private void boot() {
        mount = PkernfsMount.mountReadWrite(mountDir);
        kernel = VfioKernel.boot(mount, topology);
        boots.add(kernel.recoveryReport());
        fds.clear();
        openedBy.clear();
    }

    public VfioKernel kernel() { return kernel; }
    public PkernfsMount mount() { return mount; }
    /** One report per boot (the first boot included), oldest first. */
    public List<RecoveryReport> boots() { return List.copyOf(boots); }
    /** The kernel fd a trace fd stands for now, or -1. */
    public int kernelFd(int traceFd) { return fds.getOrDefault(traceFd, -1); }

    public List<StepResult> run(Path traceFile) throws IOException {
        return run(TraceReader.readAll(traceFile));
    }

    public List<StepResult> run(byte[] trace, String sourceName) throws IOException {
        return run(TraceReader.readAll(trace, sourceName));
    }

    public List<StepResult> run(List<TraceRecord> records) {
        List<StepResult> out = new ArrayList<>(records.size());
        for (TraceRecord r : records) {
            out.add(step(r));
        }
        return out;
    }

    private static String resultOf(long ret) {
        return ret < 0 ? Errno.name((int) ret) : Long.toString(ret);
    }

    private StepResult result(String name, long ret, byte[] out) {
        return new StepResult(index++, name, ret, resultOf(ret), out);
    }

    private StepResult opened(String name, int traceFd, int kfd) {
        if (kfd < 0) {
            return result(name, kfd, new byte[0]);
        }
        fds.put(traceFd, kfd);
        openedBy.put(traceFd, index);
        return result(name, traceFd, new byte[0]);
    }

    /** Refuses an open whose trace fd is still open, before the kernel sees it. */
    private void refuseOpenFd(String name, int traceFd) {
        Integer by = openedBy.get(traceFd);
        if (by != null) {
            throw new InconsistentTraceException(index, traceFd, "record #" + index + " " + name + " returns fd " + traceFd
                    + ", which record #" + by + " opened and nothing closed: a kernel never returns an fd that is still open");
        }
    }

    /**
     * Executes one record.
     *
     * @throws InconsistentTraceException an {@code OPEN_*} record reuses a trace fd that is still open (nothing ran)
     */
    public StepResult step(TraceRecord r) {
        if (r instanceof TraceRecord.OpenContainer) {
            TraceRecord.OpenContainer o = (TraceRecord.OpenContainer) r;
            refuseOpenFd("OPEN_CONTAINER", o.fd());
            return opened("OPEN_CONTAINER", o.fd(), kernel.openContainer());
        }
        if (r instanceof TraceRecord.OpenGroup) {
            TraceRecord.OpenGroup o = (TraceRecord.OpenGroup) r;
            refuseOpenFd("OPEN_GROUP", o.fd());
            return opened("OPEN_GROUP", o.fd(), kernel.openGroup(o.groupId()));
        }
        if (r instanceof TraceRecord.OpenPgtableFile) {
            TraceRecord.OpenPgtableFile o = (TraceRecord.OpenPgtableFile) r;
            refuseOpenFd("OPEN_PGTABLE_FILE", o.fd());
            return opened("OPEN_PGTABLE_FILE", o.fd(), kernel.openPageTableFile(o.name(), true));
        }
        if (r instanceof TraceRecord.MapGuestMemory) {
            TraceRecord.MapGuestMemory m = (TraceRecord.MapGuestMemory) r;
            return result("MAP_GUEST_MEMORY", kernel.mapGuestMemory(m.vaddr(), m.size(), m.name()), new byte[0]);
        }
        if (r instanceof TraceRecord.Close) {
            int traceFd = ((TraceRecord.Close) r).fd();
            Integer kfd = fds.remove(traceFd);
            openedBy.remove(traceFd);
            return result("CLOSE", kfd == null ? -Errno.EBADF : kernel.close(kfd), new byte[0]);
        }
        if (r instanceof TraceRecord.Kexec) {
            KexecKind kind = ((TraceRecord.Kexec) r).kind();
            if (kind == KexecKind.PLANNED) {
                kernel.close();
                mount.close();
            } else {
                kernel.crash();
            }
            boot();
            return result("KEXEC_" + kind.name(), 0, new byte[0]);
        }
        return ioctl((TraceRecord.Ioctl) r);
    }

    private StepResult ioctl(TraceRecord.Ioctl io) {
        String name = VfioIoctl.byNumber(io.request()).map(Enum::name)
                .orElse("ioctl 0x" + Integer.toHexString(io.request()));
        int kfd = fds.getOrDefault(io.fd(), NOT_OPEN);
        if (io.isScalar()) {
            return result(name, kernel.ioctl(kfd, io.request(), io.scalar()), new byte[0]);
        }
        byte[] arg = io.arg();
        if (arg.length == 0) {
            return result(name, kernel.ioctl(kfd, io.request(), 0L), new byte[0]);
        }
        boolean fdArg = io.request() == VfioKernel.VFIO_GROUP_SET_CONTAINER
                || io.request() == VfioKernel.VFIO_CONTAINER_SET_PERSISTENT_PGTABLES;
        int traceArgFd = 0;
        if (fdArg && arg.length >= 4) {
            ByteBuffer b = ByteBuffer.wrap(arg).order(ByteOrder.LITTLE_ENDIAN);
            traceArgFd = b.getInt(0);
            // a negative fd stays negative (GROUP_SET_CONTAINER says -EINVAL for it)
            if (traceArgFd >= 0) {
                b.putInt(0, fds.getOrDefault(traceArgFd, NOT_OPEN));
            }
        }
        long ret = kernel.ioctl(kfd, io.request(), arg);
        if (fdArg && arg.length >= 4) {
            ByteBuffer.wrap(arg).order(ByteOrder.LITTLE_ENDIAN).putInt(0, traceArgFd);
        }
        return result(name, ret, arg);
    }

    /** Stops the kernel and unmounts cleanly (the state stays in the mount, as after a planned kexec). */
    @Override
    public void close() {
        kernel.close();
        mount.close();
    }
}
