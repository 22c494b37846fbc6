package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.persist.CorruptFileException;
import org.pkstore.persist.GuestMemoryFile;
import org.pkstore.persist.MappedRegion;
import org.pkstore.persist.MountAcceptance;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;
import org.pkstore.persist.PersistException;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.Superblock;
import org.pkstore.persist.registry.BindingRecord;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DmaMappingRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.FaultRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.persist.registry.GuestStageRecord;
import org.pkstore.persist.registry.PasidRecord;
import org.pkstore.persist.registry.RecordCodec;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.Registry;
import org.pkstore.persist.registry.VmidRecord;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A pkernfs mount opened for looking only: {@link PkernfsMount#mountReadOnly} (no writer lock, no
 * Chronicle Map lock: registries are private recovered copies), and every file opened on its own
 * so that one damaged file is a {@link Finding} (file, offset, reason) and not the end of the
 * command. Writes nothing to the mount.
 */
final class MountView implements AutoCloseable {
    /** One table file: opened read-only and validated, or refused with the reason. */
    record TableFile(Path path, String rel, String name, boolean domain, PageTableFile file, Finding problem) {
        boolean ok() {
            return file != null;
        }

        /** The format the header names, or null when the id is unknown (or the file was refused). */
        PageTableFormat format() {
            if (file == null) {
                return null;
            }
            try {
                return PageTableFormat.byId(file.format());
            } catch (IllegalArgumentException e) {
                return null;
            }
        }

        /** True when {@code pa} lies in this file's physical window. */
        boolean containsPa(long pa) {
            return file != null && pa >= file.paBase() && pa < file.paLimit();
        }
    }

    /** One guest memory file: its window, or the reason it was refused. */
    record MemFile(Path path, String rel, String name, long paBase, long size, long createdGeneration, Finding problem) {}

    /** Entries of one registry that decoded; entries that did not are findings. */
    record Entries<V>(String rel, Map<Long, V> values) {}

    private static final String[] REGISTRY_NAMES = {"containers", "groups", "domains", "vmids", "pasids", "bindings",
            "guest-stages", "faults", "dma"};

    final Path dir;
    /** Null when the superblock or the intent journal was refused (see {@link #findings}). */
    final PkernfsMount mount;
    final List<Finding> findings = new ArrayList<>();
    final List<TableFile> domainFiles = new ArrayList<>();
    final List<TableFile> unitFiles = new ArrayList<>();
    final List<MemFile> memoryFiles = new ArrayList<>();
    /** What a boot would do with this mount (the boot's own check); null when it could not be run. */
    MountAcceptance acceptance;
    /** What the recovery of each registry's private copy met, by registry name. */
    final Map<String, List<String>> recoveryEvents = new TreeMap<>();
    private Registries registries;
    private boolean registriesOwned;
    private boolean registriesTried;

    private MountView(Path dir, PkernfsMount mount) {
        this.dir = dir;
        this.mount = mount;
    }

    /**
     * Opens {@code dir}. Throws {@link CliException} (exit 2) only when it is not a pkernfs mount at
     * all (no directory, no superblock file); any damage inside is recorded in {@link #findings}.
     */
    static MountView open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw CliException.unusable(dir + ": no such directory");
        }
        if (!Files.isRegularFile(dir.resolve(Superblock.FILE_NAME))) {
            throw CliException.unusable(dir + " is not a pkernfs mount (no " + Superblock.FILE_NAME + ")");
        }
        PkernfsMount m = null;
        Finding sbProblem = null;
        try {
            m = PkernfsMount.mountReadOnly(dir);
        } catch (PersistException e) {
            sbProblem = finding(dir, "header", e, Superblock.FILE_NAME);
        }
        MountView v = new MountView(dir, m);
        if (sbProblem != null) {
            v.findings.add(sbProblem);
        }
        try {
            v.acceptance = MountAcceptance.assess(dir);
        } catch (RuntimeException e) {
            v.findings.add(Finding.error("boot", Superblock.FILE_NAME, -1, "cannot tell whether a boot would accept "
                    + "the mount: " + rootMessage(e)));
        }
        try {
            v.load();
        } catch (RuntimeException e) {
            v.close();
            throw e;
        }
        return v;
    }

    /** A refusal as a finding: file and offset from a CorruptFileException, else the message. */
    static Finding finding(Path mountDir, String kind, PersistException e, String fallbackRel) {
        if (e instanceof CorruptFileException) {
            CorruptFileException c = (CorruptFileException) e;
            String rel = c.file() == null ? fallbackRel : relativize(mountDir, c.file());
            return Finding.error(kind, rel, c.offset(), c.reason());
        }
        return Finding.error(kind, fallbackRel, -1, e.getMessage());
    }

    private void load() {
        for (Path p : list(dir.resolve(PkernfsMount.PGTABLES_DIR), PkernfsMount.PGTABLE_SUFFIX)) {
            domainFiles.add(openTable(p, true));
        }
        for (Path p : list(dir.resolve(PkernfsMount.IOMMU_DIR), PkernfsMount.IOMMU_SUFFIX)) {
            unitFiles.add(openTable(p, false));
        }
        for (Path p : list(dir.resolve(PkernfsMount.MEM_DIR), PkernfsMount.MEM_SUFFIX)) {
            memoryFiles.add(openMemory(p));
        }
        for (String d : new String[] {"", PkernfsMount.IOMMU_DIR, PkernfsMount.PGTABLES_DIR, PkernfsMount.MEM_DIR}) {
            for (Path p : list(d.isEmpty() ? dir : dir.resolve(d), MappedRegion.CREATING_SUFFIX)) {
                findings.add(Finding.note("incomplete-creation", rel(p), -1,
                        "left by a creation that did not finish; never visible under its real name, the next read-write mount removes it"));
            }
        }
    }

    private TableFile openTable(Path p, boolean domain) {
        String suffix = domain ? PkernfsMount.PGTABLE_SUFFIX : PkernfsMount.IOMMU_SUFFIX;
        String name = PkernfsMount.baseName(p, suffix);
        try {
            PageTableFile f = PageTableFile.openReadOnly(p);
            int want = domain ? PageTableFileDescriptor.KIND_DOMAIN_TABLES : PageTableFileDescriptor.KIND_IOMMU_TABLES;
            if (f.kind() != want) {
                Finding bad = Finding.error("header", rel(p), PageTableFileDescriptor.KIND_OFFSET, "file kind " + f.kind()
                        + " (" + kindName(f.kind()) + ") in " + (domain ? "pgtables/" : "iommu/")
                        + ", expected " + want + " (" + kindName(want) + ")");
                f.close();
                return new TableFile(p, rel(p), name, domain, null, bad);
            }
            return new TableFile(p, rel(p), name, domain, f, null);
        } catch (PersistException e) {
            return new TableFile(p, rel(p), name, domain, null, finding(dir, "header", e, rel(p)));
        }
    }

    static String kindName(int kind) {
        return kind == PageTableFileDescriptor.KIND_DOMAIN_TABLES ? "domain tables"
                : kind == PageTableFileDescriptor.KIND_IOMMU_TABLES ? "IOMMU device tables" : "unknown";
    }

    private MemFile openMemory(Path p) {
        String name = PkernfsMount.baseName(p, PkernfsMount.MEM_SUFFIX);
        try {
            GuestMemoryFile.validate(p);
            ByteBuffer b = readHeader(p, 128);
            return new MemFile(p, rel(p), name, b.getLong(GuestMemoryFile.PA_BASE_OFFSET),
                    b.getLong(GuestMemoryFile.SIZE_OFFSET), b.getLong(GuestMemoryFile.CREATED_GENERATION_OFFSET), null);
        } catch (PersistException e) {
            return new MemFile(p, rel(p), name, 0, 0, 0, finding(dir, "header", e, rel(p)));
        }
    }

    String rel(Path p) {
        return relativize(dir, p);
    }

    static String relativize(Path dir, Path p) {
        try {
            return dir.toAbsolutePath().normalize().relativize(p.toAbsolutePath().normalize()).toString();
        } catch (IllegalArgumentException e) {
            return p.toString();
        }
    }

    /** The domain table file named {@code name} (with or without ".pt"), or null. */
    TableFile domainFile(String name) {
        String n = name.endsWith(PkernfsMount.PGTABLE_SUFFIX)
                ? name.substring(0, name.length() - PkernfsMount.PGTABLE_SUFFIX.length()) : name;
        for (TableFile t : domainFiles) {
            if (t.name().equals(n)) {
                return t;
            }
        }
        return null;
    }

    /** The opened table file (domain or unit) whose physical window holds {@code pa}, or null. */
    TableFile tableFileAt(long pa) {
        for (TableFile t : domainFiles) {
            if (t.containsPa(pa)) {
                return t;
            }
        }
        for (TableFile t : unitFiles) {
            if (t.containsPa(pa)) {
                return t;
            }
        }
        return null;
    }

    /** Unit id of an IOMMU table file: the header's owner id. */
    static int unitId(TableFile t) {
        return t.file() == null ? -1 : (int) t.file().ownerId();
    }

    // ---- registries ---------------------------------------------------------------------------------

    /**
     * The registries as private recovered copies, or null when they cannot be read (the reasons, one
     * per unreadable registry file, are added to {@link #findings} once).
     */
    Registries registries() {
        if (registriesTried) {
            return registries;
        }
        registriesTried = true;
        if (acceptance != null) {
            for (MountAcceptance.Problem p : acceptance.refusals()) {
                if (p.file().getParent() != null && p.file().getParent().getFileName().toString().equals(Registries.DIR)) {
                    // a recovered copy would hide what the boot refuses: the registries are not read
                    return null;
                }
            }
        }
        try {
            registries = Registries.openSnapshot(dir, (name, c) -> recoveryEvents
                    .computeIfAbsent(name, k -> new ArrayList<>()).add(c.message()));
            registriesOwned = true;
        } catch (RuntimeException e) {
            diagnoseRegistries(e);
        }
        return registries;
    }

    /** Opens each registry alone to say which ones are unreadable. */
    private void diagnoseRegistries(RuntimeException whole) {
        int before = findings.size();
        Map<String, RecordCodec<?>> codecs = codecs();
        for (String name : REGISTRY_NAMES) {
            Path f = Registries.fileOf(dir, name);
            if (!Files.isRegularFile(f)) {
                findings.add(Finding.error("registry", rel(f), -1, "registry file missing"));
                continue;
            }
            try (Registry<?> r = Registry.openSnapshot(f, name, codecs.get(name), 1 << 12, 64)) {
                r.size();
            } catch (RuntimeException e) {
                findings.add(Finding.error("registry", rel(f), -1, "unreadable Chronicle Map: " + rootMessage(e)));
            }
        }
        if (findings.size() == before) {
            findings.add(Finding.error("registry", Registries.DIR, -1, "registries unreadable: " + rootMessage(whole)));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        String msg = e.getMessage();
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null) {
                msg = t.getMessage();
            }
        }
        return msg == null ? e.getClass().getSimpleName() : msg;
    }

    private static Map<String, RecordCodec<?>> codecs() {
        Map<String, RecordCodec<?>> m = new LinkedHashMap<>();
        m.put("containers", ContainerRecord.CODEC);
        m.put("groups", GroupRecord.CODEC);
        m.put("domains", DomainRecord.CODEC);
        m.put("vmids", VmidRecord.CODEC);
        m.put("pasids", PasidRecord.CODEC);
        m.put("bindings", BindingRecord.CODEC);
        m.put("guest-stages", GuestStageRecord.CODEC);
        m.put("faults", FaultRecord.CODEC);
        m.put("dma", DmaMappingRecord.CODEC);
        return m;
    }

    /**
     * Every entry of {@code r} that decodes, by key; an entry that does not is a finding (once per
     * call) naming the registry file and the key.
     */
    <V> Map<Long, V> entries(Registry<V> r, List<Finding> out) {
        Map<Long, V> m = new TreeMap<>();
        List<Long> keys;
        try {
            keys = r.keys();
        } catch (RuntimeException e) {
            out.add(Finding.error("registry", rel(r.file()), -1, "cannot list entries: " + rootMessage(e)));
            return m;
        }
        for (long k : keys) {
            try {
                V v = r.get(k);
                if (v != null) {
                    m.put(k, v);
                }
            } catch (RuntimeException e) {
                String msg = rootMessage(e);
                int at = msg.indexOf(": entry " + k + ": ");
                if (at >= 0) {
                    msg = msg.substring(at + (": entry " + k + ": ").length());
                }
                out.add(Finding.registryError("registry-entry", rel(r.file()), k, "entry does not decode: " + msg));
            }
        }
        return m;
    }

    // ---- raw headers -------------------------------------------------------------------------------

    /** The first {@code n} bytes of a file (fewer if it is shorter), native byte order as the files are written. */
    static ByteBuffer readHeader(Path p, int n) {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            while (b.hasRemaining() && ch.read(b) > 0) {
                // keep reading
            }
        } catch (IOException e) {
            throw new PersistException(p + ": " + e.getMessage(), e);
        }
        b.clear();
        return b;
    }

    static List<Path> list(Path d, String suffix) {
        return PkernfsMount.list(d, suffix);
    }

    @Override
    public void close() {
        for (TableFile t : domainFiles) {
            if (t.file() != null) {
                t.file().close();
            }
        }
        for (TableFile t : unitFiles) {
            if (t.file() != null) {
                t.file().close();
            }
        }
        if (registriesOwned && registries != null) {
            registries.close();
        }
        if (mount != null) {
            mount.close();
        }
    }
}
