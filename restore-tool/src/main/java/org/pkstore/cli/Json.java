package org.pkstore.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * JSON output (docs/CLI.md describes every shape): pretty-printed, one document per command on
 * stdout, null fields left out. Addresses are strings "0x..." (a JSON number cannot hold every
 * 64-bit value exactly); sizes and counts are numbers.
 */
final class Json {
    private Json() {}

    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    static void write(PrintWriter out, Object value) {
        try {
            MAPPER.writeValue(new NonClosingWriter(out), value);
            out.println();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A streaming generator over {@code out} for outputs too large to build as a tree (walk). */
    static JsonGenerator generator(PrintWriter out) {
        try {
            JsonGenerator g = new JsonFactory().createGenerator(new NonClosingWriter(out));
            g.useDefaultPrettyPrinter();
            g.setCodec(MAPPER);
            return g;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Jackson closes the writer it is given when done; the command's writer must stay open. */
    private static final class NonClosingWriter extends java.io.Writer {
        private final PrintWriter out;

        NonClosingWriter(PrintWriter out) {
            this.out = out;
        }

        @Override public void write(char[] cbuf, int off, int len) { out.write(cbuf, off, len); }
        @Override public void write(String s, int off, int len) { out.write(s, off, len); }
        @Override public void flush() { out.flush(); }
        @Override public void close() { out.flush(); }
    }
}
