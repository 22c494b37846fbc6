package org.pkstore.rehearse.protocol;

/**
 * The framing of a reply: {@code OK <reply record as JSON>} or {@code ERR <reason on one line>}.
 * Before any reply a child prints one {@code READY <pid> [<System.nanoTime>]} line (a host gives the
 * time: the driver's clock is the same CLOCK_MONOTONIC).
 */
public final class ReplyLine {
    private ReplyLine() {}

    public static final String OK = "OK ";
    public static final String ERR = "ERR ";
    public static final String READY = "READY";

    public static <R> String ok(MessageCodec<R> codec, R reply) {
        return OK + codec.encode(reply);
    }

    public static String err(Throwable failure) {
        String m = failure.getMessage();
        return ERR + (m == null ? failure.getClass().getName() : m.replace('\n', ' ').replace('\r', ' '));
    }

    public static boolean isOk(String line) {
        return line.startsWith(OK);
    }

    /** The reply record of an {@code OK} line. */
    public static <R> R decode(MessageCodec<R> codec, String line) {
        return codec.decode(line.substring(OK.length()));
    }
}
