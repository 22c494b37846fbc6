package org.pkstore.persist.registry;

import org.pkstore.persist.PersistException;
import org.pkstore.persist.PersistentStores;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's bookkeeping of one mount, one Chronicle Map file each under {@code registry/}.
 * Opened live by the mount's writer (recovering after an unclean end), or as private snapshots by
 * read-only observers.
 */
public final class Registries implements AutoCloseable {
    public static final String DIR = "registry";
    /** The registry files of a mount, {@code registry/NAME.cmap}, in opening order. */
    public static final java.util.List<String> NAMES = java.util.List.of("containers", "groups", "domains", "vmids",
            "pasids", "bindings", "guest-stages", "faults", "dma");

    public final Registry<ContainerRecord> containers;
    public final Registry<GroupRecord> groups;
    public final Registry<DomainRecord> domains;
    public final Registry<VmidRecord> vmids;
    public final Registry<PasidRecord> pasids;
    public final Registry<BindingRecord> bindings;
    public final Registry<GuestStageRecord> guestStages;
    public final Registry<FaultRecord> faults;
    public final Registry<DmaMappingRecord> dmaMappings;

    private Registries(Opener opener) {
        // if one registry cannot be opened, the ones already open are closed again
        List<Registry<?>> opened = new ArrayList<>();
        Opener o = new Opener() {
            @Override
            public <V> Registry<V> open(String name, RecordCodec<V> codec, long entries, int avgSize) {
                Registry<V> r = opener.open(name, codec, entries, avgSize);
                opened.add(r);
                return r;
            }
        };
        try {
            containers = o.open("containers", ContainerRecord.CODEC, 1 << 12, 64);
            groups = o.open("groups", GroupRecord.CODEC, 1 << 12, 16);
            domains = o.open("domains", DomainRecord.CODEC, 1 << 12, 96);
            vmids = o.open("vmids", VmidRecord.CODEC, 1 << 16, 24);
            pasids = o.open("pasids", PasidRecord.CODEC, 1 << 16, 16);
            bindings = o.open("bindings", BindingRecord.CODEC, 1 << 14, 80);
            guestStages = o.open("guest-stages", GuestStageRecord.CODEC, 1 << 12, 32);
            faults = o.open("faults", FaultRecord.CODEC, 1 << 14, 96);
            dmaMappings = o.open("dma", DmaMappingRecord.CODEC, 1 << 18, 48);
        } catch (RuntimeException | PersistentStores.StoreCrash e) {
            // a simulated death (crash-point tests) releases the maps as the OS would a dead process's
            for (Registry<?> r : opened) {
                try {
                    r.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private interface Opener {
        <V> Registry<V> open(String name, RecordCodec<V> codec, long entries, int avgSize);
    }

    /**
     * Deletes every registry's seal before the first registry is opened for writing: from here the
     * files may change, and a seal left behind would vouch for content it no longer describes. A
     * seal still there after an unclean end therefore means no boot opened the registries since the
     * clean unmount that wrote it, so the next boot can still check them against it (FORMAT.md 8.2).
     */
    private static void consumeSeals(Path mountDir) {
        for (String name : NAMES) {
            Path seal = RegistrySeal.fileOf(fileOf(mountDir, name));
            try {
                Files.deleteIfExists(seal);
            } catch (IOException e) {
                throw new PersistException("cannot remove the seal " + seal + " before opening the registries: "
                        + e.getMessage(), e);
            }
        }
    }

    public static Path fileOf(Path mountDir, String name) {
        return mountDir.resolve(DIR).resolve(name + ".cmap");
    }

    /** Live registries for the mount's single writer; {@code recover} after an unclean end. */
    public static Registries openLive(Path mountDir, boolean recover) {
        return openLive(mountDir, recover, -1);
    }

    /**
     * As {@link #openLive(Path, boolean)}; a recovering open by the boot of {@code generation} (0 or
     * more) records what Chronicle's recovery repaired in {@link RegistryRecoveryLog}.
     */
    public static Registries openLive(Path mountDir, boolean recover, long generation) {
        consumeSeals(mountDir);
        List<RegistryRecoveryLog.Line> repairs = new ArrayList<>();
        Registries r = new Registries(new Opener() {
            @Override
            public <V> Registry<V> open(String name, RecordCodec<V> codec, long entries, int avgSize) {
                return Registry.open(fileOf(mountDir, name), name, codec, entries, avgSize, recover,
                        what -> repairs.add(new RegistryRecoveryLog.Line(generation, name, what)));
            }
        });
        if (recover && generation >= 0) {
            try {
                RegistryRecoveryLog.append(mountDir, generation, repairs);
            } catch (RuntimeException e) {
                r.close();
                throw e;
            }
        }
        return r;
    }

    /** Private recovered copies: never touches a lock in the live files. */
    public static Registries openSnapshot(Path mountDir) {
        return new Registries(new Opener() {
            @Override
            public <V> Registry<V> open(String name, RecordCodec<V> codec, long entries, int avgSize) {
                Path f = fileOf(mountDir, name);
                if (!f.toFile().exists()) {
                    throw new org.pkstore.persist.PersistException(f + ": registry file missing");
                }
                return Registry.openSnapshot(f, name, codec, entries, avgSize);
            }
        });
    }

    /**
     * Private recovered copies, as {@link #openSnapshot(Path)}, telling {@code corruptions} (registry
     * name, what Chronicle Map's recovery found and did) everything the recovery of each copy met.
     */
    public static Registries openSnapshot(Path mountDir,
                                          java.util.function.BiConsumer<String, net.openhft.chronicle.hash.ChronicleHashCorruption> corruptions) {
        return new Registries(new Opener() {
            @Override
            public <V> Registry<V> open(String name, RecordCodec<V> codec, long entries, int avgSize) {
                Path f = fileOf(mountDir, name);
                if (!f.toFile().exists()) {
                    throw new org.pkstore.persist.PersistException(f + ": registry file missing");
                }
                return Registry.openSnapshot(f, name, codec, entries, avgSize, c -> corruptions.accept(name, c));
            }
        });
    }

    @Override
    public void close() {
        for (Registry<?> r : new Registry<?>[] {containers, groups, domains, vmids, pasids, bindings, guestStages,
                faults, dmaMappings}) {
            if (r != null) {
                r.close();
            }
        }
    }
}
