package org.pkstore.cli;

/**
 * A command cannot go on: one line for stderr and the exit code to end with (2 = unusable input or
 * refused request, unless a command documents otherwise). Never shown with a stack trace.
 */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    static CliException unusable(String message) {
        return new CliException(ExitCodes.UNUSABLE, message);
    }

    int exitCode() {
        return exitCode;
    }
}
