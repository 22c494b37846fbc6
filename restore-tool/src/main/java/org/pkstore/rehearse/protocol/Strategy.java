package org.pkstore.rehearse.protocol;

import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/** How a host restores a domain after a kexec. Written as its lower-case name ("adopt", "hotswap"). */
public enum Strategy {
    /** Adopt the preserved pkernfs tables as they are: nothing written. */
    ADOPT,
    /** Adopt, then switch every domain to freshly built tables (org.pkstore.vfio.DomainHotswap). */
    HOTSWAP;

    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return wireName();
    }
}
