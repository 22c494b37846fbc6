package org.pkstore.iommu.pgtable;

import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.PageTableFileDescriptor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/** Test files of kind domain-tables, and small readers over them. */
final class DomainFiles {
    private DomainFiles() {}

    static final long PA_BASE = 0x4000_0000_0000L;
    static final long OWNER_ID = 7;
    private static final AtomicInteger SEQ = new AtomicInteger();

    static Stream<PageTableFormat> formats() {
        return Stream.of(VtdSecondStageFormat.INSTANCE, ArmLpaeS2Format.INSTANCE);
    }

    static PageTableFile create(Path dir, PageTableFormat format, long capacityPages) {
        Path p = dir.resolve(format.name() + "-" + SEQ.incrementAndGet() + ".pgt");
        return PageTableFile.create(p, PageTableFileDescriptor.KIND_DOMAIN_TABLES, format.id(), capacityPages,
                PA_BASE, OWNER_ID, 1);
    }

    /** The Prot bits a leaf made with {@code prot} reads back as in this format. */
    static int canonicalProt(PageTableFormat format, int prot) {
        return format.protOf(format.makeLeaf(0, prot, 3), 3);
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** One leaf as the walker reports it. */
    record Leaf(long iova, int level, long pa, int prot, long descriptor) {
        long size() {
            return PageTableGeometry.blockSize(level);
        }

        @Override
        public String toString() {
            return String.format("[0x%x +0x%x -> 0x%x %s raw 0x%016x]", iova, size(), pa, Prot.toString(prot), descriptor);
        }
    }

    /** One refused descriptor as the walker reports it. */
    record Problem(int level, long iova, long offset, long descriptor, String reason) {}

    /** Every leaf and problem of the tree, in walk order. */
    static final class Collected implements PageTableVisitor {
        final List<Leaf> leaves = new ArrayList<>();
        final List<Problem> problems = new ArrayList<>();
        final List<long[]> paths = new ArrayList<>();
        private final PageTableFile file;
        private final PageTableFormat format;

        Collected(PageTableFile file, PageTableFormat format) {
            this.file = file;
            this.format = format;
        }

        static Collected walk(PageTableFile file, PageTableFormat format) {
            Collected c = new Collected(file, format);
            new PageTableWalker(file, format).walk(c);
            return c;
        }

        @Override
        public void leaf(int level, long iova, long tablePa, int index, long descriptor, long[] path) {
            leaves.add(new Leaf(iova, level, format.outputAddress(descriptor, level), format.protOf(descriptor, level),
                    descriptor));
            paths.add(path.clone());
        }

        @Override
        public void problem(int level, long iova, long descriptorPa, long descriptor, String reason) {
            problems.add(new Problem(level, iova, descriptorPa - file.paBase(), descriptor, reason));
        }
    }
}
