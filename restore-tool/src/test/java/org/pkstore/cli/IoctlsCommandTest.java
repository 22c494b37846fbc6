package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.pkstore.vfio.uapi.VfioIoctl;

import static org.junit.jupiter.api.Assertions.assertEquals;

class IoctlsCommandTest {
    @Test
    void tableAndJson() {
        Cli.Result r = Cli.run("ioctls");
        assertEquals(0, r.exit());
        assertEquals(VfioIoctl.table(), r.out());
        Cli.Result j = Cli.run("ioctls", "--json");
        assertEquals(0, j.exit());
        JsonNode a = j.json();
        assertEquals(VfioIoctl.values().length, a.size());
        for (int i = 0; i < a.size(); i++) {
            VfioIoctl x = VfioIoctl.values()[i];
            assertEquals(x.name(), a.get(i).path("name").asText());
            assertEquals(x.number(), Integer.decode(a.get(i).path("number").asText()));
            assertEquals(x.argSize(), a.get(i).path("argSize").asInt());
            assertEquals(x.minArgsz(), a.get(i).path("minArgsz").asInt());
        }
        assertEquals("0x3b71", a.get(VfioIoctl.VFIO_IOMMU_MAP_DMA.ordinal()).path("number").asText());
        assertEquals(32, a.get(VfioIoctl.VFIO_IOMMU_MAP_DMA.ordinal()).path("argSize").asInt());
    }

    @Test
    void everySubcommandHasHelp() {
        for (String c : new String[] {"inspect", "walk", "translate", "verify", "diff", "snapshot", "replay", "ioctls"}) {
            Cli.Result r = Cli.run(c, "--help");
            assertEquals(0, r.exit(), c);
            assertEquals(true, r.out().contains("Usage: pkstore " + c), r::toString);
            assertEquals(true, r.out().contains("Exit:"), r::toString);
        }
    }
}
