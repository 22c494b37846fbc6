package org.pkstore.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * Base of the CLI tests that read one model-made mount ({@link Fixtures#standard}), built once per
 * test class in its own temporary directory.
 */
abstract class StandardMountTest {
    @TempDir
    static Path tmp;
    static Fixtures.Standard std;

    @BeforeAll
    static void buildStandardMount() {
        std = Fixtures.standard(tmp.resolve("std"));
    }
}
