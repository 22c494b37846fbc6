package org.pkstore.rehearse.protocol;

import org.junit.jupiter.api.Test;
import org.pkstore.rehearse.RehearsalPlan;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rehearsal protocol as both ends see it: one JSON line per command, one OK/ERR line per reply. */
class RehearsalProtocolTest {

    @Test
    void everyHostCommandIsOneJsonLineNamedByItsCommandMemberAndDecodesToAnEqualRecord() {
        RehearsalPlan plan = new RehearsalPlan();
        List<HostCommand<?>> all = List.of(new HostCommand.Boot(), new HostCommand.Setup(plan),
                new HostCommand.Reattach(Strategy.HOTSWAP), new HostCommand.State(), new HostCommand.Consistency(),
                new HostCommand.ChurnStart(), new HostCommand.ChurnStop(), new HostCommand.ChurnCleanup(),
                new HostCommand.FreezeAt("map:record", 3), new HostCommand.FreezeBootAt("COPIED", "dma.cmap.recovering"),
                new HostCommand.ChurnWindow(), new HostCommand.Hotswap(1), new HostCommand.Hotplug(),
                new HostCommand.HotplugState(), new HostCommand.HotplugRelease(), new HostCommand.Rebuild(),
                new HostCommand.Kexec(), new HostCommand.Quit());
        for (HostCommand<?> c : all) {
            String line = MessageCodec.encodeCommand(c);
            assertTrue(line.startsWith("{\"command\":\"" + Command.nameOf(c) + "\""), line);
            assertTrue(!line.contains("\n"), line);
            assertEquals(HostReply.class, c.replyType().getEnclosingClass(), c + " answers with a HostReply record");
            HostCommand<?> back = MessageCodec.HOST_COMMANDS.decode(line);
            assertEquals(c.getClass(), back.getClass(), line);
            if (!(c instanceof HostCommand.Setup)) {
                assertEquals(c, back, line);   // RehearsalPlan is a mutable class without equals
            }
        }
        assertEquals(HostReply.Booted.class, new HostCommand.Boot().replyType());
        assertEquals(HostReply.FreezeArmed.class, new HostCommand.FreezeAt("map:tables", 1).replyType());
        assertEquals(DeviceStats.class, new DeviceCommand.Stop().replyType());
        assertEquals(DeviceSeries.class, new DeviceCommand.Series().replyType());
        assertInstanceOf(DeviceCommand.Series.class, MessageCodec.DEVICE_COMMANDS.decode("{\"command\":\"series\"}"));
        DeviceSeries series = MessageCodec.of(DeviceSeries.class).decode(MessageCodec.of(DeviceSeries.class)
                .encode(new DeviceSeries(420.0, 100.0, new long[] {2, 0}, new long[] {10_000, 0}, new long[] {0, 1})));
        assertArrayEquals(new long[] {2, 0}, series.dmas());
        assertArrayEquals(new long[] {0, 1}, series.faults());
        assertEquals("{\"command\":\"reattach\",\"strategy\":\"hotswap\"}",
                MessageCodec.encodeCommand(new HostCommand.Reattach(Strategy.HOTSWAP)));
        assertEquals("{\"command\":\"freeze-at\",\"point\":\"map:record\",\"nth\":3}",
                MessageCodec.encodeCommand(new HostCommand.FreezeAt("map:record", 3)));
        HostCommand.Setup setup = (HostCommand.Setup) MessageCodec.HOST_COMMANDS.decode(
                MessageCodec.encodeCommand(new HostCommand.Setup(plan)));
        assertEquals(plan.largeMappings, setup.plan().largeMappings);
    }

    @Test
    void aCommandOfTheOtherFamilyAnUnknownNameOrAnUnknownMemberIsRefusedByName() {
        assertThrows(IllegalArgumentException.class,
                () -> MessageCodec.HOST_COMMANDS.decode("{\"command\":\"stats\"}"));
        assertThrows(IllegalArgumentException.class,
                () -> MessageCodec.HOST_COMMANDS.decode("{\"command\":\"reboot\"}"));
        assertThrows(IllegalArgumentException.class,
                () -> MessageCodec.HOST_COMMANDS.decode("{\"command\":\"reattach\",\"strategy\":\"rebuild\"}"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MessageCodec.HOST_COMMANDS.decode("{\"command\":\"freeze-at\",\"point\":\"x\",\"nth\":1,\"n\":2}"));
        assertTrue(e.getMessage().startsWith("not a HostCommand"), e.getMessage());
        assertInstanceOf(DeviceCommand.Stop.class, MessageCodec.DEVICE_COMMANDS.decode("{\"command\":\"stop\"}"));
    }

    @Test
    void repliesKeepTheReportShapeAMapReplyIsAFlatObjectAndAnAbsentHotswapIsLeftOut() {
        Map<String, HostReply.ContainerConsistency> m = new LinkedHashMap<>();
        m.put("container0", new HostReply.ContainerConsistency(3, 12288, 12288, 0, true, null));
        m.put("container1", new HostReply.ContainerConsistency(1, 4096, 8192, 1, false, "record iova 0x0 differs at 0x0"));
        HostReply.Consistency cons = new HostReply.Consistency(m);
        String json = MessageCodec.of(HostReply.Consistency.class).encode(cons);
        assertEquals("{\"container0\":{\"records\":3,\"recordBytes\":12288,\"mappedBytes\":12288,"
                + "\"inconsistentRecords\":0,\"consistent\":true},\"container1\":{\"records\":1,\"recordBytes\":4096,"
                + "\"mappedBytes\":8192,\"inconsistentRecords\":1,\"consistent\":false,"
                + "\"first\":\"record iova 0x0 differs at 0x0\"}}", json);
        HostReply.Consistency back = MessageCodec.of(HostReply.Consistency.class).decode(json);
        assertEquals(cons, back);
        assertTrue(!back.allConsistent());

        HostReply.Reattached adopt = new HostReply.Reattached(List.of(), 0, 0, 1, null, null);
        String a = MessageCodec.of(HostReply.Reattached.class).encode(adopt);
        assertEquals("{\"containers\":[],\"descriptorWritesAttach\":0,\"descriptorWritesReestablish\":0,"
                + "\"faultsDelivered\":1}", a);
        assertNull(MessageCodec.of(HostReply.Reattached.class).decode(a).hotswap());
        assertEquals("{}", MessageCodec.of(HostReply.Closed.class).encode(new HostReply.Closed()));
    }

    @Test
    void theCommandLoopAnswersEachLineOkOrErrGoesOnAfterAnErrorAndStopsAfterASessionEndingCommand() throws Exception {
        long[] count = {0};
        CommandLoop<DeviceCommand<?>> loop = new CommandLoop<>(MessageCodec.DEVICE_COMMANDS)
                .on(DeviceCommand.Stats.class, c -> stats(++count[0]))
                .on(DeviceCommand.Stop.class, c -> stats(99));
        String in = "{\"command\":\"stats\"}\n{\"command\":\"window\"}\nnot json\n{\"command\":\"stop\"}\n"
                + "{\"command\":\"stats\"}\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DeviceCommand<?> last = loop.serve(new BufferedReader(new StringReader(in)),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertInstanceOf(DeviceCommand.Stop.class, last);
        String[] replies = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(4, replies.length, String.join("\n", replies));
        assertEquals(1, ReplyLine.decode(MessageCodec.of(DeviceStats.class), replies[0]).translations());
        assertEquals("ERR no handler for window", replies[1]);
        assertTrue(replies[2].startsWith("ERR not a DeviceCommand"), replies[2]);
        assertEquals(99, ReplyLine.decode(MessageCodec.of(DeviceStats.class), replies[3]).translations());
        assertEquals(1, count[0], "the loop ended at stop: the last stats was not run");
    }

    @Test
    void everyCommandRecordsBareNameIsItsJsonTypeName() {
        for (Class<?> family : List.of(HostCommand.class, DeviceCommand.class)) {
            for (com.fasterxml.jackson.annotation.JsonSubTypes.Type t
                    : family.getAnnotation(com.fasterxml.jackson.annotation.JsonSubTypes.class).value()) {
                assertEquals(t.value().getAnnotation(com.fasterxml.jackson.annotation.JsonTypeName.class).value(),
                        CommandLoop.bareName(t.value()), t.value().getName());
            }
        }
    }

    @Test
    void aLoopWithALazyCodecReadsBareCommandsWithoutItAndMakesItForTheFirstCommandWithMembers() throws Exception {
        int[] made = {0};
        CommandLoop<HostCommand<?>> loop = new CommandLoop<HostCommand<?>>(HostCommand.class, () -> {
            made[0]++;
            return MessageCodec.HOST_COMMANDS;
        })
                .on(HostCommand.State.class, c -> {
                    assertEquals(0, made[0], "a bare command was read without the codec");
                    return null;
                })
                .on(HostCommand.Hotswap.class, c -> new HostReply.HotswapDone(null))
                .on(HostCommand.Quit.class, c -> new HostReply.Closed());
        String in = "{\"command\":\"state\"}\n{\"command\":\"hotswap\",\"container\":1}\n{ \"command\" : \"quit\" }\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        HostCommand<?> last = loop.serve(new BufferedReader(new StringReader(in)), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertInstanceOf(HostCommand.Quit.class, last);
        assertEquals(1, made[0], "the codec was made once, for the command with a member");
        String[] replies = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(3, replies.length, String.join("\n", replies));
        for (String r : replies) {
            assertTrue(ReplyLine.isOk(r), r);
        }
    }

    private static DeviceStats stats(long translations) {
        return new DeviceStats(translations, 0, 0, 0, 0, 0, null, 0, 0, 0, 0);
    }
}
