package org.pkstore.rehearse;

/** A rehearsal could not go on: a child died or did not answer, or a check could not be made. */
public final class RehearsalException extends RuntimeException {
    public RehearsalException(String message) { super(message); }
    public RehearsalException(String message, Throwable cause) { super(message, cause); }
}
