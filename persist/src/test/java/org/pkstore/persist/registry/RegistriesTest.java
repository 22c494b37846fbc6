package org.pkstore.persist.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.persist.PersistException;
import org.pkstore.persist.TestFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegistriesTest {
    @TempDir
    Path tmp;

    static byte[] fault(int seed) {
        byte[] b = new byte[FaultRecord.FAULT_SIZE];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }

    /** Sample records, with extreme values and non-ASCII strings. */
    static Map<Long, ContainerRecord> containers() {
        Map<Long, ContainerRecord> m = new LinkedHashMap<>();
        m.put(1L, new ContainerRecord(1, 0, -1, "", 0, 0, 0));
        m.put(2L, new ContainerRecord(2, 8, 17, "pgtables/vm-\u00e9\u4e2d.pt", Long.MAX_VALUE, 1 << 20, Integer.MIN_VALUE));
        m.put(Long.MAX_VALUE, new ContainerRecord(Integer.MAX_VALUE, 1, 2, "x".repeat(1000), Long.MIN_VALUE, 3, 4));
        return m;
    }

    /** put/get/containsKey/keys/forEach/values/remove/putIfAbsent/size/clear on one registry. */
    static <V> void roundTrip(Registry<V> r, Map<Long, V> samples, Function<V, Object> view) {
        assertEquals(0, r.size());
        for (var e : samples.entrySet()) {
            r.put(e.getKey(), e.getValue());
        }
        assertEquals(samples.size(), r.size());
        for (var e : samples.entrySet()) {
            assertEquals(view.apply(e.getValue()), view.apply(r.get(e.getKey())), r.name() + " key " + e.getKey());
            assertTrue(r.containsKey(e.getKey()));
        }
        assertNull(r.get(-12345));
        assertFalse(r.containsKey(-12345));
        List<Long> sorted = new ArrayList<>(new TreeMap<>(samples).keySet());
        assertEquals(sorted, r.keys());
        List<Long> visited = new ArrayList<>();
        r.forEach((k, v) -> {
            visited.add(k);
            assertEquals(view.apply(samples.get(k)), view.apply(v));
        });
        assertEquals(sorted, visited, "forEach in key order");
        assertEquals(samples.size(), r.values().size());

        Long first = sorted.get(0);
        V firstValue = samples.get(first);
        assertFalse(r.putIfAbsent(first, firstValue), "taken");
        assertTrue(r.remove(first));
        assertFalse(r.remove(first));
        assertNull(r.get(first));
        assertTrue(r.putIfAbsent(first, firstValue));
        assertEquals(view.apply(firstValue), view.apply(r.get(first)));
    }

    @Test
    void everyRecordTypeRoundTripsAndPersists() {
        Path dir = tmp.resolve("mnt");
        Function<Object, Object> same = v -> v;
        Function<FaultRecord, Object> faultView = f -> f == null ? null
                : List.of(f.seq(), f.containerId(), Arrays.toString(f.fault()));
        try (Registries r = Registries.openLive(dir, false)) {
            roundTrip(r.containers, containers(), same::apply);
            roundTrip(r.groups, Map.of(10L, new GroupRecord(10, 1), 11L, new GroupRecord(11, -1)), same::apply);
            roundTrip(r.domains, Map.of(5L, new DomainRecord(5, 0, 2, 9, "pgtables/d5.pt", 2, 1, 0x40201000L, 1),
                    6L, new DomainRecord(6, 1, 1, -1, "", 1, 0, 0, 0)), same::apply);
            roundTrip(r.vmids, Map.of(3L, new VmidRecord(3, 2, 0xABCDEFL), 0xFFFFL, new VmidRecord(0xFFFF, 1, -1)),
                    same::apply);
            roundTrip(r.pasids, Map.of(1L, new PasidRecord(1, 4), (1L << 20) - 1, new PasidRecord((1 << 20) - 1, 5)),
                    same::apply);
            roundTrip(r.bindings, Map.of(7L, new BindingRecord(7, 1, 1, 3, 0x1000, 5, 48, 0x80, 6, 2)), same::apply);
            roundTrip(r.guestStages, Map.of(1L, new GuestStageRecord(1, 2, 0xFEED000L, 20, 4)), same::apply);
            roundTrip(r.faults, Map.of(1L, new FaultRecord(1, 2, fault(1)), 2L, new FaultRecord(2, 2, fault(2))),
                    faultView);
            DmaMappingRecord d1 = new DmaMappingRecord(3, 0x10_0000, 0x20_0000, 0x7f00_0000_0000L, 0x1_0000_0000L, 3);
            DmaMappingRecord d2 = new DmaMappingRecord(4, 0xFFFF_FFFF_F000L, 4096, 0, 0x2_0000_0000L, 1);
            roundTrip(r.dmaMappings, Map.of(d1.key(), d1, d2.key(), d2), same::apply);
            assertEquals(3, DmaMappingRecord.containerOf(d1.key()));
            assertEquals(4, DmaMappingRecord.containerOf(d2.key()));
        }
        // persisted: reopened plainly and through recovery
        for (boolean recover : new boolean[] {false, true}) {
            try (Registries r = Registries.openLive(dir, recover)) {
                assertEquals(containers().get(2L), r.containers.get(2));
                assertArrayEquals(fault(2), r.faults.get(2).fault());
                assertEquals(2, r.dmaMappings.size());
                assertEquals(new BindingRecord(7, 1, 1, 3, 0x1000, 5, 48, 0x80, 6, 2), r.bindings.get(7));
            }
        }
        for (String name : new String[] {"containers", "groups", "domains", "vmids", "pasids", "bindings",
                "guest-stages", "faults", "dma"}) {
            assertTrue(Files.isRegularFile(Registries.fileOf(dir, name)), name);
        }
        try (Registries r = Registries.openLive(dir, false)) {
            r.containers.clear();
            assertEquals(0, r.containers.size());
        }
    }

    @Test
    void snapshotIsAPointInTimeCopyAndNeverChangesTheLiveFile() {
        Path dir = tmp.resolve("mnt");
        try (Registries live = Registries.openLive(dir, false)) {
            containers().forEach(live.containers::put);
            Path liveFile = live.containers.file();
            String liveHash = TestFiles.sha256(liveFile);
            Registries snap = Registries.openSnapshot(dir);
            // this snapshot's own private copies (other processes' copies share java.io.tmpdir)
            List<Path> privateCopies = new ArrayList<>();
            for (Registry<?> r : List.of(snap.containers, snap.groups, snap.domains, snap.vmids, snap.pasids, snap.bindings,
                    snap.guestStages, snap.faults, snap.dmaMappings)) {
                Path copy = r.chronicleMap().file().toPath();
                assertNotEquals(r.file(), copy, "a snapshot reads a copy, never the live file");
                assertTrue(Files.isRegularFile(copy), copy::toString);
                privateCopies.add(copy);
            }
            try {
                assertEquals(containers().get(2L), snap.containers.get(2));
                // the live map moves on; the snapshot does not
                live.containers.remove(1);
                live.containers.put(99, new ContainerRecord(99, 0, 0, "later", 0, 0, 0));
                liveHash = TestFiles.sha256(liveFile);
                assertEquals(new ArrayList<>(new TreeMap<>(containers()).keySet()), snap.containers.keys());
                assertNull(snap.containers.get(99));
                // writing the snapshot changes only the private copy
                snap.containers.put(1000, new ContainerRecord(1000, 0, 0, "private", 0, 0, 0));
                snap.containers.remove(2);
                assertEquals(liveHash, TestFiles.sha256(liveFile), "the snapshot must never change the live file");
                assertNull(live.containers.get(1000));
                assertEquals(containers().get(2L), live.containers.get(2));
            } finally {
                snap.close();
            }
            assertEquals(liveHash, TestFiles.sha256(liveFile));
            assertEquals(List.of(), privateCopies.stream().filter(Files::exists).toList(), "private copies are deleted on close");
        }
    }

    @Test
    void snapshotOfAMissingRegistryIsRefused() {
        PersistException e = assertThrows(PersistException.class, () -> Registries.openSnapshot(tmp.resolve("none")));
        assertTrue(e.getMessage().contains("registry file missing"), e.getMessage());
    }

    @Test
    void damagedValuesAreRefusedNamingFileAndKey() {
        Path dir = tmp.resolve("mnt");
        try (Registries r = Registries.openLive(dir, false)) {
            Map<Long, byte[]> damaged = new LinkedHashMap<>();
            damaged.put(100L, new byte[0]); // empty
            damaged.put(101L, new byte[] {2, 0, 0, 0, 0}); // record version 2
            damaged.put(102L, Arrays.copyOf(ContainerRecord.CODEC.encode(containers().get(2L)), 10)); // truncated
            byte[] longString = ContainerRecord.CODEC.encode(new ContainerRecord(1, 1, 1, "abc", 1, 1, 1));
            longString[13] = (byte) 0xFF; // string length 0xFF03, far beyond the record
            longString[14] = (byte) 0xFF;
            damaged.put(103L, longString);
            damaged.forEach((k, v) -> r.containers.chronicleMap().put(k, v));
            for (long key : damaged.keySet()) {
                PersistException e = assertThrows(PersistException.class, () -> r.containers.get(key));
                assertTrue(e.getMessage().contains(r.containers.file().toString()), e.getMessage());
                assertTrue(e.getMessage().contains("entry " + key), e.getMessage());
                assertTrue(e.getCause() instanceof IllegalArgumentException, "cause " + e.getCause());
            }
            PersistException e = assertThrows(PersistException.class, () -> r.containers.forEach((k, v) -> { }));
            assertTrue(e.getMessage().contains("entry 100"), e.getMessage());

            byte[] shortFault = RecordBuffer.writer(FaultRecord.VERSION).i64(1).i32(1).bytes(new byte[3]).toBytes();
            r.faults.chronicleMap().put(5L, shortFault);
            e = assertThrows(PersistException.class, () -> r.faults.get(5));
            assertTrue(e.getMessage().contains("entry 5") && e.getMessage().contains("3 bytes, expected 64"), e.getMessage());

            byte[] negative = RecordBuffer.writer(FaultRecord.VERSION).i64(1).i32(1).i32(-7).toBytes();
            r.faults.chronicleMap().put(6L, negative);
            e = assertThrows(PersistException.class, () -> r.faults.get(6));
            assertTrue(e.getMessage().contains("negative length -7"), e.getMessage());

            // an undamaged neighbour still reads
            r.containers.put(1, containers().get(1L));
            assertEquals(containers().get(1L), r.containers.get(1));
        }
    }

    @Test
    void encodingIsTheDocumentedOne() {
        // docs/FORMAT.md#registry-files: version byte, little-endian fixed fields, strings u16 length + UTF-8
        byte[] b = GroupRecord.CODEC.encode(new GroupRecord(0x01020304, -2));
        assertArrayEquals(new byte[] {1, 4, 3, 2, 1, (byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF}, b);
        byte[] c = ContainerRecord.CODEC.encode(new ContainerRecord(1, 2, 3, "\u00e9", 4, 5, 6));
        assertEquals(1 + 4 + 4 + 4 + 2 + 2 + 8 + 4 + 4, c.length);
        assertEquals(2, c[13]);
        assertEquals(0, c[14]);
        assertEquals((byte) 0xC3, c[15]);
        assertEquals((byte) 0xA9, c[16]);
        byte[] f = FaultRecord.CODEC.encode(new FaultRecord(1, 2, fault(0)));
        assertEquals(1 + 8 + 4 + 4 + 64, f.length);
        assertEquals(64, f[13]);
        assertEquals(1 + 4 + 8 * 4 + 4, DmaMappingRecord.CODEC.encode(
                new DmaMappingRecord(1, 2, 3, 4, 5, 6)).length);
        assertThrows(IllegalArgumentException.class,
                () -> ContainerRecord.CODEC.encode(new ContainerRecord(1, 1, 1, "y".repeat(0x10000), 1, 1, 1)));
    }
}
