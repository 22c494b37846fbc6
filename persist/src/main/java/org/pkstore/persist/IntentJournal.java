package org.pkstore.persist;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A one-slot intent journal that makes a multi-file operation (page tables plus registries)
 * all-or-nothing across SIGKILL. The writer records what it is about to do, does it, and clears the
 * slot; after an unclean end the recovering writer finds the slot active and undoes or finishes the
 * operation. Operations are serialised by the mount's single writer, so one slot is enough.
 *
 * <pre>
 *  offset  size  field
 *  0       8     magic "PKSTINTN"
 *  8       4     layout version (u32, published last)
 *  12      4     reserved
 *  16      32    compatibility string "pkstore-intent-v1"
 *  48      8     CRC-32C of bytes [0, 48)
 *  --- slot
 *  64      8     sequence number of the last intent
 *  72      4     state: 0 idle, 1 active (stored last on begin, first on end)
 *  76      4     operation code (defined by the user of the journal)
 *  80      4     payload length (at most 256)
 *  84      4     CRC-32C of the payload
 *  88      256   payload
 * </pre>
 */
public final class IntentJournal implements AutoCloseable {
    public static final String FILE_NAME = "intent.log";
    public static final long MAGIC = 0x4E54_4E49_5453_4B50L; // "PKSTINTN"
    public static final int LAYOUT_VERSION = 1;
    public static final String COMPAT = "pkstore-intent-v1";
    public static final int SIZE = 4096;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int COMPAT_OFFSET = 16;
    public static final int COMPAT_LENGTH = 32;
    public static final int CHECKSUM_OFFSET = COMPAT_OFFSET + COMPAT_LENGTH;
    public static final int SEQ_OFFSET = 64;
    public static final int STATE_OFFSET = SEQ_OFFSET + Long.BYTES;
    public static final int OP_OFFSET = STATE_OFFSET + Integer.BYTES;
    public static final int LENGTH_OFFSET = OP_OFFSET + Integer.BYTES;
    public static final int PAYLOAD_CRC_OFFSET = LENGTH_OFFSET + Integer.BYTES;
    public static final int PAYLOAD_OFFSET = PAYLOAD_CRC_OFFSET + Integer.BYTES;
    public static final int MAX_PAYLOAD = 256;
    private static final HeaderCheck.Layout LAYOUT = new HeaderCheck.Layout("intent journal", MAGIC, VERSION_OFFSET,
            LAYOUT_VERSION, COMPAT_OFFSET, COMPAT_LENGTH, COMPAT, CHECKSUM_OFFSET);

    private static final int IDLE = 0;
    private static final int ACTIVE = 1;

    /** An operation found active at recovery. */
    public record Intent(long seq, int op, byte[] payload) {}

    private final MappedRegion region;

    private IntentJournal(MappedRegion region) {
        this.region = region;
    }

    public static IntentJournal openOrCreate(Path file) {
        if (Files.exists(file)) {
            validate(file);
            return new IntentJournal(MappedRegion.mapReadWrite(file, SIZE));
        }
        // built under a temporary name and renamed when complete, version word last (docs/FORMAT.md)
        MappedRegion r = MappedRegion.create(file, SIZE);
        try {
            r.writeInt(VERSION_OFFSET, 0);
            r.writeLong(MAGIC_OFFSET, MAGIC);
            FixedString.write(r, COMPAT_OFFSET, COMPAT, COMPAT_LENGTH);
            r.writeLong(CHECKSUM_OFFSET, Checksums.headerCrc32c(r, CHECKSUM_OFFSET, VERSION_OFFSET, LAYOUT_VERSION));
            r.writeOrderedInt(VERSION_OFFSET, LAYOUT_VERSION);
            r.publish();
        } catch (RuntimeException e) {
            r.abandon();
            throw e;
        }
        return new IntentJournal(r);
    }

    /**
     * Maps for the writer a journal that {@link MountAcceptance} has just validated while this
     * process held the writer lock (nobody else writes it): the mount does not read it twice.
     */
    static IntentJournal openAccepted(Path file) {
        return new IntentJournal(MappedRegion.mapReadWrite(file, SIZE));
    }

    public static IntentJournal openReadOnly(Path file) {
        validate(file);
        return new IntentJournal(MappedRegion.mapReadOnly(file));
    }

    static void validate(Path file) {
        try {
            long size = Files.size(file);
            if (size != SIZE) {
                throw new CorruptFileException(file, Math.min(size, SIZE), (size < SIZE ? "truncated: " : "size mismatch: ")
                        + size + " bytes, an intent journal is " + SIZE);
            }
        } catch (java.io.IOException e) {
            throw new PersistException(file + ": " + e.getMessage(), e);
        }
        FileHead r = FileHead.read(file, SIZE);
        HeaderCheck.check(file, r, LAYOUT);
        int state = r.readVolatileInt(STATE_OFFSET);
        if (state != IDLE && state != ACTIVE) {
            throw new CorruptFileException(file, STATE_OFFSET, "state " + state + " is neither 0 (idle) nor 1 (active)");
        }
        int len = r.readInt(LENGTH_OFFSET);
        if (len < 0 || len > MAX_PAYLOAD) {
            throw new CorruptFileException(file, LENGTH_OFFSET, "payload length " + len + " out of range");
        }
    }

    /** Records an intent durably (payload first, the active state last) before the operation starts. */
    public void begin(int op, byte[] payload) {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("intent payload " + payload.length + " > " + MAX_PAYLOAD);
        }
        if (region.readVolatileInt(STATE_OFFSET) != IDLE) {
            throw new IllegalStateException("an intent is already active");
        }
        PersistentStores.store(PersistentStores.Kind.JOURNAL_PAYLOAD);
        region.write(PAYLOAD_OFFSET, payload, 0, payload.length);
        region.writeInt(LENGTH_OFFSET, payload.length);
        region.writeInt(PAYLOAD_CRC_OFFSET, (int) Checksums.crc32c(payload, 0, payload.length));
        region.writeInt(OP_OFFSET, op);
        region.writeLong(SEQ_OFFSET, region.readLong(SEQ_OFFSET) + 1);
        PersistentStores.store(PersistentStores.Kind.JOURNAL_STATE);
        region.writeOrderedInt(STATE_OFFSET, ACTIVE);
    }

    /** The operation finished (or was undone): the slot is idle again. */
    public void end() {
        PersistentStores.store(PersistentStores.Kind.JOURNAL_STATE);
        region.writeOrderedInt(STATE_OFFSET, IDLE);
    }

    /** The intent left active by a process that died, or null. */
    public Intent pending() {
        if (region.readVolatileInt(STATE_OFFSET) != ACTIVE) {
            return null;
        }
        int len = region.readInt(LENGTH_OFFSET);
        if (len < 0 || len > MAX_PAYLOAD) {
            throw new CorruptFileException(region.path(), LENGTH_OFFSET, "payload length " + len + " out of range");
        }
        byte[] payload = new byte[len];
        region.read(PAYLOAD_OFFSET, payload, 0, len);
        if ((int) Checksums.crc32c(payload, 0, len) != region.readInt(PAYLOAD_CRC_OFFSET)) {
            throw new CorruptFileException(region.path(), PAYLOAD_CRC_OFFSET, "active intent with a bad payload checksum");
        }
        return new Intent(region.readLong(SEQ_OFFSET), region.readInt(OP_OFFSET), payload);
    }

    public long sequence() { return region.readVolatileLong(SEQ_OFFSET); }

    /** True while an intent is recorded and not yet ended (does not read or check the payload). */
    public boolean active() { return region.readVolatileInt(STATE_OFFSET) == ACTIVE; }

    @Override
    public void close() { region.close(); }
}
