package org.pkstore.cli;

import org.pkstore.persist.CorruptFileException;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.MountLock;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PersistException;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.PreservedRecord;
import org.pkstore.persist.Superblock;
import org.pkstore.persist.registry.Registries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;

/** {@code pkstore snapshot MOUNT DEST}: a consistent copy of a mount, even while a host runs on it. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        header = "Copy a mount consistently, even while a host runs on it.",
        description = {
                "Copies a mount to DEST so that it can be inspected, verified or diffed later, while a host may "
                + "be running on it. Each table file is copied only when its mutation sequence is even (no update "
                + "under way) and unchanged across the copy, with the same free sequence and allocation bitmap; "
                + "otherwise the copy is retried (bounded by --retries). Only allocated table pages are copied "
                + "(the copy is sparse). Registries are copied, then recovered in DEST. Guest memory is copied "
                + "sparse (zero blocks skipped), or with --no-memory only its header (contents read as zeros). "
                + "DEST gets a manifest, pkstore.snapshot, and its files are made read-only (unless --writable): a "
                + "read-write mount of the copy is refused.",
                "",
                "Exit: 0 copied; 1 a file kept changing for all retries (DEST removed); 2 unusable input, DEST "
                + "not empty."})
final class SnapshotCommand extends BaseCommand {
    static final String MANIFEST = "pkstore.snapshot";

    @Parameters(index = "0", paramLabel = "MOUNT", description = "The mount to copy.")
    Path source;

    @Parameters(index = "1", paramLabel = "DEST", description = "Where the copy goes (must not exist, or be an empty directory).")
    Path dest;

    @Option(names = "--no-memory", description = "Do not copy guest memory contents (headers only).")
    boolean noMemory;

    @Option(names = "--retries", paramLabel = "N", defaultValue = "100",
            description = "Copies of one table file tried before giving up (default ${DEFAULT-VALUE}).")
    int retries;

    @Option(names = "--writable", description = "Leave the copied files writable.")
    boolean writable;

    record FileCopy(String path, String mode, long bytes, long copiedBytes, Integer attempts, Long mutationSeq,
                    Long freeSeq, String note) {}

    record Manifest(String snapshotOf, String takenAt, boolean sourceHeld, Long sourceHolderPid, long sourceGeneration,
                    boolean memoryCopied, List<FileCopy> files, long millis) {}

    /** A table file that never held still. */
    static final class Unstable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unstable(String message) {
            super(message);
        }
    }

    @Override
    int execute() throws IOException {
        if (!Files.isRegularFile(source.resolve(Superblock.FILE_NAME))) {
            throw CliException.unusable(source + " is not a pkernfs mount (no " + Superblock.FILE_NAME + ")");
        }
        if (Files.exists(dest)) {
            boolean empty;
            try (Stream<Path> s = Files.list(dest)) {
                empty = Files.isDirectory(dest) && s.findAny().isEmpty();
            }
            if (!empty) {
                throw CliException.unusable(dest + " exists and is not an empty directory");
            }
        }
        if (retries < 1) {
            throw CliException.unusable("--retries must be at least 1");
        }
        long t0 = System.nanoTime();
        boolean held = MountLock.isHeld(source);
        Long holder = held ? MountLock.recordedHolder(source) : null;
        long generation = MountView.readHeader(source.resolve(Superblock.FILE_NAME), Superblock.SIZE)
                .getLong(Superblock.GENERATION_OFFSET);
        List<FileCopy> files = new ArrayList<>();
        Progress p = progress("snapshot");
        try {
            for (String d : new String[] {PkernfsMount.IOMMU_DIR, PkernfsMount.PGTABLES_DIR, PkernfsMount.MEM_DIR, Registries.DIR}) {
                Files.createDirectories(dest.resolve(d));
            }
            files.add(plain(Superblock.FILE_NAME));
            if (Files.exists(source.resolve(IntentJournal.FILE_NAME))) {
                files.add(plain(IntentJournal.FILE_NAME));
            }
            if (Files.exists(source.resolve(org.pkstore.persist.HandoverRecord.FILE_NAME))) {
                files.add(plain(org.pkstore.persist.HandoverRecord.FILE_NAME));
            }
            List<Path> tables = new ArrayList<>(MountView.list(source.resolve(PkernfsMount.IOMMU_DIR), PkernfsMount.IOMMU_SUFFIX));
            tables.addAll(MountView.list(source.resolve(PkernfsMount.PGTABLES_DIR), PkernfsMount.PGTABLE_SUFFIX));
            int n = 0;
            for (Path t : tables) {
                p.update(n++, tables.size(), "table files");
                files.add(table(t));
            }
            for (Path g : MountView.list(source.resolve(PkernfsMount.MEM_DIR), PkernfsMount.MEM_SUFFIX)) {
                files.add(memory(g));
            }
            List<Path> regs = MountView.list(source.resolve(Registries.DIR), ".cmap");
            for (Path r : regs) {
                String rel = MountView.relativize(source, r);
                long copied = sparseCopy(r, dest.resolve(rel), 0);
                files.add(new FileCopy(rel, "copied, then recovered", Files.size(r), copied, null, null, null, null));
            }
            if (!regs.isEmpty()) {
                // recovery clears segment locks a live writer may have held when the file was copied
                try (Registries recovered = Registries.openLive(dest, true)) {
                    recovered.containers.size();
                    recovered.close();
                    // the recovered copies are what the copy's superblock vouches for (FORMAT.md 8.2)
                    org.pkstore.persist.registry.RegistrySeal.sealAll(dest, generation);
                } catch (RuntimeException e) {
                    files.add(new FileCopy(Registries.DIR, "recovery failed", 0, 0, null, null, null,
                            MountView.rootMessage(e)));
                }
            }
            Path record = PreservedRecord.pathIn(source);
            if (Files.exists(record)) {
                files.add(preservedRecord(record));
            }
            p.done();
            Manifest m = new Manifest(source.toAbsolutePath().toString(), Instant.now().toString(), held, holder, generation,
                    !noMemory, files, (System.nanoTime() - t0) / 1_000_000);
            Files.writeString(dest.resolve(MANIFEST), Json.MAPPER.writeValueAsString(m) + "\n");
            if (!writable) {
                makeReadOnly(dest);
            }
            if (json) {
                Json.write(out(), m);
            } else {
                print(m);
            }
            return ExitCodes.OK;
        } catch (Unstable e) {
            p.done();
            ReplayCommand.deleteTree(dest);
            warn(e.getMessage() + "; " + dest + " removed");
            return ExitCodes.FOUND;
        }
    }

    private FileCopy plain(String name) throws IOException {
        Path from = source.resolve(name);
        long copied = sparseCopy(from, dest.resolve(name), 0);
        return new FileCopy(name, "copied", Files.size(from), copied, null, null, null, null);
    }

    /**
     * The preserved record (registry/preserved.rec, docs/FORMAT.md "Preserved record"): copied, then
     * read back from DEST; a copy that raced a slot update and fails the reader's checks is redone
     * (at most --retries times). A source the reader refuses is copied raw and flagged.
     */
    private FileCopy preservedRecord(Path from) throws IOException {
        String rel = MountView.relativize(source, from);
        Path to = dest.resolve(rel);
        String refused = null;
        for (int attempt = 1; attempt <= retries; attempt++) {
            Files.deleteIfExists(to);
            long copied = sparseCopy(from, to, 0);
            try {
                PreservedRecord.Contents c = PreservedRecord.read(to);
                return new FileCopy(rel, "copied, checked", Files.size(from), copied, attempt, null, null,
                        "slot sequence " + c.sequence() + ", generation " + c.generation() + ", "
                                + c.state().containers().size() + " container(s)");
            } catch (CorruptFileException e) {
                refused = e.getMessage();
                try {
                    PreservedRecord.read(from);
                } catch (CorruptFileException sourceRefused) {
                    // the source itself is refused: keep the raw copy, as for a refused table file
                    return new FileCopy(rel, "copied raw", Files.size(from), copied, attempt, null, null,
                            sourceRefused.getMessage());
                }
                backoff(attempt);
            }
        }
        throw new Unstable(rel + " kept changing: no copy the reader accepts in " + retries + " attempts (" + refused + ")");
    }

    /**
     * Copies a table file page by page (header, bitmap, allocated pages) between two samples of its
     * sequences and bitmap; repeats until both samples agree and no update was under way.
     */
    private FileCopy table(Path from) throws IOException {
        String rel = MountView.relativize(source, from);
        Path to = dest.resolve(rel);
        PageTableFile f;
        try {
            f = PageTableFile.openReadOnly(from);
        } catch (CorruptFileException e) {
            long copied = sparseCopy(from, to, 0);
            return new FileCopy(rel, "copied raw (refused by validation)", Files.size(from), copied, 1, null, null,
                    "offset 0x" + Long.toHexString(e.offset()) + ": " + e.reason());
        } catch (PersistException e) {
            throw CliException.unusable("cannot read " + from + ": " + e.getMessage());
        }
        try (f; FileChannel in = FileChannel.open(from, StandardOpenOption.READ)) {
            long pageSize = PageTableFileDescriptor.PAGE_SIZE;
            long bitmapBytes = (long) f.bitmapPages() * pageSize;
            for (int attempt = 1; attempt <= retries; attempt++) {
                long seq = f.mutationSeq();
                long free = f.freeSeq();
                if ((seq & 1) != 0) {
                    backoff(attempt);
                    continue;
                }
                byte[] bitmap = new byte[(int) bitmapBytes];
                f.region().read(PageTableFileDescriptor.BITMAP_OFFSET, bitmap, 0, bitmap.length);
                long copied;
                try (FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    copied = copyRange(in, out, 0, pageSize);
                    copied += copyRange(in, out, pageSize, bitmapBytes);
                    long runStart = -1;
                    for (long pg = f.firstTablePage(); pg <= f.capacityPages(); pg++) {
                        boolean used = pg < f.capacityPages() && (bitmap[(int) (pg >>> 3)] & (1 << (pg & 7))) != 0;
                        if (used && runStart < 0) {
                            runStart = pg;
                        } else if (!used && runStart >= 0) {
                            copied += copyRange(in, out, runStart * pageSize, (pg - runStart) * pageSize);
                            runStart = -1;
                        }
                    }
                    ByteBuffer one = ByteBuffer.allocate(1);
                    long size = f.capacityPages() * pageSize;
                    if (out.size() < size) {
                        out.write(one, size - 1); // sparse up to the full size (the last byte of a table page is 0 or copied)
                    }
                }
                byte[] again = new byte[bitmap.length];
                f.region().read(PageTableFileDescriptor.BITMAP_OFFSET, again, 0, again.length);
                if (f.mutationSeq() == seq && f.freeSeq() == free && Arrays.equals(bitmap, again)) {
                    return new FileCopy(rel, "tables (allocated pages)", f.capacityPages() * pageSize, copied, attempt, seq,
                            free, null);
                }
                backoff(attempt);
            }
            throw new Unstable(rel + " kept changing: no quiet copy in " + retries + " attempts (mutation sequence "
                    + f.mutationSeq() + ")");
        }
    }

    private static void backoff(int attempt) {
        try {
            Thread.sleep(Math.min(50, attempt));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unstable("interrupted");
        }
    }

    private FileCopy memory(Path from) throws IOException {
        String rel = MountView.relativize(source, from);
        long size = Files.size(from);
        if (noMemory) {
            long copied = sparseCopy(from, dest.resolve(rel), GuestMemoryFile.DATA_OFFSET);
            return new FileCopy(rel, "header only (--no-memory: contents read as zeros)", size, copied, null, null, null, null);
        }
        long copied = sparseCopy(from, dest.resolve(rel), 0);
        return new FileCopy(rel, "copied sparse", size, copied, null, null, null, null);
    }

    /** Copies in 1 MiB blocks, skipping blocks of zeros (holes stay holes); only {@code limit} bytes when > 0. */
    static long sparseCopy(Path from, Path to, long limit) throws IOException {
        long copied = 0;
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.size();
            long end = limit > 0 ? Math.min(limit, size) : size;
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            byte[] chunk = new byte[1 << 20];
            long pos = 0;
            while (pos < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                int n = in.read(buf, pos);
                if (n <= 0) {
                    break;
                }
                buf.flip();
                buf.get(chunk, 0, n);
                if (!zero(chunk, n)) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        out.write(buf, pos + buf.position());
                    }
                    copied += n;
                }
                pos += n;
            }
            if (size > 0 && out.size() < size) {
                out.write(ByteBuffer.allocate(1), size - 1);
            }
        }
        return copied;
    }

    private static boolean zero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static long copyRange(FileChannel in, FileChannel out, long pos, long len) throws IOException {
        long done = 0;
        while (done < len) {
            long n = in.transferTo(pos + done, len - done, out.position(pos + done));
            if (n <= 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    private static void makeReadOnly(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    try {
                        Files.setPosixFilePermissions(p, EnumSet.of(PosixFilePermission.OWNER_READ,
                                PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ));
                    } catch (UnsupportedOperationException e) {
                        p.toFile().setWritable(false, false);
                    }
                }
            }
        }
    }

    private void print(Manifest m) {
        PrintWriter w = out();
        w.println("snapshot of " + m.snapshotOf() + " (generation " + m.sourceGeneration()
                + (m.sourceHeld() ? ", live: held by pid " + m.sourceHolderPid() : ", no host running") + ") -> " + dest);
        TextTable t = new TextTable("FILE", "HOW", "SIZE", "COPIED", "ATTEMPTS", "MUTATION SEQ", "NOTE").right(2, 3, 4, 5);
        for (FileCopy f : m.files()) {
            t.row(f.path(), f.mode(), Fmt.size(f.bytes()), Fmt.size(f.copiedBytes()), f.attempts(), f.mutationSeq(),
                    f.note() == null ? "" : f.note());
        }
        t.print(w, "  ");
        w.println("done in " + m.millis() + " ms; manifest " + dest.resolve(MANIFEST)
                + (writable ? "" : "; files read-only"));
    }
}
