package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One SIGKILL of a recovering boot ({@code recovery:} kill points): where it was aimed
 * ({@code point}, and for a registry step the registry {@code file}), whether the boot got there
 * ({@code reached}; false: the boot completed first and was killed after it, before any reattach),
 * and how long after the boot command the kill came ({@code afterMs}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RecoveryKill(String point, String file, boolean reached, double afterMs) {}
