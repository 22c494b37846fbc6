package org.pkstore.iommu;

import org.pkstore.iommu.pgtable.ArmLpaeS2Format;
import org.pkstore.iommu.pgtable.PageTableFormat;
import org.pkstore.iommu.pgtable.VtdSecondStageFormat;

/** The hardware an {@link IommuUnit} is, which fixes its device-table layout and stage-2 format. */
public enum IommuDriver {
    /** Intel VT-d: root/context tables, second-level page tables. */
    VTD("vtd", VtdSecondStageFormat.INSTANCE),
    /** Arm SMMUv3: linear stream table of STEs, LPAE stage-2 page tables. */
    SMMUV3("smmuv3", ArmLpaeS2Format.INSTANCE);

    private final String configName;
    private final PageTableFormat stage2Format;

    IommuDriver(String configName, PageTableFormat stage2Format) {
        this.configName = configName;
        this.stage2Format = stage2Format;
    }

    /** The name in a {@link HostTopology} config: "vtd" or "smmuv3". */
    public String configName() { return configName; }

    public PageTableFormat stage2Format() { return stage2Format; }

    public static IommuDriver byConfigName(String name) {
        for (IommuDriver d : values()) {
            if (d.configName.equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown IOMMU driver \"" + name + "\" (vtd or smmuv3)");
    }
}
