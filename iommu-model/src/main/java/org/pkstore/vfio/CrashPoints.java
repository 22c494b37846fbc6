package org.pkstore.vfio;

/**
 * Test hook: named points inside multi-step ioctls ({@code "map:tables"}, {@code "map:record"},
 * {@code "unmap:tables"}, {@code "vmid:refcount"}, {@code "vmid:tables"}, {@code "bind:tables"},
 * {@code "unbind:tables"}, {@code "hotswap:published"}, {@code "hotswap:device"},
 * {@code "hotswap:switched"}, {@code "setiommu:attached"}, {@code "setiommu:domain"},
 * {@code "group:attached"}, {@code "group:detached"}, {@code "group:last"},
 * {@code "reclaim:groups"}, {@code "faults:copied"}) where a test may throw {@link SimulatedCrash}.
 */
@FunctionalInterface
public interface CrashPoints {
    CrashPoints NONE = point -> {};

    void reached(String point);

    /** Crashes at the {@code n}-th time {@code point} is reached (1-based). */
    static CrashPoints at(String point, int n) {
        int[] seen = {0};
        return p -> {
            if (p.equals(point) && ++seen[0] == n) {
                throw new SimulatedCrash(p);
            }
        };
    }
}
