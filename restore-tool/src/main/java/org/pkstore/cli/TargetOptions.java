package org.pkstore.cli;

import picocli.CommandLine.Option;

/**
 * The options that name the tables {@code walk} and {@code translate} read, declared once and
 * mixed into both ({@code @Mixin}): {@code --domain}, {@code --device}, {@code --unit},
 * {@code --pasid}. {@link #resolve} hands them to {@link Target}, which checks that they agree.
 */
final class TargetOptions {
    @Option(names = "--domain", paramLabel = "D", description = "Domain id (registry) or page-table file name (pgtables/NAME.pt).")
    String domain;

    @Option(names = "--device", paramLabel = "BDF",
            description = "This device's DMA: from the stage-2 root its device-table entry gives ([SSSS:]BB:DD.F).")
    String device;

    @Option(names = "--unit", paramLabel = "N", description = "IOMMU unit of --device, when several units have an entry for it.")
    Integer unit;

    @Option(names = "--pasid", paramLabel = "P",
            description = "DMA tagged with PASID P: bound on --device if given, else the domain of the container owning P.")
    Integer pasid;

    /** The tables these options name in {@code mount}; a CliException (exit 2) when they name none or disagree. */
    Target resolve(MountView mount) {
        return Target.resolve(mount, domain, device, unit, pasid);
    }
}
