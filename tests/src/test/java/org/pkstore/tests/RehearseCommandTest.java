package org.pkstore.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pkstore.cli.PkstoreCommand;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code pkstore rehearse} as a user runs it: options, exit status, JSON report, kept mount. */
class RehearseCommandTest {
    record Run(int exit, String out, String err) {}

    static Run pkstore(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = PkstoreCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void jsonReportOfAPassingRehearsalWithTheMountKeptForInspection(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("lu");
        Run r = pkstore("rehearse", "--dir", work.toString(), "--json", "--kexecs", "planned,crash",
                "--guest-memory", "2G", "--small-mappings", "100", "--large-mappings", "3000", "--seed", "11");
        assertEquals(0, r.exit(), r.err());
        JsonNode rep = new ObjectMapper().readTree(r.out());
        assertTrue(rep.get("passed").asBoolean());
        assertEquals(11, rep.get("seed").asLong());
        assertEquals(2, rep.get("kexecs").size());
        // the report's enums are written as the options take them
        assertEquals("vtd", rep.get("driver").asText());
        assertEquals("compare", rep.get("strategy").asText());
        assertEquals("planned", rep.get("kexecs").get(0).get("kind").asText());
        assertEquals("adopt", rep.get("kexecs").get(0).get("strategy").asText());
        assertEquals("crash", rep.get("kexecs").get(1).get("kind").asText());
        for (JsonNode c : rep.get("checks")) {
            assertTrue(c.get("passed").asBoolean(), c.toString());
        }
        assertTrue(r.err().contains("seed 11"), "the seed is printed: " + r.err());
        assertTrue(Files.isRegularFile(work.resolve("pkernfs/pkernfs.super")), "the mount is kept with --dir");
        // and the offline tool reads what the host left behind
        Run v = pkstore("verify", work.resolve("pkernfs").toString());
        assertEquals(0, v.exit(), v.out() + v.err());
    }

    @Test
    void badOptionsAreRefusedWithExitStatus2AndAReason(@TempDir Path dir) {
        Run k = pkstore("rehearse", "--kexecs", "planned,reboot");
        assertEquals(2, k.exit());
        assertTrue(k.err().contains("planned or crash, not 'reboot'"), k.err());
        Run s = pkstore("rehearse", "--strategy", "rebuild");
        assertEquals(2, s.exit());
        assertTrue(s.err().contains("--strategy"), s.err());
        Run p = pkstore("rehearse", "--kill-points", "somewhere");
        assertEquals(2, p.exit());
        Run rk = pkstore("rehearse", "--kill-points", "recovery:copied", "--recovery-kills", "0");
        assertEquals(2, rk.exit());
        assertTrue(rk.err().contains("--recovery-kills"), rk.err());
        Run small = pkstore("rehearse", "--dir", dir.resolve("x").toString(), "--guest-memory", "1G",
                "--large-mappings", "1000000");
        assertEquals(2, small.exit(), "guest memory too small for the mappings");
        assertFalse(small.err().contains("Exception"), small.err());
    }
}
