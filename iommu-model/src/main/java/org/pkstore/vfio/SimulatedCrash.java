package org.pkstore.vfio;

/**
 * Thrown by a {@link CrashPoints} hook to stop an ioctl half-way, as SIGKILL would. An Error, so
 * that the ioctl boundary (which turns exceptions into -EIO) lets it through: the test then drops
 * the kernel with {@link VfioKernel#crash()} and boots again.
 */
public final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;

    public SimulatedCrash(String point) {
        super("simulated crash at " + point);
    }
}
