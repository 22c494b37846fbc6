package org.pkstore.rehearse;

import com.fasterxml.jackson.annotation.JsonValue;
import org.pkstore.rehearse.protocol.Strategy;
import org.pkstore.vfio.trace.KexecKind;

import java.util.Locale;
import java.util.Optional;

/** {@code pkstore rehearse --strategy}: one {@link Strategy} for every kexec, or a comparison of both. */
public enum StrategyOption {
    ADOPT,
    HOTSWAP,
    /** Planned kexecs alternate adopt and hotswap; crash kexecs adopt. */
    COMPARE;

    /** The strategy of a kexec of {@code kind}, after {@code plannedSoFar} planned kexecs. */
    public Strategy forKexec(KexecKind kind, int plannedSoFar) {
        return switch (this) {
            case ADOPT -> Strategy.ADOPT;
            case HOTSWAP -> Strategy.HOTSWAP;
            case COMPARE -> kind == KexecKind.PLANNED && plannedSoFar % 2 == 1 ? Strategy.HOTSWAP : Strategy.ADOPT;
        };
    }

    @JsonValue
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return optionName();
    }

    public static Optional<StrategyOption> byOptionName(String name) {
        for (StrategyOption s : values()) {
            if (s.optionName().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
