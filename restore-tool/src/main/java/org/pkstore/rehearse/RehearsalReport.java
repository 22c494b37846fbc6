package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import org.pkstore.iommu.IommuDriver;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;

import java.util.List;
import java.util.Map;

/**
 * What {@code pkstore rehearse --json} prints, member for member (docs/LIVE-UPDATE.md). A rehearsal
 * that stopped early leaves out what it did not reach. {@code reattachVersusRebuild} is keyed by
 * page-table file.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RehearsalReport(String workDir, String mount, @JsonSerialize(using = LowerCaseName.class) IommuDriver driver,
                              long seed, List<KexecPhase> kexecs, StrategyOption strategy, RehearsalPlan plan,
                              String java, HostReply.Booted firstBoot, HostReply.SetUp setup,
                              HostReply.HostState initialState, HostReply.Rebuilt replayRebuild,
                              Map<String, ReattachVersusRebuild> reattachVersusRebuild, DeviceStats device,
                              List<Check> checks, boolean passed) {}
