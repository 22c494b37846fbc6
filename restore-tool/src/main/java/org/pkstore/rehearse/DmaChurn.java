package org.pkstore.rehearse;

import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioIommuType1DmaMap;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

/**
 * What a crash kexec hits: MAP_DMA/UNMAP_DMA pairs of random sizes, on a thread of their own, in a
 * scratch IOVA window of the first container that the VMM does not remember; and kill points, which
 * freeze the host at a named step inside one of those ioctls so that the driver's SIGKILL lands
 * exactly there. Every ioctl that returned 0 is acknowledged with one unbuffered line in
 * {@link WorkDirectory#CHURN_ACKS} ({@code map IOVA SIZE}, {@code unmap IOVA SIZE}, hex) before the
 * next starts: the driver knows exactly which ops a SIGKILL must not lose.
 */
final class DmaChurn {
    /** The scratch window: 8 GiB at 1 TiB, far above the guest's mappings. */
    static final long CHURN_IOVA = 0x100_0000_0000L;
    static final long CHURN_WINDOW = 1L << 33;
    private static final int EEXIST = -17;

    private final VfioKernel kernel;
    private final VfioClient client;
    private final Path work;
    private Thread thread;
    private volatile boolean stopping;
    private volatile long ops;
    private volatile String failure;

    DmaChurn(VfioKernel kernel, VfioClient client, Path work) {
        this.kernel = kernel;
        this.client = client;
        this.work = work;
    }

    HostReply.ChurnStarted start(int containerFd) {
        if (thread != null) {
            throw new IllegalStateException("churn already running");
        }
        stopping = false;
        ops = 0;
        failure = null;
        long seed = System.nanoTime();
        FileOutputStream acks;
        try {
            acks = new FileOutputStream(work.resolve(WorkDirectory.CHURN_ACKS).toFile(), false);
        } catch (IOException e) {
            throw new RehearsalException("cannot write " + WorkDirectory.CHURN_ACKS, e);
        }
        thread = new Thread(() -> {
            try (acks) {
                churn(containerFd, new Random(seed), acks);
            } catch (IOException e) {
                failure = "acknowledgement: " + e.getMessage();
            }
        }, "churn");
        thread.start();
        return new HostReply.ChurnStarted(seed);
    }

    private void churn(int containerFd, Random rnd, FileOutputStream acks) throws IOException {
        int rw = VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_READ | VfioIommuType1DmaMap.VFIO_DMA_MAP_FLAG_WRITE;
        while (!stopping) {
            long iova = CHURN_IOVA + ((long) rnd.nextInt(1 << 12) << 21);
            long pages = 1 + rnd.nextInt(128);
            long vaddr = GuestVmm.GUEST_VADDR + 4096L * (1 + rnd.nextInt(1 << 16));
            int ret = client.mapDma(containerFd, vaddr, iova, pages * 4096, rw);
            if (ret != 0 && ret != EEXIST) {
                failure = "MAP_DMA " + VfioClient.result(ret);
                return;
            }
            if (ret == 0) {
                ack(acks, "map", iova, pages * 4096);
                VfioClient.Unmapped u = client.unmapDma(containerFd, iova, pages * 4096);
                if (u.ret() != 0 || u.size() != pages * 4096) {
                    failure = "UNMAP_DMA " + VfioClient.result(u.ret()) + " size " + u.size();
                    return;
                }
                ack(acks, "unmap", iova, pages * 4096);
            }
            ops++;
        }
    }

    /** One write(2) per acknowledgement: in the page cache when it returns, so it survives SIGKILL. */
    private static void ack(FileOutputStream acks, String op, long iova, long size) throws IOException {
        acks.write((op + " " + Long.toHexString(iova) + " " + Long.toHexString(size) + "\n")
                .getBytes(StandardCharsets.US_ASCII));
    }

    /** Stops the churn and waits for its last ioctl: nothing is in flight afterwards. */
    HostReply.ChurnStopped stop() throws InterruptedException {
        if (thread == null) {
            return new HostReply.ChurnStopped(0);
        }
        stopping = true;
        thread.join();
        thread = null;
        if (failure != null) {
            throw new RehearsalException("churn failed: " + failure);
        }
        return new HostReply.ChurnStopped(ops);
    }

    /**
     * Arms a kill point: the {@code nth} time an ioctl reaches {@code point} (a named step inside a
     * multi-step ioctl, e.g. "map:record": tables written, registry not yet), the thread writes
     * {@link WorkDirectory#FROZEN_MARKER} in the work directory and stops there for good, holding the
     * kernel, so that the driver's SIGKILL lands exactly at that step.
     */
    HostReply.FreezeArmed freezeAt(String point, int nth) {
        if (nth < 1) {
            throw new IllegalArgumentException("freeze-at counts from 1, not " + nth);
        }
        int[] seen = {0};
        Path marker = work.resolve(WorkDirectory.FROZEN_MARKER);
        kernel.setCrashPoints(reached -> {
            if (reached.equals(point) && ++seen[0] == nth) {
                try {
                    Files.writeString(marker, point + " " + nth + "\n");
                } catch (IOException e) {
                    throw new RehearsalException("cannot write " + marker, e);
                }
                while (true) {
                    LockSupport.park();
                }
            }
        });
        return new HostReply.FreezeArmed(point, nth);
    }
}
