package org.pkstore.rehearse;

import org.pkstore.cli.PkstoreCommand;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/**
 * {@code pkstore verify MOUNT}, run in the rehearsal's own JVM beside the running host (read-only,
 * no lock taken: docs/CLI.md): exit status and, when it found problems, what it printed.
 */
record MountVerification(int exitStatus, String output) {
    /** The first lines of verify's output that say what is wrong (all of it when short). */
    static MountVerification of(Path mount) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = PkstoreCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute("verify", "--no-progress", mount.toString());
        String text = (out + err.toString()).strip();
        return new MountVerification(status, text.length() > 1500 ? text.substring(0, 1500) + " ..." : text);
    }

    boolean clean() {
        return exitStatus == 0;
    }
}
