package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import org.pkstore.cli.MountDomains;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;

import java.util.List;
import java.util.Map;

/**
 * What {@code pkstore rehearse --json} prints, member for member and in this order (docs/REPORT.md;
 * the JSON Schema in the jar, {@link org.pkstore.report.ReportSchema}, rejects any other member).
 * A rehearsal that stopped early leaves out what it did not reach and says why in {@code aborted}.
 * {@code reattachVersusRebuild} is keyed by page-table file; {@code cpus} says which CPUs the device
 * JVM and the host JVMs (with the VMM) and the rehearsal itself ran on ({@link CpuPinning}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RehearsalReport(int schemaVersion, String startedAt, String workDir, String mount,
                              @JsonSerialize(using = LowerCaseName.class) IommuDriver driver,
                              long seed, List<KexecPhase> kexecs, StrategyOption strategy, List<String> killPoints,
                              RehearsalPlan plan, String java, CpuPinning cpus, HostReply.Booted firstBoot, HostReply.SetUp setup,
                              HostReply.HostState initialState, HostReply.Rebuilt replayRebuild,
                              Map<String, ReattachVersusRebuild> reattachVersusRebuild,
                              DeviceSeriesReport deviceSeries, DeviceStats device, List<MountDomains.Domain> domains,
                              List<Check> checks, boolean passed, String aborted) {}
