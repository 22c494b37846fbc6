package org.pkstore.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code pkstore} command: rehearse live updates, and inspect persisted IOMMU state offline.
 * Each subcommand is one class; exit codes are documented in docs/CLI.md.
 */
@Command(name = "pkstore",
        mixinStandardHelpOptions = true,
        versionProvider = PkstoreCommand.Version.class,
        description = {
                "kexec-persistence state store: rehearse hypervisor live updates with assigned devices, and "
                + "inspect the IOMMU state a host left in pkernfs.",
                "",
                "Exit codes: 0 ok / nothing found, 1 problems or differences found, 2 unusable input "
                + "(docs/CLI.md)."},
        subcommands = {
                org.pkstore.rehearse.RehearseCommand.class,
                org.pkstore.report.ReportCommand.class,
                InspectCommand.class,
                WalkCommand.class,
                TranslateCommand.class,
                VerifyCommand.class,
                DiffCommand.class,
                SnapshotCommand.class,
                ReplayCommand.class,
                IoctlsCommand.class,
                CommandLine.HelpCommand.class})
public final class PkstoreCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The command line with pkstore's error handling; tests capture its writers with setOut / setErr. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new PkstoreCommand());
        cl.setExecutionExceptionHandler(new ErrorHandler());
        return cl;
    }

    public static void main(String[] args) {
        boolean debug = Boolean.getBoolean("pkstore.debug") || java.util.Arrays.asList(args).contains("--debug");
        Logging.beforeStart(debug);
        System.exit(commandLine().execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = PkstoreCommand.class.getPackage().getImplementationVersion();
            return new String[] {"pkstore " + (v == null ? "(development build)" : v)};
        }
    }
}
