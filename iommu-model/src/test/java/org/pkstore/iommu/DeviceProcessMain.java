package org.pkstore.iommu;

import java.nio.file.Path;

/**
 * A simulated device in its own JVM: opens a unit's .hw file read-only and prints what the IOMMU
 * would use for one BDF: {@code present root vmid format nested pasid...}.
 */
public final class DeviceProcessMain {
    private DeviceProcessMain() {}

    public static void main(String[] args) {
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(Path.of(args[0]))) {
            DeviceTableReader.DeviceView v = r.view(Bdf.parse(args[1]));
            StringBuilder sb = new StringBuilder();
            sb.append(v.present()).append(' ').append(Long.toHexString(v.stage2RootPa())).append(' ').append(v.vmid())
                    .append(' ').append(v.formatId()).append(' ').append(v.nested());
            for (BoundPasidEntry e : v.boundPasids()) {
                sb.append(' ').append(e.pasid()).append(':').append(Long.toHexString(e.gpgd()));
            }
            System.out.println(sb);
        }
    }
}
