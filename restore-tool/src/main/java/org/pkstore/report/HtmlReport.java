package org.pkstore.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * The report as one self-contained HTML page: the template ({@code page/report.html}) with the
 * stylesheet, Chart.js, its annotation plugin, the page's own script and the JSON report inlined, so
 * that the file opens with no network. The page draws everything from the embedded JSON
 * (docs/REPORT.md); nothing here reads the report's fields.
 */
public final class HtmlReport {
    private static final String PAGE = "/org/pkstore/report/page/";

    private HtmlReport() {}

    public static String render(JsonNode report) {
        Properties libs = new Properties();
        try (InputStream in = HtmlReport.class.getResourceAsStream("/org/pkstore/report/page-libraries.properties")) {
            if (in == null) {
                throw new IllegalStateException("page-libraries.properties missing from the jar");
            }
            libs.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String page = resource(PAGE + "report.html");
        page = replaceOnce(page, "/*@STYLE@*/", resource(PAGE + "report.css"));
        page = replaceOnce(page, "/*@CHARTJS@*/", script(resource(libs.getProperty("chartjs"))));
        page = replaceOnce(page, "/*@ANNOTATION@*/", script(resource(libs.getProperty("annotation"))));
        page = replaceOnce(page, "/*@PAGE@*/", script(resource(PAGE + "report.js")));
        page = replaceOnce(page, "@LIBRARIES@", libs.getProperty("versions"));
        page = replaceOnce(page, "/*@DATA@*/", jsonForScript(report.toString()));
        return page;
    }

    /** JSON inside a script element: no '<', so no "</script>" can end it early ("\u003c" is the same JSON). */
    static String jsonForScript(String json) {
        return json.replace("<", "\\u003c");
    }

    /** A library inside a script element; "</script" appears only in its strings, where "<\/" is the same. */
    private static String script(String js) {
        return js.replace("</script", "<\\/script");
    }

    private static String replaceOnce(String page, String marker, String content) {
        int at = page.indexOf(marker);
        if (at < 0 || page.indexOf(marker, at + 1) >= 0) {
            throw new IllegalStateException("the page template must hold " + marker + " exactly once");
        }
        return page.substring(0, at) + content + page.substring(at + marker.length());
    }

    private static String resource(String path) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
