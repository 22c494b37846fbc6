package org.pkstore.cli;

import org.pkstore.iommu.pgtable.PageTableVisitor;
import org.pkstore.iommu.pgtable.PageTableWalker;
import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Copies of a mount with one kind of damage each, and the file offsets the damage sits at. */
final class Damage {
    private Damage() {}

    static Path copy(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    SnapshotCommand.sparseCopy(p, t, 0); // the mount's files are sparse: keep the copies so
                }
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long readLong(Path f, long offset) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
            ch.read(b, offset);
            return b.getLong(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeLong(Path f, long offset, long value) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(0, value);
            ch.write(b, offset);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void flipBit(Path f, long offset, int bit) {
        writeLong(f, offset, readLong(f, offset) ^ (1L << bit));
    }

    static void truncate(Path f, long size) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What a table file's header says, read through the persist API. */
    record Header(long paBase, long rootPa, long firstTablePage, long capacityPages) {
        long offsetOf(long pa) {
            return pa - paBase;
        }
    }

    static Header header(Path pt) {
        try (PageTableFile f = PageTableFile.openReadOnly(pt)) {
            return new Header(f.paBase(), f.rootPa(), f.firstTablePage(), f.capacityPages());
        }
    }

    /** File offsets of the descriptors translating {@code iova}, level 0 first (the leaf last). */
    static List<Long> pathOffsets(Path pt, long iova) {
        List<Long> out = new ArrayList<>();
        try (PageTableFile f = PageTableFile.openReadOnly(pt)) {
            PageTableWalker.of(f).translate(iova, new PageTableVisitor() {
                @Override
                public void table(int level, long i, long tablePa, int index, long d) {
                    out.add(tablePa + index * 8L - f.paBase());
                }

                @Override
                public void leaf(int level, long i, long tablePa, int index, long d, long[] path) {
                    out.add(tablePa + index * 8L - f.paBase());
                }
            });
        }
        return out;
    }
}
