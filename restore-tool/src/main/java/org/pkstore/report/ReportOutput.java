package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The report's outputs besides text, each made from the JSON document only. */
public final class ReportOutput {
    public static final List<String> FORMATS = List.of("text", "json", "ktap");
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReportOutput() {}

    public static void printKtap(String reportJson, PrintWriter out) {
        KtapReport.print(parse(reportJson), out);
    }

    public static void writeHtml(String reportJson, Path file) {
        String page = HtmlReport.render(parse(reportJson));
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, page, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static JsonNode parse(String reportJson) {
        try {
            return JSON.readTree(reportJson);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON document: " + e.getMessage(), e);
        }
    }
}
