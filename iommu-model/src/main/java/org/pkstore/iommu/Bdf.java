package org.pkstore.iommu;

/**
 * A PCI device address, segment:bus:device.function, e.g. {@code 0000:00:01.0}. Its
 * {@link #requesterId()} ({@code bus << 8 | device << 3 | function}) is what the device puts on
 * its DMA: the VT-d root/context index and, in this model, the SMMUv3 stream id.
 */
public record Bdf(int segment, int bus, int device, int function) implements Comparable<Bdf> {
    public Bdf {
        if (segment < 0 || segment > 0xFFFF || bus < 0 || bus > 0xFF || device < 0 || device > 0x1F
                || function < 0 || function > 7) {
            throw new IllegalArgumentException("BDF out of range: " + segment + ":" + bus + ":" + device + "." + function);
        }
    }

    /** Parses {@code [SSSS:]BB:DD.F} (hex). */
    public static Bdf parse(String s) {
        String t = s.trim();
        int segment = 0;
        String[] parts = t.split(":");
        if (parts.length == 3) {
            segment = hex(parts[0], s);
            parts = new String[] {parts[1], parts[2]};
        }
        if (parts.length != 2) {
            throw new IllegalArgumentException("not a BDF: \"" + s + "\" (expected [SSSS:]BB:DD.F)");
        }
        int dot = parts[1].indexOf('.');
        if (dot < 0) {
            throw new IllegalArgumentException("not a BDF: \"" + s + "\" (no .function)");
        }
        return new Bdf(segment, hex(parts[0], s), hex(parts[1].substring(0, dot), s),
                hex(parts[1].substring(dot + 1), s));
    }

    private static int hex(String v, String whole) {
        try {
            return Integer.parseInt(v, 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a BDF: \"" + whole + "\"", e);
        }
    }

    /** From a 16-bit requester id in segment 0. */
    public static Bdf ofRequesterId(int rid) {
        return new Bdf(0, (rid >>> 8) & 0xFF, (rid >>> 3) & 0x1F, rid & 7);
    }

    /** {@code device << 3 | function}: the context-table index. */
    public int devfn() {
        return device << 3 | function;
    }

    /** {@code bus << 8 | devfn}: the requester id, used as the SMMUv3 stream id. */
    public int requesterId() {
        return bus << 8 | devfn();
    }

    @Override
    public int compareTo(Bdf o) {
        return segment != o.segment ? Integer.compare(segment, o.segment) : Integer.compare(requesterId(), o.requesterId());
    }

    // equals and hashCode written out: a record's own are linked on first call through
    // java.lang.runtime.ObjectMethods' method-handle bootstrap, about 25 ms of a fresh host's boot
    // (HostTopology.parse keys a map by Bdf; docs/BENCHMARKS.md, session 5)
    @Override
    public boolean equals(Object o) {
        return o instanceof Bdf b && segment == b.segment && bus == b.bus && device == b.device && function == b.function;
    }

    @Override
    public int hashCode() {
        return segment << 16 | requesterId();
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", segment, bus, device, function);
    }
}
