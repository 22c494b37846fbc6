package org.pkstore.cli;

import picocli.CommandLine;

/**
 * Turns an exception escaping a subcommand into one line on stderr and exit code 2 ("unusable
 * input"); the stack trace only with --debug (or -Dpkstore.debug=true).
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    static final int EXIT_UNUSABLE = 2;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = Boolean.getBoolean("pkstore.debug") || parsed.expandedArgs().contains("--debug");
        String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        cl.getErr().println("pkstore " + cl.getCommandName() + ": " + msg);
        if (debug) {
            ex.printStackTrace(cl.getErr());
        }
        return EXIT_UNUSABLE;
    }
}
