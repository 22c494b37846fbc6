package org.pkstore.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.rehearse.ChildJvm;
import org.pkstore.rehearse.HostMain;
import org.pkstore.rehearse.RehearsalPlan;

import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
        ObjectMapper json = new ObjectMapper();
        RehearsalPlan plan = new RehearsalPlan();
        plan.guestMemoryBytes = 2L << 30;
        plan.smallMappings = 100;
        plan.largeMappings = 300;

        ChildJvm first = ChildJvm.start("host", HostMain.class, work.resolve("host-1.log"), work.toString(), "vtd");
        try {
            assertTrue(first.readLine(T).startsWith("READY"));
            assertTrue(first.call("boot", T).startsWith("OK "));
            assertTrue(first.call("setup " + json.writeValueAsString(plan), T).startsWith("OK "));
            assertTrue(first.call("kexec", T).startsWith("OK "));
            await().atMost(T).until(() -> !first.isAlive());
        } finally {
            first.close();
        }

        // the VMM now believes its 4 KiB mapping of container 0 is one page longer than it was
        Path state = work.resolve("vmm-state.json");
        ObjectNode vmm = (ObjectNode) json.readTree(state.toFile());
        ObjectNode m = (ObjectNode) vmm.get("containers").get(0).get("mappings").get(2);
        assertEquals("ram-4k", m.get("label").asText());
        long iova = m.get("iova").asLong();
        long size = m.get("size").asLong();
        m.put("size", size + 4096);
        json.writeValue(state.toFile(), vmm);

        ChildJvm second = ChildJvm.start("host", HostMain.class, work.resolve("host-2.log"), work.toString(), "vtd");
        try {
            assertTrue(second.readLine(T).startsWith("READY"));
            assertTrue(second.call("boot", T).startsWith("OK "));
            String reply = second.call("reattach adopt", T);
            String expected = "0x" + Long.toHexString(iova + size);
            assertTrue(reply.startsWith("ERR ") && reply.contains("first at IOVA " + expected),
                    "expected a refusal naming " + expected + ", got: " + reply);
            String st = second.call("state", T);
            assertTrue(st.contains("\"descriptorWrites\":0"), st);
            second.send("quit");
            await().atMost(T).until(() -> !second.isAlive());
        } finally {
            second.close();
        }
    }
}
