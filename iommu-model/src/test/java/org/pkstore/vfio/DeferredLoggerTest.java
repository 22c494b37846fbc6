package org.pkstore.vfio;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class DeferredLoggerTest {
    @Test
    void whatIsLoggedReachesThePlatformLoggerOfTheSameName() {
        System.Logger deferred = DeferredLogger.of(DeferredLoggerTest.class);
        assertEquals(DeferredLoggerTest.class.getName(), deferred.getName());
        List<LogRecord> seen = new ArrayList<>();
        Logger jul = Logger.getLogger(DeferredLoggerTest.class.getName());
        Handler capture = new Handler() {
            @Override public void publish(LogRecord r) { seen.add(r); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        jul.addHandler(capture);
        try {
            IllegalStateException failure = new IllegalStateException("boom");
            deferred.log(System.Logger.Level.ERROR, "replay failed", failure);
            deferred.log(System.Logger.Level.WARNING, "record differs");
            assertEquals(2, seen.size());
            assertEquals("replay failed", seen.get(0).getMessage());
            assertSame(failure, seen.get(0).getThrown());
            assertEquals(java.util.logging.Level.SEVERE, seen.get(0).getLevel());
            assertEquals("record differs", seen.get(1).getMessage());
            assertEquals(java.util.logging.Level.WARNING, seen.get(1).getLevel());
        } finally {
            jul.removeHandler(capture);
        }
    }
}
