package org.pkstore.vfio.uapi;

/**
 * A VFIO argument that starts with {@code __u32 argsz; __u32 flags;}: the caller says how many bytes
 * it passed, and which flag bits it means. The kernel's ioctl table checks both before a handler
 * runs (argsz below the minimum and unknown flag bits are -EINVAL).
 */
public interface ArgszStruct {
    int argsz();

    int flags();
}
