package org.pkstore.persist.registry;

import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The geometry fields are found as the regex {@code \bNAME: (\d+)} found them (last match wins). */
class ChronicleMapFileHeaderFieldTest {
    private static long byRegex(String text, String name) {
        Matcher m = Pattern.compile("\\b" + name + ": (\\d+)").matcher(text);
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(1));
        }
        return v;
    }

    @Test
    void findsWhatTheRegexFound() {
        String[] texts = {
            "", "tierSize: ", "tierSize: x", "tierSize: 12", "xtierSize: 12", "_tierSize: 5", " tierSize: 7,\n tierSize: 9",
            "actualSegments: 4,\n segmentHeaderSize: 64,\n tierSize: 1048576,\n", "tierSize: 3 tierSize: nope", "!tierSize: 42",
            "segmentHeaderSize: 8 actualSegments: 2 actualSegments:3", "tierSize: 0012"
        };
        for (String t : texts) {
            for (String name : new String[] {"actualSegments", "segmentHeaderSize", "tierSize"}) {
                assertEquals(byRegex(t, name), ChronicleMapFileHeader.field(t, name), name + " in \"" + t + "\"");
            }
        }
    }
}
