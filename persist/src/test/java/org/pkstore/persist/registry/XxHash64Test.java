package org.pkstore.persist.registry;

import net.openhft.chronicle.algo.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The header checksum computed here is Chronicle's {@code xx_r39}, for every length class and offset. */
class XxHash64Test {
    @Test
    void agreesWithChronicleXxR39() {
        Random random = new Random(39);
        ByteBuffer b = ByteBuffer.allocate(5000).order(ByteOrder.LITTLE_ENDIAN);
        random.nextBytes(b.array());
        for (int length = 0; length <= 300; length++) {
            for (int offset : new int[] {0, 3, 8}) {
                assertEquals(LongHashFunction.xx_r39().hashBytes(b, offset, length), XxHash64.hash(b, offset, length),
                        "length " + length + " offset " + offset);
            }
        }
        assertEquals(LongHashFunction.xx_r39().hashBytes(b, 8, 4992), XxHash64.hash(b, 8, 4992));
        assertEquals(0xEF46DB3751D8E999L, XxHash64.hash(ByteBuffer.allocate(0), 0, 0), "xxh64 of nothing, seed 0");
    }
}
