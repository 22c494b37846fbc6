package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.report.KexecTimeline;
import org.pkstore.vfio.trace.KexecKind;

import java.util.List;

/**
 * One kexec of a rehearsal as the report gives it ({@code "kexecs"} array of the {@code --json}
 * report, docs/REPORT.md): absent members did not apply (a planned kexec has a handover, a crash
 * kexec a kill point, recovery's descriptor writes and a churn cleanup; a hotswap its per-domain
 * results) or were not reached (a rehearsal that stopped inside this kexec). {@code atMs} and
 * {@code killAtMs} are on the rehearsal's clock; the {@code timeline} counts from {@code atMs}.
 * {@code blackoutMs} is the VM's blackout: {@code atMs} until the VMM resumed (every domain attached,
 * every live-update MAP_DMA accepted), less the rehearsal's own checking in between;
 * {@code quietMaxGapMicros} the device's longest DMA gap in the window just before this kexec, when
 * no kexec ran ({@link Rehearsal#quietWindowMillis()} long), to set beside {@code resumeMaxGapMicros}, the longest gap from the kexec's start
 * until the VMM resumed (read from the device right after the reattach; {@code device.windowMaxGapMicros}
 * also covers the rehearsal's own checks after the resume). After a crash, {@code recoveryKills}
 * are the recovering boots SIGKILLed before the one that recovered (recovery kill points),
 * {@code recoveryMs} that boot's mount and kernel boot, {@code verifyExit} {@code pkstore verify}'s
 * exit status on the recovered mount.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KexecPhase(@JsonSerialize(using = LowerCaseName.class) KexecKind kind, Strategy strategy,
                         Double atMs, Double killAtMs, String killPoint, List<KexecTimeline.Phase> timeline,
                         HostReply.HandedOver handover, Double jvmStartMs, Long hostUptimeAtReadyMs,
                         HostReply.Booted boot, Double bootMs, Long recoveryDescriptorWrites,
                         HostReply.Reattached reattach, Double downToUsableMs, List<HostReply.Hotswap> hotswap,
                         HostReply.ChurnCleanedUp churnCleanup, DeviceStats device,
                         /* kexec start to device window read, ms */ @JsonProperty("t") Double totalMs,
                         Double blackoutMs, Long quietMaxGapMicros, Long resumeMaxGapMicros, Boolean classDataArchive,
                         List<RecoveryKill> recoveryKills, Double recoveryMs, Integer verifyExit,
                         HostReply.CaughtUp catchUp) {}
