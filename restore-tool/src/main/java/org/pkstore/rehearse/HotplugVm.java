package org.pkstore.rehearse;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.ContainerRecord;
import org.pkstore.persist.registry.DomainRecord;
import org.pkstore.persist.registry.GroupRecord;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.vfio.VfioClient;
import org.pkstore.vfio.VfioKernel;
import org.pkstore.vfio.uapi.VfioUapi;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the setup kill points hit: a further VM the host attaches while the VMM's VM runs (its own
 * container on {@code hotplug.pt}, group 3 set, SET_IOMMU, then group 4 into the attached domain,
 * so that GROUP_SET_CONTAINER attaches devices to a live domain). Each step that returned is
 * acknowledged with one unbuffered line in {@link WorkDirectory#HOTPLUG_ACKS} before the next
 * starts, so a SIGKILL leaves exactly the acknowledged steps on disk for the driver to check. The
 * VMM does not remember this VM: after a kexec it is reclaimed and released ({@link #release}).
 */
final class HotplugVm {
    static final String PGTABLE_FILE = "hotplug";
    static final int FIRST_GROUP = 3;
    static final int SECOND_GROUP = 4;
    static final Bdf FIRST_DEVICE = Bdf.parse("00:03.0");
    static final Bdf SECOND_DEVICE = Bdf.parse("00:04.0");

    private final VfioKernel kernel;
    private final VfioClient client;
    private final Path work;

    HotplugVm(VfioKernel kernel, VfioClient client, Path work) {
        this.kernel = kernel;
        this.client = client;
        this.work = work;
    }

    /** The steps, each acknowledged; a kill point armed in SET_IOMMU or GROUP_SET_CONTAINER freezes inside one. */
    HostReply.HotplugDone attach() throws IOException {
        List<String> steps = new ArrayList<>();
        try (FileOutputStream acks = new FileOutputStream(work.resolve(WorkDirectory.HOTPLUG_ACKS).toFile(), false)) {
            int cfd = client.openContainer();
            GuestVmm.check("open container", cfd);
            int pfd = client.openPageTableFile(PGTABLE_FILE, true);
            GuestVmm.check("open " + PGTABLE_FILE, pfd);
            GuestVmm.check("SET_PERSISTENT_PGTABLES", client.setPersistentPgtables(cfd, pfd));
            ack(acks, steps, "pgtables");
            int g3 = client.openGroup(FIRST_GROUP);
            GuestVmm.check("open group " + FIRST_GROUP, g3);
            GuestVmm.check("GROUP_SET_CONTAINER " + FIRST_GROUP, client.setContainer(g3, cfd));
            ack(acks, steps, "group " + FIRST_GROUP);
            GuestVmm.check("SET_IOMMU", client.setIommu(cfd, VfioUapi.VFIO_TYPE1v2_IOMMU));
            ack(acks, steps, "setiommu");
            int g4 = client.openGroup(SECOND_GROUP);
            GuestVmm.check("open group " + SECOND_GROUP, g4);
            GuestVmm.check("GROUP_SET_CONTAINER " + SECOND_GROUP, client.setContainer(g4, cfd));
            ack(acks, steps, "group " + SECOND_GROUP);
            // no kill point stopped it: the VM goes away again (last group out frees the domain)
            GuestVmm.check("close group " + SECOND_GROUP, client.close(g4));
            GuestVmm.check("close group " + FIRST_GROUP, client.close(g3));
            GuestVmm.check("close container", client.close(cfd));
            GuestVmm.check("close " + PGTABLE_FILE, client.close(pfd));
            ack(acks, steps, "released");
        }
        return new HostReply.HotplugDone(steps);
    }

    private static void ack(FileOutputStream acks, List<String> steps, String step) throws IOException {
        acks.write((step + "\n").getBytes(StandardCharsets.UTF_8));
        steps.add(step);
    }

    /** Read after a boot, before anything reclaims it: see {@link HostReply.HotplugState}. */
    HostReply.HotplugState state() {
        Integer container = null;
        long domainId = 0;
        for (ContainerRecord c : kernel.preservedContainers().values()) {
            if (c.pgtableFile().equals(PGTABLE_FILE)) {
                container = c.containerId();
                domainId = c.domainId();
            }
        }
        DomainRecord domain = null;
        for (DomainRecord d : kernel.mount().registries().domains.values()) {
            if (container != null && d.containerId() == container) {
                domain = d;
            }
        }
        GroupRecord g3 = kernel.mount().registries().groups.get(FIRST_GROUP);
        GroupRecord g4 = kernel.mount().registries().groups.get(SECOND_GROUP);
        DeviceEntry d3 = kernel.unit(0).deviceTable().lookup(FIRST_DEVICE);
        DeviceEntry d4 = kernel.unit(0).deviceTable().lookup(SECOND_DEVICE);
        StringBuilder detail = new StringBuilder();
        detail.append("container ").append(container).append(" domain ").append(domainId)
                .append(domain == null ? " (no record)" : " (record vmid " + domain.vmid() + ")");
        for (DeviceEntry e : new DeviceEntry[] {d3, d4}) {
            detail.append(e == d3 ? "; 00:03.0 " : "; 00:04.0 ");
            detail.append(e.present() ? "present did " + e.did() + " root 0x" + Long.toHexString(e.stage2RootPa())
                    : "absent");
        }
        if (domain != null) {
            PageTableFile f = kernel.mount().openTableFile(kernel.mount().pageTablePath(PGTABLE_FILE));
            detail.append("; file root 0x").append(Long.toHexString(f.rootPa()));
        }
        return new HostReply.HotplugState(container, domain != null, g3 == null ? null : g3.containerId(),
                g4 == null ? null : g4.containerId(), d3.present(), d4.present(), detail.toString());
    }

    /**
     * Reclaims the preserved container on {@code hotplug.pt} (SET_PERSISTENT_PGTABLES), puts back
     * the groups recorded in it, adopts its domain (SET_IOMMU) and closes everything: the domain,
     * its device-table entries, VMID and records go. Nothing to do when the file was never created.
     */
    HostReply.HotplugReleased release() {
        Integer preserved = null;
        for (ContainerRecord c : kernel.preservedContainers().values()) {
            if (c.pgtableFile().equals(PGTABLE_FILE)) {
                preserved = c.containerId();
            }
        }
        int pfd = client.openPageTableFile(PGTABLE_FILE, false);
        if (pfd < 0) {
            return new HostReply.HotplugReleased(false);
        }
        int cfd = client.openContainer();
        GuestVmm.check("open container", cfd);
        GuestVmm.check("SET_PERSISTENT_PGTABLES", client.setPersistentPgtables(cfd, pfd));
        List<Integer> groupFds = new ArrayList<>();
        for (int group : new int[] {FIRST_GROUP, SECOND_GROUP}) {
            GroupRecord r = kernel.mount().registries().groups.get(group);
            if (preserved != null && r != null && r.containerId() == preserved) {
                int gfd = client.openGroup(group);
                GuestVmm.check("open group " + group, gfd);
                GuestVmm.check("GROUP_SET_CONTAINER " + group, client.setContainer(gfd, cfd));
                groupFds.add(gfd);
            }
        }
        if (!groupFds.isEmpty()) {
            GuestVmm.check("SET_IOMMU", client.setIommu(cfd, VfioUapi.VFIO_TYPE1v2_IOMMU));
        }
        for (int gfd : groupFds) {
            GuestVmm.check("close group", client.close(gfd));
        }
        GuestVmm.check("close container", client.close(cfd));
        GuestVmm.check("close " + PGTABLE_FILE, client.close(pfd));
        return new HostReply.HotplugReleased(preserved != null);
    }
}
