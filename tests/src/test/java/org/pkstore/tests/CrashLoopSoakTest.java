package org.pkstore.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.Rehearsal;
import org.pkstore.rehearse.StrategyOption;
import org.pkstore.vfio.trace.KexecKind;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in (mvn -B verify -Dsoak): a long crash loop, twenty kexecs mixing planned ones and SIGKILLs
 * at every kill point, under one DMA device.
 */
@Tag("soak")
@Timeout(value = 40, unit = TimeUnit.MINUTES) // twenty kexecs: several times the suite's 10-minute default (root pom)
class CrashLoopSoakTest {
    @Test
    void twentyKexecsMixingPlannedAndCrash(@TempDir Path dir) throws Exception {
        List<KexecKind> kexecs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            kexecs.add(i % 3 == 2 ? KexecKind.PLANNED : KexecKind.CRASH);
        }
        Rehearsal r = LiveUpdateRehearsalTest.run(dir, IommuDriver.VTD, kexecs, StrategyOption.COMPARE,
                List.of("random", "map:tables", "map:record", "unmap:tables"), System.nanoTime());
        assertTrue(r.passed(), LiveUpdateRehearsalTest.failures(r));
    }
}
