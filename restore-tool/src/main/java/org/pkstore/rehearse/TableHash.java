package org.pkstore.rehearse;

import org.pkstore.persist.PageTableFileDescriptor;

import org.pkstore.persist.PkernfsMount;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

    /** The hash of every IOMMU and page-table file of the mount at {@code mount}, by "dir/name". */
    static Map<String, String> ofMount(Path mount) {
        Map<String, String> h = new TreeMap<>();
        for (String dir : new String[] {PkernfsMount.IOMMU_DIR, PkernfsMount.PGTABLES_DIR}) {
            File[] fs = mount.resolve(dir).toFile().listFiles();
            if (fs != null) {
                for (File f : fs) {
                    h.put(dir + "/" + f.getName(), of(f.toPath()));
                }
            }
        }
        return h;
    }

    /** What changed from {@code a} to {@code b}; when nothing did, the files and their short hashes. */
    static String diff(Map<String, String> a, Map<String, String> b) {
        List<String> d = new ArrayList<>();
        for (String k : a.keySet()) {
            if (!a.get(k).equals(b.get(k))) {
                d.add(k + " changed");
            }
        }
        for (String k : b.keySet()) {
            if (!a.containsKey(k)) {
                d.add(k + " new");
            }
        }
        return d.isEmpty() ? a.size() + " table files, SHA-256 " + shortHashes(a) : String.join(", ", d);
    }

    private static String shortHashes(Map<String, String> a) {
        List<String> s = new ArrayList<>();
        a.forEach((k, v) -> s.add(k.substring(k.indexOf('/') + 1) + "=" + v.substring(0, 12)));
        return String.join(" ", s);
    }
}
