package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.pkstore.iommu.HostTopology;
import org.pkstore.persist.HandoverRecord;
import org.pkstore.persist.IntentJournal;
import org.pkstore.persist.PkernfsMount;
import org.pkstore.persist.Superblock;
import org.pkstore.persist.registry.Registries;
import org.pkstore.persist.registry.Registry;
import org.pkstore.persist.registry.RegistrySeal;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every file of a rehearsal-like mount (cleanly handed over by a planned kexec, or the same after a
 * crash), damaged in each of four ways, one copy per case: {@code verify}'s verdict on the copy must
 * be what a boot then does with it (refuse; recover, dropping exactly the registry entries verify
 * named; accept), {@code verify} is never clean when the boot refuses, changes or loses anything, and
 * neither {@code verify} nor {@code inspect} prints a stack trace or hangs.
 */
class BootAgreementTest {
    private static Path work;
    private static Path planned;
    private static Path crashed;
    /** Every registry entry of the undamaged mount, by registry, by key. */
    private static Map<String, Map<Long, Object>> entries;
    private static int copies;
    /** One line per case: what the boot did and what verify said, printed at the end. */
    private static final List<String> table = new ArrayList<>();

    enum Kind {
        /** One byte of the first 64 inverted. */
        HEADER_BYTE,
        /** 64 single bits flipped anywhere in the file. */
        BITS_64,
        /** Cut to a third of its length. */
        TRUNCATE_THIRD,
        /** One 4 KiB page (of those the file has) zeroed. */
        ZERO_PAGE
    }

    @BeforeAll
    static void buildMount() throws IOException {
        work = Files.createTempDirectory("pkstore-boot-agreement-");
        planned = work.resolve("planned");
        try (PkernfsMount m = PkernfsMount.mountReadWrite(planned);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            VfioClient c = new VfioClient(k);
            long va = Fixtures.GUEST_VA;
            assertEquals(0, c.mapGuestMemory(va, 4L << 20, "ram"));
            int a = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(1), a));
            assertEquals(0, c.setPersistentPgtables(a, c.openPageTableFile("vm0", true)));
            assertEquals(0, c.setIommu(a, VfioUapi.VFIO_TYPE1_NESTING_IOMMU));
            assertEquals(0, c.setVmid(a, 7));
            assertEquals(0, c.mapDma(a, va, 0, 2L << 20));
            for (int i = 0; i < 16; i++) {
                assertEquals(0, c.mapDma(a, va + (2L << 20) + i * 0x1000L, 0x4000_0000L + i * 0x2000L, 0x1000));
            }
            VfioClient.Pasid p = c.allocPasid(a, 1, (1 << 20) - 1);
            assertEquals(0, p.ret());
            assertEquals(0, c.bindGuestPgtbl(a, true, p.pasid(), 0x1234_5000L, 9, true, 48, 0, 0, 0));
            int b = c.openContainer();
            assertEquals(0, c.setContainer(c.openGroup(2), b));
            assertEquals(0, c.setIommu(b, VfioUapi.VFIO_TYPE1v2_IOMMU));
            assertEquals(0, c.mapDma(b, va + (3L << 20), 0x100_0000L, 1L << 20));
            // the planned kexec of a rehearsal: handover record, then the clean unmount
            HandoverRecord.describe(m).write(planned);
        }
        crashed = Damage.copy(planned, work.resolve("crashed"));
        writeInt(crashed.resolve(Superblock.FILE_NAME), Superblock.CLEAN_OFFSET, 0); // the writer was killed
        entries = registryEntries(planned);
        assertFalse(entries.get("dma").isEmpty());
    }

    @AfterAll
    static void removeCopies() throws IOException {
        System.out.println("file / damage / boot: outcome | verify: decision, lost, clean | ms copy+verify+inspect+boot");
        table.forEach(System.out::println);
        try (Stream<Path> s = Files.walk(work)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Every file of the mount (as PkernfsMount lists them), each damage kind, planned and after a crash. */
    static Stream<Arguments> cases() {
        List<Path> files = new ArrayList<>();
        for (String f : new String[] {Superblock.FILE_NAME, IntentJournal.FILE_NAME, HandoverRecord.FILE_NAME}) {
            files.add(planned.resolve(f));
        }
        files.addAll(PkernfsMount.list(planned.resolve(PkernfsMount.IOMMU_DIR), PkernfsMount.IOMMU_SUFFIX));
        files.addAll(PkernfsMount.list(planned.resolve(PkernfsMount.PGTABLES_DIR), PkernfsMount.PGTABLE_SUFFIX));
        files.addAll(PkernfsMount.list(planned.resolve(PkernfsMount.MEM_DIR), PkernfsMount.MEM_SUFFIX));
        files.addAll(PkernfsMount.list(planned.resolve(Registries.DIR), ".cmap"));
        // the seals are one kind of file, nine times: one stands for them all
        files.add(RegistrySeal.fileOf(Registries.fileOf(planned, "dma")));
        List<Arguments> out = new ArrayList<>();
        String only = System.getProperty("pkstore.agreement.files", "");
        for (Path f : files) {
            if (!only.isEmpty() && !planned.relativize(f).toString().matches(only)) {
                continue;
            }
            for (Kind k : Kind.values()) {
                out.add(Arguments.of(planned.relativize(f).toString(), k, true));
                out.add(Arguments.of(planned.relativize(f).toString(), k, false));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} planned={2}")
    @MethodSource("cases")
    void verifyPredictsTheBoot(String rel, Kind kind, boolean plannedBoot) {
        Path source = plannedBoot ? planned : crashed;
        {
            long t0 = System.nanoTime();
            Path copy = Damage.copy(source, work.resolve("case" + (copies++)));
            damage(copy.resolve(rel), kind, (rel + kind).hashCode());
            long t1 = System.nanoTime();
            Cli.Result v = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("verify", copy, "--json"));
            long t2 = System.nanoTime();
            Cli.Result i = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("inspect", copy, "--json"));
            long t3 = System.nanoTime();
            JsonNode vj = v.json();
            JsonNode verdict = vj.path("boot");
            assertEquals(verdict.toString(), i.json().path("boot").toString(), "inspect and verify disagree");
            Outcome boot = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> boot(copy));
            long t4 = System.nanoTime();
            table.add(String.format("%-28s %-14s %-8s boot: %-60.60s | verify: %s lost %d %s | %d+%d+%d+%d", rel, kind,
                    plannedBoot ? "planned" : "crash", boot.refused != null ? "refused " + boot.refused
                            : "up, lost " + boot.lost + " changed " + boot.changed + " reclaimed " + boot.reclaimed,
                    verdict.path("decision").asText(), verdict.path("lostEntries").asInt(),
                    vj.path("clean").asBoolean() ? "clean" : "NOT clean", (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                    (t3 - t2) / 1_000_000, (t4 - t3) / 1_000_000));
            deleteTree(copy);

            String ctx = rel + " " + kind + (plannedBoot ? " (planned boot)" : " (boot after a crash)") + "\nboot: " + boot
                    + "\nverify: " + v;
            assertEquals(boot.refused != null, "refuse".equals(verdict.path("decision").asText()), ctx);
            if (boot.refused == null) {
                assertEquals(plannedBoot ? "accept" : "recover", verdict.path("decision").asText(), ctx);
            }
            if (boot.refused == null && (boot.lost > 0 || boot.changed > 0)) {
                // recover with a named loss: verify names the registry whose recovery loses entries
                assertTrue(verdict.path("damagedRegistries").toString().contains(rel), "the loss is not named\n" + ctx);
            }
            if (boot.refused != null || boot.lost > 0 || boot.changed > 0 || boot.reclaimed > 0) {
                assertFalse(vj.path("clean").asBoolean(), "verify is clean but the boot refuses, loses or changes\n" + ctx);
                assertEquals(1, v.exit(), ctx);
            }
        }
    }

    // ---- the boot --------------------------------------------------------------------------------

    /** What a boot did: refused (why), or came up having lost, changed entries or reclaimed pages. */
    record Outcome(String refused, int lost, int changed, long reclaimed) {}

    /** A boot as rehearse does it: mount read-write (the check, recovery), the kernel on it, a clean unmount. */
    private static Outcome boot(Path copy) {
        Map<String, Map<Long, Object>> after;
        long reclaimed;
        try (PkernfsMount m = PkernfsMount.mountReadWrite(copy);
             VfioKernel k = VfioKernel.boot(m, HostTopology.defaultTopology())) {
            reclaimed = k.recoveryReport().totalReclaimedPages();
            after = entries(m.registries());
        } catch (RuntimeException e) {
            return new Outcome(e.getClass().getSimpleName() + ": " + e.getMessage(), 0, 0, 0);
        }
        int lost = 0;
        int changed = 0;
        for (Map.Entry<String, Map<Long, Object>> e : entries.entrySet()) {
            Map<Long, Object> now = after.get(e.getKey());
            for (Map.Entry<Long, Object> x : e.getValue().entrySet()) {
                Object v = now.get(x.getKey());
                if (v == null) {
                    lost++;
                } else if (!v.equals(x.getValue())) {
                    changed++;
                }
            }
            for (Long key : now.keySet()) {
                if (!e.getValue().containsKey(key)) {
                    changed++;
                }
            }
        }
        return new Outcome(null, lost, changed, reclaimed);
    }

    private static Map<String, Map<Long, Object>> registryEntries(Path dir) {
        try (Registries r = Registries.openSnapshot(dir)) {
            return entries(r);
        }
    }

    private static Map<String, Map<Long, Object>> entries(Registries r) {
        Map<String, Map<Long, Object>> all = new TreeMap<>();
        Registry<?>[] regs = {r.containers, r.groups, r.domains, r.vmids, r.pasids, r.bindings, r.guestStages, r.faults,
                r.dmaMappings};
        for (Registry<?> g : regs) {
            Map<Long, Object> m = new TreeMap<>();
            for (long key : g.keys()) {
                try {
                    m.put(key, g.get(key));
                } catch (RuntimeException e) {
                    m.put(key, "undecodable: " + e.getMessage());
                }
            }
            all.put(g.name(), m);
        }
        return all;
    }

    // ---- damage --------------------------------------------------------------------------------------

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void damage(Path f, Kind kind, long seed) {
        Random rnd = new Random(seed);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long len = ch.size();
            switch (kind) {
                case HEADER_BYTE: {
                    long at = rnd.nextInt((int) Math.min(64, len));
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, at);
                    b.put(0, (byte) ~b.get(0)).rewind();
                    ch.write(b, at);
                    break;
                }
                case BITS_64:
                    for (int n = 0; n < 64; n++) {
                        long at = (long) (rnd.nextDouble() * len);
                        ByteBuffer b = ByteBuffer.allocate(1);
                        ch.read(b, at);
                        b.put(0, (byte) (b.get(0) ^ (1 << rnd.nextInt(8)))).rewind();
                        ch.write(b, at);
                    }
                    break;
                case TRUNCATE_THIRD:
                    ch.truncate(len / 3);
                    break;
                default: {
                    // a page that holds something: zeroing a hole of a sparse file would change nothing
                    List<Long> used = new ArrayList<>();
                    ByteBuffer page = ByteBuffer.allocate(4096);
                    for (long at = 0; at < len; at += 4096) {
                        page.clear();
                        ch.read(page, at);
                        for (int b = 0; b < page.position(); b += 8) {
                            if (page.position() - b >= 8 ? page.getLong(b) != 0 : page.get(b) != 0) {
                                used.add(at);
                                break;
                            }
                        }
                    }
                    long at = used.isEmpty() ? 0 : used.get(rnd.nextInt(used.size()));
                    ByteBuffer zero = ByteBuffer.allocate((int) Math.min(4096, len - at));
                    ch.write(zero, at);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeInt(Path f, long offset, int value) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, value), offset);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
