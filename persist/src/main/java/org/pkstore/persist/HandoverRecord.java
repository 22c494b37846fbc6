package org.pkstore.persist;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a planned kexec hands to the next kernel: the generation that wrote it, and every preserved
 * file with its compatibility string, layout version, physical base and root, so that the next
 * boot can refuse, clearly, a mount that does not match what was handed over.
 *
 * <p>A text file, {@code handover.rec} in the mount, written to a temporary name and renamed (so it
 * is whole or absent), ending in a CRC-32C line over everything before it:
 * <pre>
 *  pkstore-handover-v1
 *  generation 7
 *  written-ms 1763780000000
 *  file pgtables/vm0-c0.pt kind 1 format 1 compat pkstore-iommu-pgtable-v1 version 1 pa-base 0x400000000000 root 0x400000003000
 *  file mem/guest0.gmem kind 0 format 0 compat pkstore-guest-memory-v1 version 1 pa-base 0x100000000 root 0x0
 *  crc32c 0x1a2b3c4d
 * </pre>
 */
public final class HandoverRecord {
    public static final String FILE_NAME = "handover.rec";
    public static final String COMPAT = "pkstore-handover-v1";

    /** One preserved file, path relative to the mount. */
    public record Entry(String path, int kind, int format, String compat, int version, long paBase, long rootPa) {}

    private final long generation;
    private final long writtenMillis;
    private final List<Entry> files;

    public HandoverRecord(long generation, long writtenMillis, List<Entry> files) {
        this.generation = generation;
        this.writtenMillis = writtenMillis;
        this.files = List.copyOf(files);
    }

    public long generation() { return generation; }
    public long writtenMillis() { return writtenMillis; }
    public List<Entry> files() { return files; }

    /** Describes every table and guest memory file of a mount as it is now. */
    public static HandoverRecord describe(PkernfsMount mount) {
        List<Entry> out = new ArrayList<>();
        List<Path> tables = new ArrayList<>(mount.iommuTableFiles());
        tables.addAll(mount.pageTableFiles());
        for (Path p : tables) {
            PageTableFile f = mount.openTableFile(p);
            out.add(new Entry(mount.dir().relativize(p).toString(), f.kind(), f.format(), f.compat(),
                    PageTableFileDescriptor.LAYOUT_VERSION, f.paBase(), f.rootPa()));
        }
        for (Path p : mount.guestMemoryFiles()) {
            GuestMemoryFile g = mount.openGuestMemory(PkernfsMount.baseName(p, PkernfsMount.MEM_SUFFIX));
            out.add(new Entry(mount.dir().relativize(p).toString(), 0, 0, GuestMemoryFile.COMPAT,
                    GuestMemoryFile.LAYOUT_VERSION, g.paBase(), 0));
        }
        return new HandoverRecord(mount.generation(), System.currentTimeMillis(), out);
    }

    public void write(Path mountDir) {
        StringBuilder sb = new StringBuilder();
        sb.append("generation ").append(generation).append('\n');
        sb.append("written-ms ").append(writtenMillis).append('\n');
        for (Entry e : files) {
            sb.append("file ").append(e.path()).append(" kind ").append(e.kind()).append(" format ").append(e.format())
                    .append(" compat ").append(e.compat()).append(" version ").append(e.version())
                    .append(" pa-base 0x").append(Long.toHexString(e.paBase()))
                    .append(" root 0x").append(Long.toHexString(e.rootPa())).append('\n');
        }
        ChecksummedTextFile.write(mountDir.resolve(FILE_NAME), COMPAT, sb);
    }

    /** Null when there is none; refuses (naming the byte offset of the bad line) a damaged one. */
    public static HandoverRecord read(Path mountDir) {
        Path p = mountDir.resolve(FILE_NAME);
        String[] lines = ChecksummedTextFile.readLines(p, COMPAT, "record", "handover record");
        if (lines == null) {
            return null;
        }
        long gen = 0;
        long written = 0;
        List<Entry> files = new ArrayList<>();
        long offset = lines[0].length() + 1;
        for (int i = 1; i < lines.length; offset += lines[i].length() + 1, i++) {
            String[] w = lines[i].split(" ");
            try {
                switch (w[0]) {
                    case "generation": gen = Long.parseLong(w[1]); break;
                    case "written-ms": written = Long.parseLong(w[1]); break;
                    case "file":
                        files.add(new Entry(w[1], Integer.parseInt(w[3]), Integer.parseInt(w[5]), w[7],
                                Integer.parseInt(w[9]), Long.decode(w[11]), Long.decode(w[13])));
                        break;
                    default: throw new CorruptFileException(p, offset, "unknown line \"" + w[0] + "\"");
                }
            } catch (ArrayIndexOutOfBoundsException | NumberFormatException e) {
                throw new CorruptFileException(p, offset, "malformed line: " + lines[i]);
            }
        }
        return new HandoverRecord(gen, written, files);
    }

    /**
     * Checks the mount against this record: every listed file present, with the same compatibility
     * string, version, physical base and root. Opens the files read-only; returns the problems, each
     * naming file and offset (empty when it matches).
     */
    public List<MountAcceptance.Problem> check(Path mountDir) {
        return check(mountDir, Map.of());
    }

    /**
     * As {@link #check(Path)}, with the header pages {@link MountAcceptance} has just read and
     * validated: a file found there is not read again.
     */
    List<MountAcceptance.Problem> check(Path mountDir, Map<Path, FileHead> validated) {
        List<MountAcceptance.Problem> problems = new ArrayList<>();
        for (Entry e : files) {
            Path p = mountDir.resolve(e.path());
            if (!Files.exists(p)) {
                problems.add(new MountAcceptance.Problem(p, -1, "handed over (" + FILE_NAME + ") but missing"));
                continue;
            }
            try {
                FileHead head = validated.get(p);
                if (e.kind() == 0) {
                    long paBase = (head != null ? head : GuestMemoryFile.readValidated(p)).readLong(GuestMemoryFile.PA_BASE_OFFSET);
                    if (!GuestMemoryFile.COMPAT.equals(e.compat()) || GuestMemoryFile.LAYOUT_VERSION != e.version()) {
                        problems.add(new MountAcceptance.Problem(p, GuestMemoryFile.COMPAT_OFFSET, "compat \""
                                + GuestMemoryFile.COMPAT + "\" version " + GuestMemoryFile.LAYOUT_VERSION
                                + ", handed over \"" + e.compat() + "\" version " + e.version()));
                    }
                    if (paBase != e.paBase()) {
                        problems.add(new MountAcceptance.Problem(p, GuestMemoryFile.PA_BASE_OFFSET, "physical base 0x"
                                + Long.toHexString(paBase) + ", handed over 0x" + Long.toHexString(e.paBase())));
                    }
                } else {
                    FileHead f = head != null ? head : PageTableFile.validateHeader(p);
                    String compat = FixedString.read(f, PageTableFileDescriptor.COMPAT_OFFSET, PageTableFileDescriptor.COMPAT_LENGTH);
                    int kind = f.readInt(PageTableFileDescriptor.KIND_OFFSET);
                    int format = f.readInt(PageTableFileDescriptor.FORMAT_OFFSET);
                    long paBase = f.readLong(PageTableFileDescriptor.PA_BASE_OFFSET);
                    long rootPa = f.readVolatileLong(PageTableFileDescriptor.ROOT_PA_OFFSET);
                    if (!compat.equals(e.compat())) {
                        problems.add(new MountAcceptance.Problem(p, PageTableFileDescriptor.COMPAT_OFFSET, "compat \""
                                + compat + "\", handed over \"" + e.compat() + "\""));
                    }
                    if (PageTableFileDescriptor.LAYOUT_VERSION != e.version() || kind != e.kind() || format != e.format()) {
                        problems.add(new MountAcceptance.Problem(p, PageTableFileDescriptor.KIND_OFFSET, "kind "
                                + kind + " format " + format + " version " + PageTableFileDescriptor.LAYOUT_VERSION
                                + ", handed over kind " + e.kind() + " format " + e.format() + " version " + e.version()));
                    }
                    if (paBase != e.paBase()) {
                        problems.add(new MountAcceptance.Problem(p, PageTableFileDescriptor.PA_BASE_OFFSET, "physical base 0x"
                                + Long.toHexString(paBase) + ", handed over 0x" + Long.toHexString(e.paBase())));
                    }
                    if (rootPa != e.rootPa()) {
                        problems.add(new MountAcceptance.Problem(p, PageTableFileDescriptor.ROOT_PA_OFFSET, "root 0x"
                                + Long.toHexString(rootPa) + ", handed over 0x" + Long.toHexString(e.rootPa())));
                    }
                }
            } catch (PersistException ex) {
                problems.add(MountAcceptance.Problem.of(ex, p));
            }
        }
        return problems;
    }
}
