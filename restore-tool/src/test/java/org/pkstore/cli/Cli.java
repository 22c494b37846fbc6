package org.pkstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs pkstore in-process through {@link PkstoreCommand#commandLine()} with captured stdout and stderr. */
final class Cli {
    private Cli() {}

    static final ObjectMapper MAPPER = new ObjectMapper();

    record Result(int exit, String out, String err) {
        JsonNode json() {
            try {
                return MAPPER.readTree(out);
            } catch (Exception e) {
                return fail("stdout is not JSON (" + e.getMessage() + "):\n" + out + "\nstderr:\n" + err);
            }
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(Object... args) {
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        CommandLine cl = PkstoreCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(a);
        Result r = new Result(exit, out.toString(), err.toString());
        noStackTrace(r);
        noInternalError(r);
        return r;
    }

    /**
     * An exception no command expected (NullPointerException, IndexOutOfBounds...) is turned by
     * {@link ErrorHandler} into exit 2 and one line "pkstore CMD: internal error: ...": well
     * formed, so only this check tells it from a refusal of bad input. No test accepts it.
     */
    static void noInternalError(Result r) {
        assertFalse(r.err().contains(ErrorHandler.INTERNAL_ERROR) || r.out().contains(ErrorHandler.INTERNAL_ERROR),
                "a command failed with an unexpected exception (run it with --debug for the stack trace):\n" + r);
    }

    /** Hostile input is normal input: whatever happens, no Java stack trace reaches the user. */
    static void noStackTrace(Result r) {
        for (String s : new String[] {r.out(), r.err()}) {
            assertFalse(s.contains("\tat ") || s.contains("Exception in thread") || s.matches("(?s).*\\bat org\\.pkstore\\..*"),
                    "a stack trace was printed:\n" + r);
        }
    }
}
