package org.pkstore.rehearse;

import org.pkstore.persist.PageTableFile;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The floor of a blackout (docs/BENCHMARKS.md, blackout): a JVM that starts, maps every page-table
 * file of a mount read-only, checks each header ({@link PageTableFile#openReadOnly}: magic, layout,
 * sizes), prints how many it checked and exits. Nothing a kexec must do can cost less than this in
 * a JVM. Usage: {@code TableFloorMain MOUNT_DIR}; exit status 0 when at least one table checked.
 */
public final class TableFloorMain {
    private TableFloorMain() {}

    public static void main(String[] args) throws IOException {
        Path tables = Path.of(args[0]).resolve("pgtables");
        int checked = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(tables, "*.pt")) {
            for (Path f : files) {
                try (PageTableFile t = PageTableFile.openReadOnly(f)) {
                    checked++;
                }
            }
        }
        System.out.println("checked " + checked);
        System.exit(checked > 0 ? 0 : 1);
    }
}
