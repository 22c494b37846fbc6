package org.pkstore.cli;

import org.pkstore.persist.CorruptFileException;
import picocli.CommandLine;

/**
 * Turns an exception escaping a subcommand into one line on stderr and an exit code: the code a
 * {@link CliException} carries, else 2 ("unusable input"). The stack trace only with --debug (or
 * -Dpkstore.debug=true).
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    static final int EXIT_UNUSABLE = ExitCodes.UNUSABLE;
    /** How an unexpected exception (a bug, not bad input) starts its line; the tests refuse any output holding it. */
    static final String INTERNAL_ERROR = "internal error: ";

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = Boolean.getBoolean("pkstore.debug") || parsed.expandedArgs().contains("--debug");
        String msg;
        if (ex instanceof CliException) {
            msg = ex.getMessage();
        } else if (ex instanceof CorruptFileException) {
            CorruptFileException c = (CorruptFileException) ex;
            msg = c.file() + " @ offset 0x" + Long.toHexString(c.offset()) + ": " + c.reason();
        } else if (ex instanceof java.io.IOException || ex instanceof java.io.UncheckedIOException
                || ex instanceof org.pkstore.persist.PersistException) {
            msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        } else {
            String m = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getClass().getSimpleName() + ": " + ex.getMessage();
            msg = INTERNAL_ERROR + m + (debug ? "" : " (--debug shows the stack trace)");
        }
        cl.getErr().println("pkstore " + cl.getCommandName() + ": " + msg);
        if (debug) {
            ex.printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return ex instanceof CliException ? ((CliException) ex).exitCode() : EXIT_UNUSABLE;
    }
}
