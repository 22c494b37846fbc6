package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code pkstore report JSON}: a saved {@code pkstore rehearse --json} report rendered again, as
 * an HTML page and/or KTAP. Exit 0 when the report says the rehearsal passed, 1 when it failed,
 * 2 when the file is not such a report.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Renders a saved rehearsal report (pkstore rehearse --json > FILE; docs/REPORT.md) as a "
                + "self-contained HTML page and/or as KTAP.",
                "",
                "Exit: 0 the report passed; 1 it failed; 2 not a rehearsal report of a known schema version."})
public final class ReportCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "JSON", description = "The JSON report.")
    Path json;

    @Option(names = "--html", paramLabel = "FILE", description = "Write the report as one self-contained HTML page.")
    Path html;

    @Option(names = "--format", paramLabel = "ktap|json",
            description = "Print the report on stdout as KTAP version 1, or as JSON (normalised).")
    String format;

    @Override
    public Integer call() throws Exception {
        if (html == null && format == null) {
            spec.commandLine().getErr().println("pkstore report: give --html FILE and/or --format ktap|json");
            return 2;
        }
        if (format != null && !format.equals("ktap") && !format.equals("json")) {
            spec.commandLine().getErr().println("pkstore report: --format takes ktap or json, not '" + format + "'");
            return 2;
        }
        String text;
        JsonNode report;
        try {
            text = Files.readString(json);
            report = ReportOutput.parse(text);
        } catch (IOException | IllegalArgumentException e) {
            spec.commandLine().getErr().println("pkstore report: " + json + ": " + e.getMessage());
            return 2;
        }
        String problem = ReportSchema.problem(report);
        if (problem != null) {
            spec.commandLine().getErr().println("pkstore report: " + json + ": " + problem);
            return 2;
        }
        if (html != null) {
            ReportOutput.writeHtml(text, html);
        }
        if ("ktap".equals(format)) {
            KtapReport.print(report, spec.commandLine().getOut());
        } else if ("json".equals(format)) {
            spec.commandLine().getOut().println(report.toPrettyString());
        }
        spec.commandLine().getOut().flush();
        return report.path("passed").asBoolean() ? 0 : 1;
    }
}
