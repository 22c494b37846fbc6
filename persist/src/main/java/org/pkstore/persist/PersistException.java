package org.pkstore.persist;

/** Failure of the pkernfs model: a refused file, a held lock, an I/O error. */
public class PersistException extends RuntimeException {
    public PersistException(String message) { super(message); }
    public PersistException(String message, Throwable cause) { super(message, cause); }
}
