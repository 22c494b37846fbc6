package org.pkstore.report;

import org.pkstore.rehearse.protocol.HostReply;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KexecTimelineTest {
    private static final long MS = 1_000_000L;

    @Test
    void aChildsStampCountsOnlyInsideTheSpanItBelongsTo() {
        assertEquals(150, KexecTimeline.clampedNanos(150L, 100, 200));
        assertEquals(200, KexecTimeline.clampedNanos(null, 100, 200));
        assertEquals(200, KexecTimeline.clampedNanos(99L, 100, 200));
        assertEquals(200, KexecTimeline.clampedNanos(201L, 100, 200));
    }

    /** The kexec command's way to the host and its reply's way back are the protocol: outside the blackout. */
    @Test
    void theBlackoutRunsFromTheQuiesceLessTheProtocolAroundTheHandover() {
        long t0 = 1_000 * MS;
        HostReply.HandedOver h = new HostReply.HandedOver(3, 4, 1.0, 2.0, 17.0, t0 + 5 * MS, t0 + 25 * MS);
        KexecTimeline t = new KexecTimeline(t0);
        t.span("harnessCommand", "kexec command delivered", KexecTimeline.HARNESS, t0, h.quiesceStartNanos());
        t.within(h.quiesceStartNanos(), h.frozenAtNanos(), KexecTimeline.handoverParts(h), "handoverOther", "other");
        t.span("harnessCommand", "reply read", KexecTimeline.HARNESS, h.frozenAtNanos(), t0 + 32 * MS);
        t.span("oldHostExit", "old host exit", KexecTimeline.LIVE_UPDATE, t0 + 32 * MS, t0 + 40 * MS);
        // 5 ms delivery and 7 ms reply are harness; quiesce 1 + serialise 2 + freeze 17 = 20 ms, exit 8 ms
        assertEquals(28.0, t.blackoutMs(), 1e-9);
    }
}
