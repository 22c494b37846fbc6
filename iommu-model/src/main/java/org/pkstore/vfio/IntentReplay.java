package org.pkstore.vfio;

import org.pkstore.persist.IntentJournal;

import java.nio.ByteBuffer;

/**
 * Recovery of a multi-step ioctl cut short: the pending {@link KernelIntent} of the mount's journal
 * is undone or finished by its own intent class, which keeps the operation's steps, undo and
 * finish together ({@link DmaIntent}, {@link VmidIntent}, {@link PasidIntent},
 * {@link ReleaseIntent}, {@link SetIommuIntent}, {@link GroupIntent}, {@link ReclaimIntent}, {@link CatchUpIntent},
 * {@link HotswapIntent}), from the registries and the tables as the next boot finds them after
 * SIGKILL ({@link KernelBoot}) or right away when an ioctl threw ({@link VfioKernel}).
 */
final class IntentReplay {
    private static final System.Logger LOG = DeferredLogger.of(IntentReplay.class);

    private final VfioKernel kernel;

    IntentReplay(VfioKernel kernel) {
        this.kernel = kernel;
    }

    /** Undoes or finishes the active intent; {@code atBoot} puts it in the boot's report (else in its notes). */
    void replay(boolean atBoot) {
        IntentJournal.Intent in = kernel.journal.pending();
        if (in == null) {
            return;
        }
        String action = recover(in.op(), KernelIntent.read(in.payload()));
        kernel.journal.end();
        if (atBoot) {
            kernel.recovery.intent(KernelIntent.name(in.op()), action);
        } else {
            kernel.recovery.note("ioctl failed with an exception: intent " + KernelIntent.name(in.op()) + " " + action);
        }
        LOG.log(System.Logger.Level.INFO, "recovery: intent " + KernelIntent.name(in.op()) + " #" + in.seq() + " " + action);
    }

    private String recover(int op, ByteBuffer payload) {
        switch (op) {
            case KernelIntent.MAP_DMA: return DmaIntent.undoMap(kernel, payload);
            case KernelIntent.UNMAP_DMA: return DmaIntent.finishUnmap(kernel, payload);
            case KernelIntent.SET_VMID: return VmidIntent.finish(kernel, payload);
            case KernelIntent.BIND: return PasidIntent.removeBinding(kernel, payload, true);
            case KernelIntent.UNBIND: return PasidIntent.removeBinding(kernel, payload, false);
            case KernelIntent.GUEST_STAGE_SET: return PasidIntent.removeGuestStage(kernel, payload, true);
            case KernelIntent.GUEST_STAGE_CLEAR: return PasidIntent.removeGuestStage(kernel, payload, false);
            case KernelIntent.RELEASE: return ReleaseIntent.finish(kernel, payload);
            case KernelIntent.HOTSWAP: return HotswapIntent.recover(kernel, payload);
            case KernelIntent.SET_IOMMU: return SetIommuIntent.recover(kernel, payload);
            case KernelIntent.GROUP_ATTACH: return GroupIntent.recoverAttach(kernel, payload);
            case KernelIntent.GROUP_DETACH: return GroupIntent.recoverDetach(kernel, payload);
            case KernelIntent.RECLAIM: return ReclaimIntent.recover(kernel, payload);
            case KernelIntent.CATCH_UP: return CatchUpIntent.apply(kernel, payload);
            default: return "ignored (unknown operation)";
        }
    }
}
