package org.pkstore.persist;

import org.pkstore.persist.registry.ChronicleMapFileHeader;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.RegistrySeal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a boot would accept a mount, decided once, before anything is written, for the boot
 * ({@link PkernfsMount#mountReadWrite}) and for {@code pkstore verify} and {@code inspect} alike,
 * so that what they report is what the boot does. Reads only.
 *
 * <p>The checks, each refusal naming file, byte offset and reason:
 * <ol>
 *   <li>the superblock (header, checksum, PA cursors): its clean flag says whether the boot is
 *       planned (the last writer unmounted cleanly) or recovers after a crash;</li>
 *   <li>every table file's header (pgtables/, iommu/), every guest memory file's header and size,
 *       the intent journal's header;</li>
 *   <li>every registry file: present, Chronicle Map header checksum and length against its geometry
 *       ({@link ChronicleMapFileHeader}); on a planned boot also its exact length and content against
 *       the {@link RegistrySeal} written when the mount was cleanly closed. The content (a CRC-32C
 *       over the whole file) is the one check that reads more than a header: a boot that opens the
 *       registries in the background ({@link #assessForBoot}) leaves it to that open, which checks
 *       it before the first registry write ({@link #deferredSeals()}); {@code verify}, {@code inspect}
 *       and a boot that opens them inline check it here;</li>
 *   <li>on a planned boot, the handover record: format and checksum, and every file it names
 *       against the mount (compatibility string, version, physical base, root); a record of another
 *       generation is stale and not used, and none at all is a note (a plain unmount writes none).
 *       After a crash the handover record is not used.</li>
 * </ol>
 * Decision: REFUSE when any check fails; otherwise RECOVER after a crash (intent replay, leak
 * sweep, Chronicle Map recovery), ACCEPT after a clean unmount.
 */
public final class MountAcceptance {
    public enum Decision { ACCEPT, RECOVER, REFUSE }

    /** One refusal or note: the file (absolute), a byte offset (-1 when none) and why. */
    public record Problem(Path file, long offset, String reason) {
        static Problem of(PersistException e, Path fallback) {
            if (e instanceof CorruptFileException) {
                CorruptFileException c = (CorruptFileException) e;
                return new Problem(c.file() == null ? fallback : c.file(), c.offset(), c.reason());
            }
            return new Problem(fallback, -1, e.getMessage());
        }

        PersistException toException() {
            return offset >= 0 ? new CorruptFileException(file, offset, reason) : new PersistException(file + ": " + reason);
        }
    }

    private final Path dir;
    private final boolean planned;
    private final long generation;
    private final List<Problem> refusals = new ArrayList<>();
    private final List<Problem> notes = new ArrayList<>();
    private String handover = "none";
    /** Check the registries' content against their seals here (else: leave it to the registries' open). */
    private final boolean registryContent;
    private final List<DeferredSeal> deferredSeals = new ArrayList<>();
    /** The header page of every table and guest memory file that passed its check, for the handover check. */
    private final Map<Path, FileHead> validatedHeads = new HashMap<>();

    /** A registry whose seal is current and whose length matched, its content not checked yet. */
    public record DeferredSeal(Path registry, RegistrySeal seal) {}

    private MountAcceptance(Path dir, boolean planned, long generation, boolean registryContent) {
        this.dir = dir;
        this.planned = planned;
        this.generation = generation;
        this.registryContent = registryContent;
    }

    /** Assesses an existing mount (one with a superblock file): every check, for verify, inspect and an inline boot. */
    public static MountAcceptance assess(Path dir) {
        return assess(dir, true);
    }

    /**
     * The boot's check when the registries open in the background: every check of {@link #assess}
     * but the registries' content against their seals (their length is checked), which reads whole
     * files; the seals left to check are {@link #deferredSeals()}, for the registries' open to check
     * before it writes. What is checked here costs per file, not per byte.
     */
    public static MountAcceptance assessForBoot(Path dir) {
        return assess(dir, false);
    }

    private static MountAcceptance assess(Path dir, boolean registryContent) {
        Path sbPath = dir.resolve(Superblock.FILE_NAME);
        boolean planned = false;
        long generation = -1;
        PersistException sbProblem = null;
        try {
            FileHead sb = Superblock.readValidated(sbPath); // its page, read, not mapped
            planned = sb.readVolatileInt(Superblock.CLEAN_OFFSET) == 1;
            generation = sb.readVolatileLong(Superblock.GENERATION_OFFSET);
        } catch (PersistException e) {
            sbProblem = e;
        }
        MountAcceptance a = new MountAcceptance(dir, planned, generation, registryContent);
        if (sbProblem != null) {
            a.refusals.add(Problem.of(sbProblem, sbPath));
        }
        a.tableAndMemoryFiles();
        a.registries(sbProblem == null);
        if (sbProblem == null) {
            a.handoverRecord();
        }
        return a;
    }

    private void tableAndMemoryFiles() {
        List<Path> tables = new ArrayList<>(PkernfsMount.list(dir.resolve(PkernfsMount.PGTABLES_DIR), PkernfsMount.PGTABLE_SUFFIX));
        tables.addAll(PkernfsMount.list(dir.resolve(PkernfsMount.IOMMU_DIR), PkernfsMount.IOMMU_SUFFIX));
        for (Path p : tables) {
            try {
                validatedHeads.put(p, PageTableFile.validateHeader(p)); // the header page, not a 64 MiB mapping
            } catch (PersistException e) {
                refusals.add(Problem.of(e, p));
            }
        }
        for (Path p : PkernfsMount.list(dir.resolve(PkernfsMount.MEM_DIR), PkernfsMount.MEM_SUFFIX)) {
            try {
                validatedHeads.put(p, GuestMemoryFile.readValidated(p));
            } catch (PersistException e) {
                refusals.add(Problem.of(e, p));
            }
        }
        Path jp = dir.resolve(IntentJournal.FILE_NAME);
        if (Files.exists(jp)) {
            try {
                IntentJournal.validate(jp);
            } catch (PersistException e) {
                refusals.add(Problem.of(e, jp));
            }
        }
    }

    /** @param sealsUsable the superblock was read, so its clean flag and generation can be trusted */
    private void registries(boolean sealsUsable) {
        for (String name : Registries.NAMES) {
            Path f = Registries.fileOf(dir, name);
            if (!Files.isRegularFile(f)) {
                // a mount's first writer creates all of them, after the superblock: after a crash that
                // may not have finished, after a clean unmount one missing was removed
                if (planned) {
                    refusals.add(new Problem(f, -1, "registry file missing: a boot would recreate it empty and lose its entries"));
                } else {
                    notes.add(new Problem(f, -1, "registry file missing: the recovering boot creates it empty "
                            + "(a first boot killed before creating it, or its entries are lost)"));
                }
                continue;
            }
            try {
                ChronicleMapFileHeader h = ChronicleMapFileHeader.read(f);
                if (!h.complete()) {
                    if (planned) {
                        refusals.add(new Problem(f, ChronicleMapFileHeader.SIZE_WORD_OFFSET, "marked not complete "
                                + "(a creation or recovery was interrupted) although the mount was cleanly closed"));
                    } else {
                        notes.add(new Problem(f, ChronicleMapFileHeader.SIZE_WORD_OFFSET,
                                "marked not complete (a creation or recovery was interrupted): the recovery completes it"));
                    }
                }
                // a seal is consumed (deleted) before its registry is first opened for writing
                // (Registries.openLive): one still there after an unclean end vouches for the
                // registry as the last clean unmount left it, no boot having opened it since
                RegistrySeal seal = sealsUsable ? RegistrySeal.read(RegistrySeal.fileOf(f)) : null;
                boolean sealApplies = seal != null && (planned ? seal.generation() == generation : seal.generation() < generation);
                if (planned && sealsUsable && !sealApplies) {
                    notes.add(new Problem(f, -1, seal == null ? "no seal: its exact length and content cannot be checked"
                            : "seal of generation " + seal.generation() + " is stale (superblock: " + generation
                            + "): its exact length and content cannot be checked"));
                } else if (sealApplies) {
                    if (registryContent) {
                        seal.check(f);
                    } else {
                        seal.checkLength(f);
                        deferredSeals.add(new DeferredSeal(f, seal));
                    }
                }
            } catch (PersistException e) {
                refusals.add(Problem.of(e, f));
            }
        }
    }

    private void handoverRecord() {
        Path p = dir.resolve(HandoverRecord.FILE_NAME);
        HandoverRecord h;
        try {
            h = HandoverRecord.read(dir);
        } catch (PersistException e) {
            if (planned) {
                refusals.add(Problem.of(e, p));
                handover = "damaged";
            } else {
                notes.add(new Problem(p, -1, "damaged, but not used after a crash: " + e.getMessage()));
                handover = "damaged, not used after a crash";
            }
            return;
        }
        if (h == null) {
            // a plain unmount writes none, a planned kexec does: the boot goes on, but says so
            handover = planned ? "none, although the last writer unmounted cleanly: no planned kexec handed this mount over, "
                    + "so nothing checks its files against what was handed over" : "none";
            return;
        }
        if (!planned || h.generation() != generation) {
            handover = "stale (written by generation " + h.generation() + "): " + (planned ? "" : "crash kexec, ") + "not used";
            return;
        }
        List<Problem> mismatches = h.check(dir, validatedHeads);
        refusals.addAll(mismatches);
        handover = mismatches.isEmpty()
                ? "checked " + h.files().size() + " files: versions, compatibility strings, roots match"
                : "does not match the mount";
    }

    public Path dir() { return dir; }
    /** The last writer unmounted cleanly: the boot is planned (no recovery). */
    public boolean planned() { return planned; }
    /** The superblock's generation (-1 when it was refused). */
    public long generation() { return generation; }
    public List<Problem> refusals() { return List.copyOf(refusals); }
    public List<Problem> notes() { return List.copyOf(notes); }
    /** The seals whose registry content is still to be checked (only from {@link #assessForBoot}; empty otherwise). */
    public List<DeferredSeal> deferredSeals() { return List.copyOf(deferredSeals); }
    /** What became of the handover record: none, checked, stale, damaged. */
    public String handover() { return handover; }

    public Decision decision() {
        return !refusals.isEmpty() ? Decision.REFUSE : planned ? Decision.ACCEPT : Decision.RECOVER;
    }

    /** Throws the first refusal (file, offset, reason), as the boot does. */
    public void requireAccepted() {
        if (!refusals.isEmpty()) {
            throw refusals.get(0).toException();
        }
    }
}
