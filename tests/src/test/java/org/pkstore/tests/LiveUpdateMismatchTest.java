package org.pkstore.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.rehearse.HostMain;
import org.pkstore.rehearse.PipedJvm;
import org.pkstore.rehearse.RehearsalException;
import org.pkstore.rehearse.RehearsalPlan;
import org.pkstore.rehearse.VmmState;
import org.pkstore.rehearse.protocol.HostCommand;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;

import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MAP_DMA with the live-update flag re-establishes a mapping only if the preserved tables already
 * map exactly that range: a VMM whose idea of a mapping differs from the tables is refused, told
 * the first IOVA that differs, and nothing is written.
 */
class LiveUpdateMismatchTest {
    private static final Duration T = Duration.ofSeconds(120);

    @Test
    void liveUpdateMapDmaRefusesAMappingTheTablesDoNotHoldAndNamesTheFirstDifferingIova(@TempDir Path work)
            throws Exception {
        RehearsalPlan plan = new RehearsalPlan();
        plan.guestMemoryBytes = 2L << 30;
        plan.smallMappings = 100;
        plan.largeMappings = 300;

        PipedJvm first = PipedJvm.start("host", HostMain.class, work.resolve("host-1.log"), work.toString(), "vtd");
        try {
            assertTrue(first.readLine(T).startsWith("READY"));
            assertFalse(first.call(new HostCommand.Boot(), T).uncleanEnd());
            first.call(new HostCommand.Setup(plan), T);
            assertEquals(1, first.call(new HostCommand.Kexec(), T).generation());
            await().atMost(T).until(() -> !first.isAlive());
        } finally {
            first.close();
        }

        // the VMM now believes its 4 KiB mapping of container 0 is one page longer than it was
        Path state = work.resolve(VmmState.FILE);
        VmmState vmm = VmmState.read(state);
        VmmState.Mapping m = vmm.containers.get(0).mappings.get(2);
        assertEquals("ram-4k", m.label);
        long iova = m.iova;
        long size = m.size;
        m.size = size + 4096;
        vmm.write(state);

        PipedJvm second = PipedJvm.start("host", HostMain.class, work.resolve("host-2.log"), work.toString(), "vtd");
        try {
            assertTrue(second.readLine(T).startsWith("READY"));
            HostReply.Booted boot = second.call(new HostCommand.Boot(), T);
            assertFalse(boot.uncleanEnd());
            RehearsalException refused = assertThrows(RehearsalException.class,
                    () -> second.call(new HostCommand.Reattach(Strategy.ADOPT), T));
            String expected = "0x" + Long.toHexString(iova + size);
            assertTrue(refused.getMessage().contains("refused 'reattach': ERR ")
                            && refused.getMessage().contains("first at IOVA " + expected),
                    "expected a refusal naming " + expected + ", got: " + refused.getMessage());
            HostReply.HostState st = second.call(new HostCommand.State(), T);
            assertEquals(0, st.descriptorWrites(), st.toString());
            second.send(new HostCommand.Quit());
            await().atMost(T).until(() -> !second.isAlive());
        } finally {
            second.close();
        }
    }
}
