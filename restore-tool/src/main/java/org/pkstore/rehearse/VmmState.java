package org.pkstore.rehearse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What the VMM keeps across a live update (QEMU keeps the equivalent in its own preserved state):
 * its guest memory mappings, and per container the group, the pkernfs page-table file and every
 * MAP_DMA it made. After kexec it replays exactly these with the live-update flag.
 *
 * <p>Kept beside the mount ({@code WORK/vmm-state}) in a line format a VMM reads with no library
 * on its reattach path (docs/LIVE-UPDATE.md, "The VMM's state file"): one record a line, words
 * separated by one space, numbers of addresses and sizes in hex with {@code 0x}, ids in decimal;
 * a {@code map} line belongs to the {@code container} line above it; {@code end} last, so a
 * truncated file is refused:
 * <pre>
 *  pkstore-vmm-state 1
 *  driver DRIVER
 *  memory NAME VADDR SIZE
 *  container GROUP BDF PGTABLE_FILE IOMMU_TYPE
 *  map LABEL IOVA VADDR SIZE FLAGS
 *  stage1 FORMAT ROOT_GPA PASID BDF GVA_BASE TABLE_PAGES
 *  stage1-pages GPA...
 *  end
 * </pre>
 */
public final class VmmState {
    /** The file's name in the work directory. */
    public static final String FILE = "vmm-state";
    static final String MAGIC = "pkstore-vmm-state 1";

    public static final class GuestMemory {
        public String name;
        public long vaddr;
        public long size;
    }

    public static final class Mapping {
        public long iova;
        public long vaddr;
        public long size;
        public int flags;
        public String label;
    }

    public static final class Container {
        public int group;
        public String bdf;
        public String pgtableFile;
        public int iommuType;
        public List<Mapping> mappings = new ArrayList<>();
    }

    /**
     * The guest's first-stage page table (its own, in its RAM) and the PASID it is bound to: what
     * the guest remembers, so the rehearsal can tell where PASID DMA must land without walking it.
     */
    public static final class Stage1 {
        /** {@link org.pkstore.iommu.Stage1Format} name. */
        public String format;
        public long rootGpa;
        public int pasid;
        public String bdf;
        public long gvaBase;
        /** Guest-physical page mapped at {@code gvaBase + i * 4096}. */
        public List<Long> pageGpas = new ArrayList<>();
        public long tablePages;
    }

    public String driver;
    /** Null when the VM bound no PASID. */
    public Stage1 stage1;
    public List<GuestMemory> guestMemory = new ArrayList<>();
    public List<Container> containers = new ArrayList<>();

    /** Writes the state to {@code file} through a temporary file renamed over it (a kill leaves the old or the new). */
    public void write(Path file) throws IOException {
        StringBuilder out = new StringBuilder(256).append(MAGIC).append('\n');
        out.append("driver ").append(word(driver)).append('\n');
        for (GuestMemory m : guestMemory) {
            out.append("memory ").append(word(m.name)).append(hex(m.vaddr)).append(' ').append(hex(m.size)).append('\n');
        }
        for (Container c : containers) {
            out.append("container ").append(c.group).append(' ').append(word(c.bdf)).append(word(c.pgtableFile))
                    .append(c.iommuType).append('\n');
            for (Mapping m : c.mappings) {
                out.append("map ").append(word(m.label)).append(hex(m.iova)).append(' ').append(hex(m.vaddr)).append(' ')
                        .append(hex(m.size)).append(' ').append(m.flags).append('\n');
            }
        }
        if (stage1 != null) {
            out.append("stage1 ").append(word(stage1.format)).append(hex(stage1.rootGpa)).append(' ').append(stage1.pasid)
                    .append(' ').append(word(stage1.bdf)).append(hex(stage1.gvaBase)).append(' ')
                    .append(hex(stage1.tablePages)).append('\n');
            out.append("stage1-pages");
            for (long gpa : stage1.pageGpas) {
                out.append(' ').append(hex(gpa));
            }
            out.append('\n');
        }
        out.append("end\n");
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, out, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Reads a state {@link #write} wrote.
     *
     * @throws RehearsalException naming the file, the line and what is wrong with it (unknown
     *                            record, wrong word count, bad number, a map before any container,
     *                            no {@code end})
     */
    public static VmmState read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        VmmState s = new VmmState();
        int lineNo = 0;
        boolean ended = false;
        for (int at = 0; at < text.length() && !ended; ) {
            int nl = text.indexOf('\n', at);
            if (nl < 0) {
                throw refuse(file, lineNo + 1, "no newline at the end (truncated)");
            }
            String line = text.substring(at, nl);
            at = nl + 1;
            lineNo++;
            if (lineNo == 1) {
                if (!line.equals(MAGIC)) {
                    throw refuse(file, lineNo, "not a VMM state (expected \"" + MAGIC + "\")");
                }
                continue;
            }
            String[] w = line.split(" ");
            try {
                ended = s.parse(w);
            } catch (IllegalArgumentException e) {
                throw refuse(file, lineNo, e.getMessage());
            }
        }
        if (!ended) {
            throw refuse(file, lineNo, "no end line (truncated)");
        }
        return s;
    }

    /** One line's record into this state; true at {@code end}. */
    private boolean parse(String[] w) {
        switch (w[0]) {
            case "driver" -> {
                words(w, 2);
                driver = w[1];
            }
            case "memory" -> {
                words(w, 4);
                GuestMemory m = new GuestMemory();
                m.name = w[1];
                m.vaddr = hex(w[2]);
                m.size = hex(w[3]);
                guestMemory.add(m);
            }
            case "container" -> {
                words(w, 5);
                Container c = new Container();
                c.group = Integer.parseInt(w[1]);
                c.bdf = w[2];
                c.pgtableFile = w[3];
                c.iommuType = Integer.parseInt(w[4]);
                containers.add(c);
            }
            case "map" -> {
                words(w, 6);
                if (containers.isEmpty()) {
                    throw new IllegalArgumentException("a map line before any container line");
                }
                Mapping m = new Mapping();
                m.label = w[1];
                m.iova = hex(w[2]);
                m.vaddr = hex(w[3]);
                m.size = hex(w[4]);
                m.flags = Integer.parseInt(w[5]);
                containers.get(containers.size() - 1).mappings.add(m);
            }
            case "stage1" -> {
                words(w, 7);
                stage1 = new Stage1();
                stage1.format = w[1];
                stage1.rootGpa = hex(w[2]);
                stage1.pasid = Integer.parseInt(w[3]);
                stage1.bdf = w[4];
                stage1.gvaBase = hex(w[5]);
                stage1.tablePages = hex(w[6]);
            }
            case "stage1-pages" -> {
                if (stage1 == null) {
                    throw new IllegalArgumentException("stage1-pages before the stage1 line");
                }
                for (int i = 1; i < w.length; i++) {
                    stage1.pageGpas.add(hex(w[i]));
                }
            }
            case "end" -> {
                words(w, 1);
                return true;
            }
            default -> throw new IllegalArgumentException("unknown record \"" + w[0] + "\"");
        }
        return false;
    }

    private static void words(String[] w, int n) {
        if (w.length != n) {
            throw new IllegalArgumentException(w[0] + ": " + (n - 1) + " values expected, " + (w.length - 1) + " found");
        }
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static long hex(String s) {
        if (!s.startsWith("0x") || s.length() < 3 || s.length() > 18) {
            throw new IllegalArgumentException("\"" + s + "\" is not a 0x hex number of at most 64 bits");
        }
        return Long.parseUnsignedLong(s, 2, s.length(), 16);
    }

    /** A name written as one word, with the space after it. */
    private static String word(String s) {
        if (s == null || s.isEmpty() || s.indexOf(' ') >= 0 || s.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("\"" + s + "\" cannot be a word of the VMM state");
        }
        return s + " ";
    }

    private static RehearsalException refuse(Path file, int line, String why) {
        return new RehearsalException(file + " line " + line + ": " + why);
    }
}
