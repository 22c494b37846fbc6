package org.pkstore.cli;

import picocli.CommandLine.Parameters;

import java.nio.file.Path;

/** The MOUNT argument of the commands that read one pkernfs mount (a picocli mixin). */
final class MountArgument {
    @Parameters(index = "0", paramLabel = "MOUNT", description = "The pkernfs mount directory.")
    Path dir;
}
