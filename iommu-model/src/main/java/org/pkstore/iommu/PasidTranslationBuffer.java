package org.pkstore.iommu;

/**
 * A {@link PasidTranslation} decoded into a reusable buffer, with the scratch space of the walks
 * that fill it: a simulated device resolves every DMA request into one of these
 * ({@link DeviceTableReader#pasidTranslation(Bdf, int, NestedMemory, PasidTranslationBuffer)},
 * {@link DeviceTableReader#presentStage2Root}) without allocating, as hardware keeps no heap. Only
 * a fault allocates (its reason). Not thread-safe: one buffer per device thread.
 */
public final class PasidTranslationBuffer {
    private int pasid;
    private int tag;
    private long stage2RootPa;
    private Stage1Format stage1Format = Stage1Format.NONE;
    private long stage1RootGpa;
    private String problem;

    /** VT-d: the words the walk read (context entry, PASID entry). */
    final VtdTableReader.Walk walk = new VtdTableReader.Walk();

    // SMMUv3: the STE as decoded (DeviceTableReader#decodeSte)
    boolean stePresent;
    long steStage2RootPa;
    int steVmid;
    boolean steNested;
    long steGuestBase;
    int steGuestBits;
    String steProblem;

    void set(int pasid, int tag, long stage2RootPa, Stage1Format stage1Format, long stage1RootGpa) {
        this.pasid = pasid;
        this.tag = tag;
        this.stage2RootPa = stage2RootPa;
        this.stage1Format = stage1Format;
        this.stage1RootGpa = stage1RootGpa;
        this.problem = null;
    }

    void fault(int pasid, String problem) {
        set(pasid, 0, 0, Stage1Format.NONE, 0);
        this.problem = problem;
    }

    public boolean ok() { return problem == null; }
    public boolean nested() { return stage1Format != Stage1Format.NONE; }
    public int pasid() { return pasid; }
    public int tag() { return tag; }
    public long stage2RootPa() { return stage2RootPa; }
    public Stage1Format stage1Format() { return stage1Format; }
    public long stage1RootGpa() { return stage1RootGpa; }
    /** Null, or why the hardware would fault on the structures. */
    public String problem() { return problem; }

    /** The same translation as an immutable record (allocates). */
    public PasidTranslation toRecord() {
        return new PasidTranslation(pasid, tag, stage2RootPa, stage1Format, stage1RootGpa, problem);
    }
}
