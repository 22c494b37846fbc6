package org.pkstore.tests;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict KTAP version 1 parser (Documentation/dev-tools/ktap.rst in Linux): every line is a
 * version line, a plan, a result or a diagnostic at the right indentation (two spaces a level); a
 * subtest starts with its own version line and plan and ends right before its parent's result
 * line; results are numbered 1, 2, ... per level and match the plan; descriptions have no '#';
 * a parent whose subtest failed must not be "ok". Anything else is an error that names the line.
 */
final class KtapParser {
    /** A test: its number, description, result, the diagnostics just before it, and its subtests. */
    record Test(int number, String name, boolean ok, String directive, List<String> diagnostics, List<Test> subtests) {
        boolean anyFailed() {
            return !ok || subtests.stream().anyMatch(Test::anyFailed);
        }
    }

    private static final Pattern PLAN = Pattern.compile("1\\.\\.(\\d+)");
    private static final Pattern RESULT = Pattern.compile("(ok|not ok) (\\d+)(?: ([^#]*?))?(?: # ?(.*))?");

    private final List<String> lines;
    private int at;

    private KtapParser(List<String> lines) {
        this.lines = lines;
    }

    /** The top-level tests of a whole KTAP document; the document's trailing diagnostics go to {@code tail}. */
    static List<Test> parse(String text, List<String> tail) {
        KtapParser p = new KtapParser(List.of(text.split("\n", -1)));
        List<Test> tests = p.level(0, tail);
        while (p.at < p.lines.size() && p.lines.get(p.at).isEmpty()) {
            p.at++;
        }
        if (p.at != p.lines.size()) {
            throw p.error("unexpected line after the last result");
        }
        return tests;
    }

    private List<Test> level(int depth, List<String> tail) {
        String indent = "  ".repeat(depth);
        expect(indent + "KTAP version 1", "a version line");
        Matcher plan = PLAN.matcher(strip(indent, "a plan"));
        if (!plan.matches()) {
            throw error("a plan line 1..N after the version line");
        }
        at++;
        int planned = Integer.parseInt(plan.group(1));
        List<Test> tests = new ArrayList<>();
        List<String> diagnostics = new ArrayList<>();
        List<Test> pendingSubtests = null;
        while (at < lines.size()) {
            String line = lines.get(at);
            if (line.equals(indent + "  KTAP version 1")) {
                if (pendingSubtests != null) {
                    throw error("a second subtest before its parent's result line");
                }
                pendingSubtests = level(depth + 1, diagnostics);
                continue;
            }
            if (!line.startsWith(indent) || (line.length() > indent.length() && line.charAt(indent.length()) == ' ')) {
                break; // a line of the parent level (or the end)
            }
            String body = line.substring(indent.length());
            if (body.startsWith("# ") || body.equals("#")) {
                diagnostics.add(body.length() > 2 ? body.substring(2) : "");
                at++;
                continue;
            }
            Matcher r = RESULT.matcher(body);
            if (!r.matches()) {
                if (body.isEmpty() && depth == 0) {
                    break;
                }
                throw error("not a KTAP line at depth " + depth);
            }
            int number = Integer.parseInt(r.group(2));
            if (number != tests.size() + 1) {
                throw error("result number " + number + ", expected " + (tests.size() + 1));
            }
            boolean ok = r.group(1).equals("ok");
            List<Test> subs = pendingSubtests == null ? List.of() : pendingSubtests;
            if (ok && subs.stream().anyMatch(Test::anyFailed)) {
                throw error("'ok' for a test whose subtest failed");
            }
            tests.add(new Test(number, r.group(3) == null ? "" : r.group(3), ok, r.group(4), List.copyOf(diagnostics), subs));
            diagnostics.clear();
            pendingSubtests = null;
            at++;
        }
        if (pendingSubtests != null) {
            throw error("subtests without their parent's result line");
        }
        if (tests.size() != planned) {
            throw error("plan 1.." + planned + " but " + tests.size() + " results at depth " + depth);
        }
        tail.addAll(diagnostics);
        return tests;
    }

    private void expect(String line, String what) {
        if (at >= lines.size() || !lines.get(at).equals(line)) {
            throw error(what + " '" + line.strip() + "'");
        }
        at++;
    }

    private String strip(String indent, String what) {
        if (at >= lines.size() || !lines.get(at).startsWith(indent)) {
            throw error(what);
        }
        return lines.get(at).substring(indent.length());
    }

    private IllegalArgumentException error(String what) {
        String line = at < lines.size() ? lines.get(at) : "<end>";
        return new IllegalArgumentException("KTAP line " + (at + 1) + ": expected " + what + ": '" + line + "'");
    }
}
