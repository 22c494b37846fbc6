package org.pkstore.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * What every subcommand shares: {@code --json}, {@code --debug}, {@code --no-progress}, the
 * command line's out (data) and err (errors, progress) writers, and the exit-code convention
 * ({@link ExitCodes}). Subclasses implement {@link #execute()}.
 */
abstract class BaseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Machine-readable output (JSON on stdout; shapes in docs/CLI.md).")
    boolean json;

    @Option(names = "--debug", description = "On an internal error, print the Java stack trace too.")
    boolean debug;

    @Option(names = "--no-progress", description = "No progress line on stderr (it is already off when stderr is not a terminal).")
    boolean noProgress;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    Progress progress(String label) {
        return Progress.start(err(), !noProgress && Progress.terminal(), label);
    }

    /** "pkstore verify: message" on stderr. */
    void warn(String message) {
        err().println("pkstore " + spec.name() + ": " + message);
        err().flush();
    }

    @Override
    public final Integer call() throws Exception {
        Logging.configure(debug);
        try {
            return execute();
        } finally {
            out().flush();
            err().flush();
        }
    }

    abstract int execute() throws Exception;
}
