package org.pkstore.cli;

/** Exit codes shared by every subcommand (docs/CLI.md, "Exit codes"). */
final class ExitCodes {
    private ExitCodes() {}

    /** Done; nothing wrong found (verify), no difference (diff), translated (translate). */
    static final int OK = 0;
    /**
     * Done, and something was found: problems (verify, and any command whose input was damaged so
     * that its output is incomplete), differences (diff), a fault (translate).
     */
    static final int FOUND = 1;
    /** Unusable input or refused request: not a mount, unknown domain, bad option, mount held by a host. */
    static final int UNUSABLE = 2;
}
