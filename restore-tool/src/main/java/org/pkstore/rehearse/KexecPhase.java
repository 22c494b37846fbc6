package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import org.pkstore.rehearse.protocol.DeviceStats;
import org.pkstore.rehearse.protocol.HostReply;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.vfio.trace.KexecKind;

import java.util.List;

/**
 * One kexec of a rehearsal as the report gives it ({@code "kexecs"} array of the {@code --json}
 * report): absent members did not apply (a planned kexec has a handover, a crash kexec a kill point,
 * recovery's descriptor writes and a churn cleanup; a hotswap its per-domain results).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KexecPhase(@JsonSerialize(using = LowerCaseName.class) KexecKind kind, Strategy strategy,
                         HostReply.HandedOver handover, String killPoint, double jvmStartMs, long hostUptimeAtReadyMs,
                         HostReply.Booted boot, double bootMs, Long recoveryDescriptorWrites,
                         HostReply.Reattached reattach, double downToUsableMs, List<HostReply.Hotswap> hotswap,
                         HostReply.ChurnCleanedUp churnCleanup, DeviceStats device,
                         /* kexec start to device window read, ms */ @JsonProperty("t") double totalMs) {}
