package org.pkstore.iommu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.DeviceTranslation;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PkernfsMount;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link DeviceTableReader#pasidTranslation} on SMMUv3: the real STE in the unit's .hw file, the
 * guest's CDs in "guest memory" (a word map behind a stage 2 that maps IPA [0, 16 MiB) at host PA
 * 0x8_0000_0000 and faults above), read through stage 2 as the SMMU reads them.
 */
class SmmuPasidLookupTest {
    private static final long HOST_BASE = 0x8_0000_0000L;
    private static final long GUEST_SIZE = 16L << 20;
    private static final long CD_TABLE_IPA = 0x3000;
    private static final Bdf DEV = Bdf.parse("00:01.0");

    @TempDir Path dir;
    private PkernfsMount mount;
    private final Map<Long, Long> guestWords = new HashMap<>();
    private final NestedMemory memory = new NestedMemory() {
        @Override public long stage2(long root, long gpa, int access) {
            return gpa >= 0 && gpa < GUEST_SIZE ? HOST_BASE + gpa : DeviceTranslation.FAULT_NOT_PRESENT;
        }

        @Override public long readWord(long hpa) {
            return guestWords.getOrDefault(hpa, 0L);
        }
    };

    @AfterEach
    void close() {
        if (mount != null) {
            mount.close();
        }
    }

    private void guestWritesCd(int ssid, long[] cd) {
        for (int i = 0; i < cd.length; i++) {
            guestWords.put(HOST_BASE + CD_TABLE_IPA + SmmuContextDescriptor.offset(ssid) + 8L * i, cd[i]);
        }
    }

    private SmmuStreamTable table() {
        mount = PkernfsMount.mountReadWrite(dir);
        HostTopology topo = HostTopology.parse("unit 0 smmuv3\ngroup 1 unit 0 device 00:01.0\n");
        IommuUnit unit = IommuUnit.open(mount, topo.unit(0), List.of(DEV), new PhysicalMemory(), null);
        SmmuStreamTable st = (SmmuStreamTable) unit.deviceTable();
        assertEquals(0, st.attach(DEV, 0x7000, 4));
        return st;
    }

    @Test
    void nestedSteAndGuestCdGiveStage1RootTagAndStage2Root() {
        SmmuStreamTable st = table();
        assertEquals(0, st.setGuestStage(DEV, CD_TABLE_IPA, 2));
        guestWritesCd(1, SmmuContextDescriptor.encode(0x1234_5000L, 7, 16));
        DeviceTableReader r = st.reader();
        PasidTranslation t = r.pasidTranslation(DEV, 1, memory);
        assertNull(t.problem());
        assertEquals(Stage1Format.ARM_LPAE_S1_4K, t.stage1Format());
        assertEquals(0x1234_5000L, t.stage1RootGpa());
        assertEquals(0x7000L, t.stage2RootPa());
        assertEquals(4, t.tag());
        // untagged DMA: S1DSS bypass, stage 2 only
        PasidTranslation u = r.pasidTranslation(DEV, PasidTranslation.UNTAGGED, memory);
        assertNull(u.problem());
        assertEquals(Stage1Format.NONE, u.stage1Format());
        assertEquals(0x7000L, u.stage2RootPa());
    }

    /** The device's DMA path (a reused buffer) answers as the record API does, and allocates nothing. */
    @Test
    void theDevicePathDecodesIntoABufferWithoutAllocating() {
        SmmuStreamTable st = table();
        assertEquals(0, st.setGuestStage(DEV, CD_TABLE_IPA, 2));
        long[] cd = SmmuContextDescriptor.encode(0x1234_5000L, 7, 16);
        guestWritesCd(1, cd);
        // guest memory as plain words: the test's map would box its keys
        long cdPa = HOST_BASE + CD_TABLE_IPA + SmmuContextDescriptor.offset(1);
        NestedMemory words = new NestedMemory() {
            @Override public long stage2(long root, long gpa, int access) { return memory.stage2(root, gpa, access); }

            @Override public long readWord(long hpa) {
                long i = (hpa - cdPa) >> 3;
                return i >= 0 && i < cd.length ? cd[(int) i] : 0;
            }
        };
        DeviceTableReader r = st.reader();
        PasidTranslationBuffer b = new PasidTranslationBuffer();
        for (int pasid : new int[] {1, PasidTranslation.UNTAGGED, 2}) {
            assertEquals(r.pasidTranslation(DEV, pasid, memory).ok(), r.pasidTranslation(DEV, pasid, words, b));
            assertEquals(r.pasidTranslation(DEV, pasid, memory), b.toRecord());
        }
        assertEquals(0x7000L, r.presentStage2Root(DEV, b));
        assertEquals(-1, r.presentStage2Root(Bdf.parse("00:03.0"), b), "no valid STE");
        assertEquals(0, Allocations.of(() -> {
            r.pasidTranslation(DEV, 1, words, b);
            r.presentStage2Root(DEV, b);
        }, 20_000, 2_000), "bytes allocated by 2000 device lookups");
    }

    @Test
    void eachHardwareRefusalIsAFault() {
        SmmuStreamTable st = table();
        DeviceTableReader r = st.reader();
        assertTrue(r.pasidTranslation(DEV, 1, memory).problem().contains("C_BAD_SUBSTREAMID"), "no stage 1 yet");
        assertEquals(0, st.setGuestStage(DEV, CD_TABLE_IPA, 2));
        assertTrue(r.pasidTranslation(DEV, 2, memory).problem().contains("V = 0"), "the guest wrote no CD 2");
        assertTrue(r.pasidTranslation(DEV, 4, memory).problem().contains("S1CDMax"), "SSID 4 beyond 2^2 CDs");
        long[] cd = SmmuContextDescriptor.encode(0x5000, 1, 16);
        cd[1] |= 1L << 56;
        guestWritesCd(3, cd);
        assertTrue(r.pasidTranslation(DEV, 3, memory).problem().contains("reserved"));
        guestWritesCd(3, SmmuContextDescriptor.encode(0x5000, 1, 30));
        assertTrue(r.pasidTranslation(DEV, 3, memory).problem().contains("T0SZ"));
        // a CD table beyond what stage 2 maps: the CD fetch itself faults
        assertEquals(0, st.setGuestStage(DEV, GUEST_SIZE, 2));
        assertTrue(r.pasidTranslation(DEV, 1, memory).problem().contains("stage-2 fault"));
        // S1DSS terminate (the finding): untagged DMA aborts
        long ste = st.stePa(DEV);
        PageTableFile hw = st.file();
        hw.writeDescriptor(ste + 8, SmmuStreamTableEntry.W1_NESTED & ~SmmuStreamTableEntry.W1_S1DSS);
        assertTrue(r.pasidTranslation(DEV, PasidTranslation.UNTAGGED, memory).problem().contains("terminate"));
        // S1DSS substream 0: untagged DMA uses CD 0; tagged SSID 0 is illegal
        assertEquals(0, st.setGuestStage(DEV, CD_TABLE_IPA, 2));
        hw.writeDescriptor(ste + 8, (SmmuStreamTableEntry.W1_NESTED & ~3L) | SmmuStreamTableEntry.S1DSS_SSID0);
        guestWritesCd(0, SmmuContextDescriptor.encode(0x9000, 1, 16));
        assertEquals(0x9000L, r.pasidTranslation(DEV, PasidTranslation.UNTAGGED, memory).stage1RootGpa());
        assertTrue(r.pasidTranslation(DEV, 0, memory).problem().contains("SSID 0"));
    }

    @Test
    void nestingOnAndOffIsHitlessWordOneThenWordZero() {
        SmmuStreamTable st = table();
        long ste = st.stePa(DEV);
        PageTableFile hw = st.file();
        long s2Only = hw.readDescriptor(ste);
        assertEquals(0xDL, s2Only);
        assertEquals(0, st.setGuestStage(DEV, 0, 1));          // a CD table at IPA 0 is legal
        assertTrue(SmmuStreamTableEntry.nested(hw.readDescriptor(ste)));
        assertEquals(0L, SmmuStreamTableEntry.s1ContextPtr(hw.readDescriptor(ste)));
        assertEquals(SmmuStreamTableEntry.W1_NESTED, hw.readDescriptor(ste + 8));
        long words = hw.descriptorWrites();
        assertEquals(0, st.setGuestStage(DEV, 0, 3));          // a wider S1CDMax: one store of word 0
        assertEquals(words + 1, hw.descriptorWrites());
        assertEquals(0, st.attach(DEV, 0x8000, 4));            // a new root keeps the guest stage: one store of word 3
        assertEquals(words + 2, hw.descriptorWrites());
        assertTrue(SmmuStreamTableEntry.nested(hw.readDescriptor(ste)));
        st.clearGuestStage(DEV);
        assertEquals(0xDL, hw.readDescriptor(ste));
        assertEquals(0L, hw.readDescriptor(ste + 8));
    }
}
