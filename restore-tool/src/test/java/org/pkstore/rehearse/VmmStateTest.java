package org.pkstore.rehearse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VMM's state file (docs/LIVE-UPDATE.md, "The VMM's state file"): read back as written; damage refused by line. */
class VmmStateTest {
    @TempDir
    Path dir;

    private static VmmState sample(boolean stage1) {
        VmmState s = new VmmState();
        s.driver = "vtd";
        VmmState.GuestMemory gm = new VmmState.GuestMemory();
        gm.name = "guest0";
        gm.vaddr = 0x7f00_0000_0000L;
        gm.size = 6L << 30;
        s.guestMemory.add(gm);
        for (int c = 0; c < 2; c++) {
            VmmState.Container vc = new VmmState.Container();
            vc.group = c + 1;
            vc.bdf = "00:0" + (c + 1) + ".0";
            vc.pgtableFile = "vm0-c" + c;
            vc.iommuType = 6;
            VmmState.Mapping m = new VmmState.Mapping();
            m.label = "ram-4k-bulk";
            m.iova = 0x8040_0000L;
            m.vaddr = 0x8000_0000_0000_1000L; // the top bit set: read back as the same 64 bits
            m.size = 4_096_000_000L;
            m.flags = 3;
            vc.mappings.add(m);
            s.containers.add(vc);
        }
        if (stage1) {
            s.stage1 = new VmmState.Stage1();
            s.stage1.format = "VTD_FIRST_LEVEL_4";
            s.stage1.rootGpa = 0x3000_0000L;
            s.stage1.pasid = 1;
            s.stage1.bdf = "00:01.0";
            s.stage1.gvaBase = 0x5500_0000_0000L;
            s.stage1.pageGpas.addAll(List.of(0x8000_0000L, 0x8006_1000L));
            s.stage1.tablePages = 4;
        }
        return s;
    }

    @Test
    void readsBackWhatItWrote() throws Exception {
        Path f = dir.resolve(VmmState.FILE);
        sample(true).write(f);
        VmmState r = VmmState.read(f);
        assertEquals("vtd", r.driver);
        assertEquals(6L << 30, r.guestMemory.get(0).size);
        assertEquals(2, r.containers.size());
        VmmState.Container c1 = r.containers.get(1);
        assertEquals(2, c1.group);
        assertEquals("00:02.0", c1.bdf);
        assertEquals("vm0-c1", c1.pgtableFile);
        VmmState.Mapping m = c1.mappings.get(0);
        assertEquals("ram-4k-bulk", m.label);
        assertEquals(0x8040_0000L, m.iova);
        assertEquals(0x8000_0000_0000_1000L, m.vaddr);
        assertEquals(4_096_000_000L, m.size);
        assertEquals(3, m.flags);
        assertEquals(List.of(0x8000_0000L, 0x8006_1000L), r.stage1.pageGpas);
        assertEquals(1, r.stage1.pasid);
        assertEquals(4, r.stage1.tablePages);
        Path none = dir.resolve("no-stage1");
        sample(false).write(none);
        assertNull(VmmState.read(none).stage1);
    }

    @Test
    void aTruncatedOrForeignOrDamagedFileIsRefusedWithItsLine() throws Exception {
        Path f = dir.resolve(VmmState.FILE);
        sample(true).write(f);
        String text = Files.readString(f);

        Files.writeString(f, text.substring(0, text.indexOf("end\n")));
        assertRefused(f, "no end line");
        Files.writeString(f, text.substring(0, text.length() - 1));
        assertRefused(f, "truncated");
        Files.writeString(f, "{\"driver\":\"vtd\"}\n");
        assertRefused(f, "line 1: not a VMM state");
        Files.writeString(f, text.replace("map ram-4k-bulk 0x80400000", "map ram-4k-bulk 80400000"));
        assertRefused(f, "line 5: \"80400000\" is not a 0x hex number");
        Files.writeString(f, text.replace("container 1 00:01.0 vm0-c0 6", "container 1 00:01.0 vm0-c0"));
        assertRefused(f, "line 4: container: 4 values expected, 3 found");
        Files.writeString(f, text.replace("driver vtd", "driver vtd\nmap x 0x0 0x0 0x1000 3"));
        assertRefused(f, "line 3: a map line before any container line");
        Files.writeString(f, text.replace("driver vtd", "drive vtd"));
        assertRefused(f, "line 2: unknown record \"drive\"");
    }

    private static void assertRefused(Path f, String why) {
        RehearsalException e = assertThrows(RehearsalException.class, () -> VmmState.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(why), e.getMessage());
    }
}
