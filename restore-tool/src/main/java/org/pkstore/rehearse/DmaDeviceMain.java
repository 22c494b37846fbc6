package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.rehearse.protocol.CommandLoop;
import org.pkstore.rehearse.protocol.DeviceCommand;
import org.pkstore.rehearse.protocol.MessageCodec;
import org.pkstore.rehearse.protocol.ReplyLine;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of the device JVM: {@code DmaDeviceMain MOUNT TARGETS_FILE}. TARGETS_FILE has one
 * target a line, {@code BDF IOVA} (IOVA in hex), or {@code BDF VA pasid=N} for DMA tagged with PASID N
 * at the guest's virtual address VA (nested translation). {@link DeviceCommand}s on stdin, one reply line
 * each: {@link org.pkstore.rehearse.protocol.DeviceStats} for {@code stats}, {@code window} (then a
 * new gap window) and {@code stop} (final check, exit); {@link org.pkstore.rehearse.protocol.DeviceSeries}
 * for {@code series} (DMAs and gaps per interval, {@link DmaSeries}).
 */
public final class DmaDeviceMain {
    /** Third word of a PASID target line: {@code BDF VA pasid=N}. */
    static final String PASID_PREFIX = "pasid=";

    private DmaDeviceMain() {}

    public static void main(String[] args) throws Exception {
        Path mount = Path.of(args[0]);
        List<DmaDevice.Target> untagged = new ArrayList<>();
        List<DmaDevice.Target> tagged = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            String[] words = line.trim().split("\\s+");
            if (words.length == 2) {
                untagged.add(new DmaDevice.Target(Bdf.parse(words[0]), Long.decode(words[1])));
            } else if (words.length == 3 && words[2].startsWith(PASID_PREFIX)) {
                tagged.add(new DmaDevice.Target(Bdf.parse(words[0]), Long.decode(words[1]),
                        Integer.parseInt(words[2].substring(PASID_PREFIX.length()))));
            }
        }
        // the device takes untagged and PASID targets in turn (DmaDevice.run)
        List<DmaDevice.Target> targets = new ArrayList<>(untagged);
        targets.addAll(tagged);
        DmaDevice device = new DmaDevice(mount, targets);
        Thread dma = new Thread(device::run, "dma");
        dma.setDaemon(true);
        dma.start();
        CommandLoop<DeviceCommand<?>> commands = new CommandLoop<>(MessageCodec.DEVICE_COMMANDS)
                .on(DeviceCommand.Stats.class, c -> device.stats(false))
                .on(DeviceCommand.Window.class, c -> device.stats(true))
                .on(DeviceCommand.Series.class, c -> device.series())
                .on(DeviceCommand.Stop.class, c -> {
                    device.stop();
                    dma.join(10_000);
                    return device.finalCheck();
                });
        System.out.println(ReplyLine.READY + " " + ProcessHandle.current().pid());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (commands.serve(in, System.out) != null) {
            device.close();
        } else {
            device.stop();
        }
    }
}
