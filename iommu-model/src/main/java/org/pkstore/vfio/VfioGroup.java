package org.pkstore.vfio;

import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.Errno;
import org.pkstore.iommu.HostTopology;
import org.pkstore.vfio.uapi.VfioGroupStatus;

import java.util.List;

/**
 * An IOMMU group as VFIO exposes it ({@code /dev/vfio/GROUP}): opened at most once, attached to at
 * most one container. After kexec a group may still be attached in hardware to a preserved
 * container (its devices keep translating through that container's domain) until user space puts
 * it into a new container.
 */
public final class VfioGroup {
    private final HostTopology.Group topo;
    VfioContainer container;
    boolean open;
    /** Container id the registry had for this group at boot (-1: none); dropped once re-attached. */
    int preservedContainerId = -1;

    VfioGroup(HostTopology.Group topo) {
        this.topo = topo;
    }

    public int id() { return topo.id(); }
    public int unitId() { return topo.unitId(); }
    public List<Bdf> devices() { return topo.devices(); }
    public VfioContainer container() { return container; }
    public boolean isOpen() { return open; }
    public int preservedContainerId() { return preservedContainerId; }

    /** VFIO_GROUP_GET_STATUS (argsz checked by the ioctl table). */
    int status(VfioGroupStatus arg) {
        arg.flags(VfioGroupStatus.VFIO_GROUP_FLAGS_VIABLE
                | (container != null ? VfioGroupStatus.VFIO_GROUP_FLAGS_CONTAINER_SET : 0));
        return 0;
    }

    /** VFIO_GROUP_UNSET_CONTAINER. */
    int unsetContainer() {
        if (container == null) {
            return -Errno.EINVAL;
        }
        container.detachGroupJournaled(this);
        return 0;
    }

    @Override
    public String toString() {
        return "VfioGroup[" + id() + ", unit " + unitId() + ", " + devices() + "]";
    }
}
