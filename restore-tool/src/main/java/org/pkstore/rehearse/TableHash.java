package org.pkstore.rehearse;

import org.pkstore.persist.PageTableFileDescriptor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of what the IOMMU walks in a table file: the immutable header (bytes [0, 128)), the
 * allocation bitmap and every table page (bytes [4096, end)). The mutable header words (generation,
 * clean flag, writer pid, sequences) change at every mount by design and are left out; the root
 * pointer is added explicitly.
 */
final class TableHash {
    private TableHash() {}

    static String of(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] header = in.readNBytes(PageTableFileDescriptor.PAGE_SIZE);
            md.update(header, 0, PageTableFileDescriptor.MUTABLE_OFFSET);
            md.update(header, PageTableFileDescriptor.ROOT_PA_OFFSET, Long.BYTES);
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new RehearsalException("cannot hash " + file + ": " + e.getMessage(), e);
        }
    }
}
