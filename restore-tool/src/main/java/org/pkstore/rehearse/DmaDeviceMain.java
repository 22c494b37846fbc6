package org.pkstore.rehearse;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.pkstore.iommu.Bdf;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of the device JVM: {@code DmaDeviceMain MOUNT TARGETS_FILE}. TARGETS_FILE has one
 * target a line, {@code BDF IOVA} (IOVA in hex). Commands on stdin, one JSON reply line each:
 * {@code stats}, {@code window} (stats, then a new gap window), {@code series} (DMAs and gaps per
 * interval, {@link DmaSeries}), {@code stop} (final check, exit).
 */
public final class DmaDeviceMain {
    private DmaDeviceMain() {}

    public static void main(String[] args) throws Exception {
        Path mount = Path.of(args[0]);
        List<DmaDevice.Target> targets = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 2) {
                targets.add(new DmaDevice.Target(Bdf.parse(w[0]), Long.decode(w[1])));
            }
        }
        DmaDevice device = new DmaDevice(mount, targets);
        Thread dma = new Thread(device::run, "dma");
        dma.setDaemon(true);
        dma.start();
        ObjectMapper json = new ObjectMapper();
        System.out.println("READY " + ProcessHandle.current().pid());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String cmd;
        while ((cmd = in.readLine()) != null) {
            switch (cmd.trim()) {
                case "stats":
                    System.out.println("OK " + json.writeValueAsString(device.stats(false)));
                    break;
                case "series":
                    System.out.println("OK " + json.writeValueAsString(device.series()));
                    break;
                case "window":
                    System.out.println("OK " + json.writeValueAsString(device.stats(true)));
                    break;
                case "stop":
                    device.stop();
                    dma.join(10_000);
                    System.out.println("OK " + json.writeValueAsString(device.finalCheck()));
                    System.out.flush();
                    device.close();
                    return;
                default:
                    System.out.println("ERR unknown command " + cmd);
            }
            System.out.flush();
        }
        device.stop();
    }
}
