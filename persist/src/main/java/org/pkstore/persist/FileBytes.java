package org.pkstore.persist;

import java.nio.file.Path;

/**
 * Bytes of one file read at absolute offsets, in native byte order: a whole-file mapping
 * ({@link MappedRegion}) or the first bytes of a file read once ({@link FileHead}). The header
 * checks ({@link HeaderCheck}, each file class's {@code validate}) read through this, so that a
 * check that needs only a header reads only the header.
 */
interface FileBytes {
    Path path();

    /** The file's length in bytes (not only what can be read through this). */
    long size();

    long readLong(long offset);

    long readVolatileLong(long offset);

    int readInt(long offset);

    int readVolatileInt(long offset);

    void read(long offset, byte[] dst, int dstOff, int len);
}
