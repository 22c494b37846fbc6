package org.pkstore.persist;

import org.pkstore.persist.registry.ReattachState;
import org.pkstore.persist.registry.Registries;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The preserved record, {@code registry/preserved.rec}: what a reattach after kexec needs
 * ({@link ReattachState}) in a fixed layout a fresh kernel reads in microseconds, without opening
 * a Chronicle Map. docs/FORMAT.md (section "Preserved record") is the normative text; this class
 * owns the layout, for the writer and the reader.
 *
 * <p>Three 4 KiB pages: the header, then slot A and slot B. An update writes the slot that does not
 * hold the newest contents (body, then CRC, then its sequence last), so a kill at any point leaves
 * the previous slot intact and the torn one failing its CRC: the reader takes the valid slot with the
 * higher sequence. The header's {@code operation under way} word is set before an ioctl that changes
 * the state and cleared once the record was rewritten after it: a boot that finds it set knows the
 * record may be behind the registries.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+ header, page 0
 *  |                      Magic "PKSTPRV\0"                        |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |             Layout version (u32, published LAST)              |  8
 *  +---------------------------------------------------------------+
 *  |                    Slot size in bytes (u32)                   | 12
 *  +---------------------------------------------------------------+
 *  |        Compatibility string, 32 bytes, NUL padded             | 16
 *  |               ("pkstore-preserved-record-v1")                 |
 *  +---------------------------------------------------------------+
 *  |     CRC-32C of bytes [0, 48) in the low 32 bits (u64)         | 48
 *  +---------------------------------------------------------------+
 *  |  Operation under way (u64: the ioctl request, 0 = none)       | 56
 *  +---------------------------------------------------------------+ slot A at 4096, slot B at 8192
 *  |                        Sequence (u64)                         | +0
 *  +---------------------------------------------------------------+
 *  |              Generation that wrote the slot (u64)             | +8
 *  +---------------------------------------------------------------+
 *  |                     Container count (u32)                     | +16
 *  +---------------------------------------------------------------+
 *  |               Flags (u32: bit 0 = overflow)                   | +20
 *  +---------------------------------------------------------------+
 *  | CRC-32C of [+0, +24) and the container entries, low 32 (u64)  | +24
 *  +---------------------------------------------------------------+
 *  |         Container entries, 256 bytes each, at most 14         | +32
 *  +---------------------------------------------------------------+
 *
 *  container entry (offsets from its start):
 *   0 container id u32 | 4 iommu type u32 | 8 VMID u32 | 12 PASID quota u32
 *  16 domain id u64 | 24 container flags u32 | 28 domain's VMID u32 (0xFFFFFFFF: no domain)
 *  32 group count u32 | 36 PASID count u32 | 40 binding count u32 | 44 pending faults u32
 *  48 first pending fault seq u64 | 56 last pending fault seq u64
 *  64 page-table file name, 48 bytes ASCII, NUL padded
 * 112 groups u32 x 4 | 128 PASIDs u32 x 16 | 192 bindings x 2, 32 bytes each:
 *     hpasid u32, format u32, flags u64, guest page-table pointer u64, guest PASID u64
 * </pre>
 */
public final class PreservedRecord implements AutoCloseable {
    public static final String FILE_NAME = "preserved.rec";
    public static final long MAGIC = 0x0056_5250_5453_4B50L; // "PKSTPRV\0" little-endian
    public static final int LAYOUT_VERSION = 1;
    public static final String COMPAT = "pkstore-preserved-record-v1";
    public static final int COMPAT_LENGTH = 32;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    public static final int SLOT_SIZE_OFFSET = VERSION_OFFSET + Integer.BYTES;
    public static final int COMPAT_OFFSET = SLOT_SIZE_OFFSET + Integer.BYTES;
    public static final int HEADER_CRC_OFFSET = COMPAT_OFFSET + COMPAT_LENGTH;
    public static final int OPERATION_OFFSET = HEADER_CRC_OFFSET + Long.BYTES;

    public static final int SLOT_SIZE = 4096;
    public static final int SLOT_A = SLOT_SIZE;
    public static final int SLOT_B = 2 * SLOT_SIZE;
    public static final long FILE_SIZE = 3L * SLOT_SIZE;

    public static final int SEQUENCE_OFFSET = 0;
    public static final int GENERATION_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    public static final int COUNT_OFFSET = GENERATION_OFFSET + Long.BYTES;
    public static final int FLAGS_OFFSET = COUNT_OFFSET + Integer.BYTES;
    public static final int SLOT_CRC_OFFSET = FLAGS_OFFSET + Integer.BYTES;
    public static final int ENTRIES_OFFSET = SLOT_CRC_OFFSET + Long.BYTES;
    public static final int FLAG_OVERFLOW = 1;

    public static final int ENTRY_SIZE = 256;
    static final int E_CONTAINER = 0;
    static final int E_IOMMU_TYPE = 4;
    static final int E_VMID = 8;
    static final int E_PASID_QUOTA = 12;
    static final int E_DOMAIN = 16;
    static final int E_FLAGS = 24;
    static final int E_DOMAIN_VMID = 28;
    static final int E_GROUP_COUNT = 32;
    static final int E_PASID_COUNT = 36;
    static final int E_BINDING_COUNT = 40;
    static final int E_PENDING_FAULTS = 44;
    static final int E_FIRST_FAULT = 48;
    static final int E_LAST_FAULT = 56;
    static final int E_FILE = 64;
    static final int FILE_LENGTH = ReattachState.MAX_FILE_NAME + 1;
    static final int E_GROUPS = E_FILE + FILE_LENGTH;
    static final int E_PASIDS = E_GROUPS + ReattachState.MAX_GROUPS * Integer.BYTES;
    static final int E_BINDINGS = E_PASIDS + ReattachState.MAX_PASIDS * Integer.BYTES;
    static final int BINDING_SIZE = 32;

    static {
        if (E_BINDINGS + ReattachState.MAX_BINDINGS * BINDING_SIZE != ENTRY_SIZE
                || ENTRIES_OFFSET + ReattachState.MAX_CONTAINERS * ENTRY_SIZE > SLOT_SIZE) {
            throw new ExceptionInInitializerError("preserved record layout does not add up");
        }
    }

    /** A record as read: the newest valid slot, and whether an operation was under way when it was written. */
    public record Contents(Path file, long sequence, long generation, long operationUnderWay, ReattachState state) {}

    private final MappedRegion region;
    private long sequence;

    private PreservedRecord(MappedRegion region, long sequence) {
        this.region = region;
        this.sequence = sequence;
    }

    public static Path pathIn(Path mountDir) {
        return mountDir.resolve(Registries.DIR).resolve(FILE_NAME);
    }

    /**
     * The writer's record: the existing one (checked as {@link #read} does; a refused file is
     * replaced, its contents being whatever the registries say next) or a new, empty one.
     */
    public static PreservedRecord openOrCreate(Path mountDir, long generation) {
        Path file = pathIn(mountDir);
        if (!Files.exists(file)) {
            return openAsRead(mountDir, null, null);
        }
        try {
            return openAsRead(mountDir, read(file), null);
        } catch (CorruptFileException e) {
            return openAsRead(mountDir, null, e.getMessage());
        }
    }

    /**
     * The writer's record, from what the mount has just read of it under the writer lock (nobody
     * else writes it): {@code found} (its newest slot; the file is mapped, not read again), or,
     * when it was refused ({@code refusal}) or absent (both null), a new, empty one.
     */
    static PreservedRecord openAsRead(Path mountDir, Contents found, String refusal) {
        Path file = pathIn(mountDir);
        long seq = 0;
        if (found != null) {
            return new PreservedRecord(MappedRegion.mapReadWrite(file, FILE_SIZE), found.sequence());
        }
        if (refusal != null) {
            System.getLogger(PreservedRecord.class.getName()).log(System.Logger.Level.WARNING,
                    "preserved record refused, written again from the registries: " + refusal);
        }
        try {
            Files.createDirectories(file.getParent());
        } catch (java.io.IOException e) {
            throw new PersistException("cannot create " + file.getParent() + ": " + e.getMessage(), e);
        }
        MappedRegion r = MappedRegion.create(file, FILE_SIZE);
        try {
            r.writeLong(MAGIC_OFFSET, MAGIC);
            r.writeInt(SLOT_SIZE_OFFSET, SLOT_SIZE);
            FixedString.write(r, COMPAT_OFFSET, COMPAT, COMPAT_LENGTH);
            r.writeLong(HEADER_CRC_OFFSET, Checksums.headerCrc32c(r, HEADER_CRC_OFFSET, VERSION_OFFSET, LAYOUT_VERSION));
            r.writeOrderedInt(VERSION_OFFSET, LAYOUT_VERSION); // last: the header is complete
            r.publish();
        } catch (RuntimeException e) {
            r.abandon();
            throw e;
        }
        return new PreservedRecord(r, seq);
    }

    /** Reads the newest valid slot; refuses (file, offset, reason) a truncated, corrupt or foreign file. */
    public static Contents read(Path file) {
        // one read of the three pages, no mapping: the boot reads the record before anything else
        FileHead r = FileHead.read(file, (int) FILE_SIZE);
        if (r.size() != FILE_SIZE) {
            throw new CorruptFileException(file, Math.min(r.size(), FILE_SIZE), "truncated or foreign: "
                    + r.size() + " bytes, a preserved record has " + FILE_SIZE);
        }
        if (r.readLong(MAGIC_OFFSET) != MAGIC) {
            throw new CorruptFileException(file, MAGIC_OFFSET, "bad magic 0x" + Long.toHexString(r.readLong(MAGIC_OFFSET)));
        }
        int version = r.readInt(VERSION_OFFSET);
        if (version != LAYOUT_VERSION) {
            throw new CorruptFileException(file, VERSION_OFFSET, "layout version " + version + ", expected "
                    + LAYOUT_VERSION + (version == 0 ? " (creation never completed)" : ""));
        }
        String compat = FixedString.read(r, COMPAT_OFFSET, COMPAT_LENGTH);
        if (!COMPAT.equals(compat)) {
            throw new CorruptFileException(file, COMPAT_OFFSET, "compatibility '" + compat + "', expected '" + COMPAT + "'");
        }
        if (r.readInt(SLOT_SIZE_OFFSET) != SLOT_SIZE) {
            throw new CorruptFileException(file, SLOT_SIZE_OFFSET, "slot size " + r.readInt(SLOT_SIZE_OFFSET));
        }
        if ((r.readLong(HEADER_CRC_OFFSET) & 0xFFFF_FFFFL) != Checksums.crc32c(r, 0, HEADER_CRC_OFFSET)) {
            throw new CorruptFileException(file, HEADER_CRC_OFFSET, "header checksum mismatch");
        }
        String whyA = slotProblem(r, SLOT_A);
        String whyB = slotProblem(r, SLOT_B);
        if (whyA != null && whyB != null) {
            throw new CorruptFileException(file, SLOT_A, "no valid slot: A " + whyA + "; B at 0x"
                    + Integer.toHexString(SLOT_B) + " " + whyB);
        }
        int slot = whyA != null ? SLOT_B : whyB != null ? SLOT_A
                : r.readLong(SLOT_A + SEQUENCE_OFFSET) >= r.readLong(SLOT_B + SEQUENCE_OFFSET) ? SLOT_A : SLOT_B;
        return new Contents(file, r.readLong(slot + SEQUENCE_OFFSET), r.readLong(slot + GENERATION_OFFSET),
                r.readLong(OPERATION_OFFSET), decode(r, slot));
    }

    /** Why a slot cannot be used, or null. A never-written slot has sequence 0. */
    private static String slotProblem(FileBytes r, int slot) {
        if (r.readLong(slot + SEQUENCE_OFFSET) == 0) {
            return "never written";
        }
        int count = r.readInt(slot + COUNT_OFFSET);
        if (count < 0 || count > ReattachState.MAX_CONTAINERS) {
            return "container count " + count + " at offset 0x" + Integer.toHexString(slot + COUNT_OFFSET);
        }
        if ((r.readLong(slot + SLOT_CRC_OFFSET) & 0xFFFF_FFFFL) != slotCrc(r, slot, count)) {
            return "checksum mismatch (a torn update) at offset 0x" + Integer.toHexString(slot + SLOT_CRC_OFFSET);
        }
        return null;
    }

    private static long slotCrc(FileBytes r, int slot, int count) {
        byte[] b = new byte[SLOT_CRC_OFFSET + count * ENTRY_SIZE];
        r.read(slot, b, 0, SLOT_CRC_OFFSET);
        r.read(slot + ENTRIES_OFFSET, b, SLOT_CRC_OFFSET, count * ENTRY_SIZE);
        return Checksums.crc32c(b, 0, b.length);
    }

    private static ReattachState decode(FileBytes r, int slot) {
        int count = r.readInt(slot + COUNT_OFFSET);
        List<ReattachState.Container> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long e = slot + ENTRIES_OFFSET + (long) i * ENTRY_SIZE;
            List<Integer> groups = new ArrayList<>();
            for (int g = 0; g < Math.min(r.readInt(e + E_GROUP_COUNT), ReattachState.MAX_GROUPS); g++) {
                groups.add(r.readInt(e + E_GROUPS + g * Integer.BYTES));
            }
            List<Integer> pasids = new ArrayList<>();
            for (int p = 0; p < Math.min(r.readInt(e + E_PASID_COUNT), ReattachState.MAX_PASIDS); p++) {
                pasids.add(r.readInt(e + E_PASIDS + p * Integer.BYTES));
            }
            List<ReattachState.Binding> bindings = new ArrayList<>();
            for (int b = 0; b < Math.min(r.readInt(e + E_BINDING_COUNT), ReattachState.MAX_BINDINGS); b++) {
                long o = e + E_BINDINGS + (long) b * BINDING_SIZE;
                bindings.add(new ReattachState.Binding(r.readInt(o), r.readInt(o + 4), r.readLong(o + 8),
                        r.readLong(o + 16), r.readLong(o + 24)));
            }
            out.add(new ReattachState.Container(r.readInt(e + E_CONTAINER), r.readInt(e + E_IOMMU_TYPE),
                    r.readInt(e + E_VMID), r.readInt(e + E_PASID_QUOTA), r.readInt(e + E_FLAGS), r.readLong(e + E_DOMAIN),
                    r.readInt(e + E_DOMAIN_VMID), FixedString.read(r, e + E_FILE, FILE_LENGTH), List.copyOf(groups),
                    List.copyOf(pasids), List.copyOf(bindings), r.readInt(e + E_PENDING_FAULTS),
                    r.readLong(e + E_FIRST_FAULT), r.readLong(e + E_LAST_FAULT)));
        }
        return new ReattachState(List.copyOf(out), (r.readInt(slot + FLAGS_OFFSET) & FLAG_OVERFLOW) != 0);
    }

    /** Before an ioctl that may change the state: the record may be behind until {@link #write}. */
    public void beginOperation(int request) {
        PersistentStores.store(PersistentStores.Kind.PRESERVED_RECORD);
        region.writeOrderedLong(OPERATION_OFFSET, request == 0 ? -1 : Integer.toUnsignedLong(request));
    }

    /**
     * Writes {@code state} into the older slot (body, CRC, sequence last), then clears the
     * operation word: the record is current again.
     */
    public void write(ReattachState state, long generation) {
        long next = sequence + 1;
        int slot = next % 2 == 1 ? SLOT_A : SLOT_B;
        int count = Math.min(state.containers().size(), ReattachState.MAX_CONTAINERS);
        ByteBuffer b = ByteBuffer.allocate(SLOT_SIZE).order(ByteOrder.nativeOrder());
        b.putLong(SEQUENCE_OFFSET, next).putLong(GENERATION_OFFSET, generation).putInt(COUNT_OFFSET, count)
                .putInt(FLAGS_OFFSET, state.overflow() ? FLAG_OVERFLOW : 0);
        for (int i = 0; i < count; i++) {
            encode(b, ENTRIES_OFFSET + i * ENTRY_SIZE, state.containers().get(i));
        }
        byte[] bytes = b.array();
        byte[] covered = new byte[SLOT_CRC_OFFSET + count * ENTRY_SIZE];
        System.arraycopy(bytes, 0, covered, 0, SLOT_CRC_OFFSET);
        System.arraycopy(bytes, ENTRIES_OFFSET, covered, SLOT_CRC_OFFSET, count * ENTRY_SIZE);
        long crc = Checksums.crc32c(covered, 0, covered.length);
        PersistentStores.store(PersistentStores.Kind.PRESERVED_RECORD);
        region.writeOrderedLong(slot + SEQUENCE_OFFSET, 0); // invalid while written
        region.write(slot + GENERATION_OFFSET, bytes, GENERATION_OFFSET, SLOT_SIZE - GENERATION_OFFSET);
        region.writeLong(slot + SLOT_CRC_OFFSET, crc);
        PersistentStores.store(PersistentStores.Kind.PRESERVED_RECORD);
        region.writeOrderedLong(slot + SEQUENCE_OFFSET, next); // last: the slot is the newest
        sequence = next;
        PersistentStores.store(PersistentStores.Kind.PRESERVED_RECORD);
        region.writeOrderedLong(OPERATION_OFFSET, 0);
    }

    private static void encode(ByteBuffer b, int e, ReattachState.Container c) {
        b.putInt(e + E_CONTAINER, c.containerId()).putInt(e + E_IOMMU_TYPE, c.iommuType()).putInt(e + E_VMID, c.vmid())
                .putInt(e + E_PASID_QUOTA, c.pasidQuota()).putLong(e + E_DOMAIN, c.domainId())
                .putInt(e + E_FLAGS, c.flags()).putInt(e + E_DOMAIN_VMID, c.domainVmid())
                .putInt(e + E_PENDING_FAULTS, c.pendingFaults()).putLong(e + E_FIRST_FAULT, c.firstFaultSeq())
                .putLong(e + E_LAST_FAULT, c.lastFaultSeq());
        byte[] name = c.pgtableFile().getBytes(StandardCharsets.US_ASCII);
        b.put(e + E_FILE, name, 0, Math.min(name.length, FILE_LENGTH - 1));
        int groups = Math.min(c.groups().size(), ReattachState.MAX_GROUPS);
        b.putInt(e + E_GROUP_COUNT, groups);
        for (int i = 0; i < groups; i++) {
            b.putInt(e + E_GROUPS + i * Integer.BYTES, c.groups().get(i));
        }
        int pasids = Math.min(c.pasids().size(), ReattachState.MAX_PASIDS);
        b.putInt(e + E_PASID_COUNT, pasids);
        for (int i = 0; i < pasids; i++) {
            b.putInt(e + E_PASIDS + i * Integer.BYTES, c.pasids().get(i));
        }
        int bindings = Math.min(c.bindings().size(), ReattachState.MAX_BINDINGS);
        b.putInt(e + E_BINDING_COUNT, bindings);
        for (int i = 0; i < bindings; i++) {
            ReattachState.Binding x = c.bindings().get(i);
            int o = e + E_BINDINGS + i * BINDING_SIZE;
            b.putInt(o, x.hpasid()).putInt(o + 4, x.format()).putLong(o + 8, x.flags()).putLong(o + 16, x.gpgd())
                    .putLong(o + 24, x.gpasid());
        }
    }

    @Override
    public void close() {
        region.close();
    }
}
