package org.pkstore.persist.registry;

/** Turns a typed registry value into the bytes a Chronicle Map stores, and back. */
public interface RecordCodec<V> {
    byte[] encode(V value);

    /** Throws {@link IllegalArgumentException} naming the problem when the bytes are not a valid record. */
    V decode(byte[] bytes);
}
