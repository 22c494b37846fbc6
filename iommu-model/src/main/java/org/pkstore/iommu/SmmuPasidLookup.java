package org.pkstore.iommu;

import org.pkstore.iommu.hw.SmmuContextDescriptor;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.iommu.pgtable.Prot;

/**
 * SMMUv3 side of {@link DeviceTableReader#pasidTranslation}: what the SMMU decides for a transaction
 * of one stream (and substream), reading only the STE and the guest's context descriptor (Arm
 * IHI0070 5.2, 5.4; docs/FORMAT.md 6.5). With Config 0b111 the CD table is at an IPA in guest
 * memory, so the CD is read through stage 2 ({@link NestedMemory#stage2}) like any guest access.
 *
 * <ul>
 *   <li>Without a PASID: S1DSS bypass means stage 2 only; S1DSS substream 0 (or S1CDMax 0, no
 *       substreams) means CD 0; S1DSS terminate aborts.</li>
 *   <li>With a PASID (SSID): S1CDMax 0 or an SSID &ge; 2^S1CDMax is C_BAD_SUBSTREAMID, as is SSID 0
 *       under S1DSS substream 0; otherwise CD {@code S1ContextPtr + 64 * SSID}.</li>
 *   <li>The CD must be valid, AArch64, 4 KiB granule, T0SZ 16 ({@link SmmuContextDescriptor#check});
 *       the answer is then {@link Stage1Format#ARM_LPAE_S1_4K} from CD.TTB0 over the STE's S2TTB,
 *       tagged with the STE's S2VMID.</li>
 * </ul>
 */
final class SmmuPasidLookup {
    private SmmuPasidLookup() {}

    static PasidTranslation resolve(DeviceTableReader reader, Bdf bdf, int pasid, NestedMemory memory) {
        PasidTranslationBuffer out = new PasidTranslationBuffer();
        resolve(reader, bdf, pasid, memory, out);
        return out.toRecord();
    }

    /** As {@link #resolve(DeviceTableReader, Bdf, int, NestedMemory)} into {@code out}; allocates nothing unless it faults. */
    static void resolve(DeviceTableReader reader, Bdf bdf, int pasid, NestedMemory memory, PasidTranslationBuffer out) {
        reader.decodeSte(bdf, out);
        if (!out.stePresent) {
            out.fault(pasid, out.steProblem != null ? out.steProblem : "no valid STE");
            return;
        }
        long ste = reader.stePa(bdf); // present, so inside the file
        long w0 = reader.word(ste);
        long w1 = reader.word(ste + 8);
        boolean untagged = pasid == PasidTranslation.UNTAGGED;
        if (!SmmuStreamTableEntry.nested(w0)) {
            if (untagged) {
                stage2Only(pasid, out);
            } else {
                out.fault(pasid, "STE Config 0b110 has no stage 1: SSID " + pasid + " is C_BAD_SUBSTREAMID");
            }
            return;
        }
        if (SmmuStreamTableEntry.s1Fmt(w0) != SmmuStreamTableEntry.S1FMT_LINEAR) {
            out.fault(pasid, "STE S1Fmt " + SmmuStreamTableEntry.s1Fmt(w0) + " is not a linear CD table");
            return;
        }
        int cdMax = SmmuStreamTableEntry.s1CdMax(w0);
        if (cdMax > SmmuStreamTableEntry.MAX_S1CDMAX) {
            out.fault(pasid, "STE S1CDMax " + cdMax + " beyond the SSID width (C_BAD_STE)");
            return;
        }
        int dss = SmmuStreamTableEntry.s1Dss(w1);
        int ssid;
        if (untagged) {
            if (cdMax == 0 || dss == SmmuStreamTableEntry.S1DSS_SSID0) {
                ssid = 0;
            } else if (dss == SmmuStreamTableEntry.S1DSS_BYPASS) {
                stage2Only(pasid, out);
                return;
            } else if (dss == SmmuStreamTableEntry.S1DSS_TERMINATE) {
                out.fault(pasid, "STE S1DSS 00 (terminate): DMA without a PASID aborts");
                return;
            } else {
                out.fault(pasid, "STE S1DSS 11 is reserved (C_BAD_STE)");
                return;
            }
        } else {
            if (cdMax == 0 || pasid < 0 || pasid >= 1 << cdMax) {
                out.fault(pasid, "SSID " + pasid + " outside S1CDMax " + cdMax + " (C_BAD_SUBSTREAMID)");
                return;
            }
            if (pasid == 0 && dss == SmmuStreamTableEntry.S1DSS_SSID0) {
                out.fault(pasid, "SSID 0 with S1DSS substream 0 (C_BAD_SUBSTREAMID)");
                return;
            }
            ssid = pasid;
        }
        long cdIpa = SmmuStreamTableEntry.s1ContextPtr(w0) + SmmuContextDescriptor.offset(ssid);
        if (memory == null) {
            out.fault(pasid, String.format("CD of SSID %d at IPA 0x%x: guest memory not available", ssid, cdIpa));
            return;
        }
        // a 64-byte aligned CD never crosses a page: one stage-2 walk for all eight words
        long cdPa = memory.stage2(out.steStage2RootPa, cdIpa, Prot.READ);
        if (cdPa < 0) {
            out.fault(pasid, String.format("CD of SSID %d at IPA 0x%x: stage-2 fault %d on the CD fetch", ssid, cdIpa, cdPa));
            return;
        }
        long cd0 = memory.readWord(cdPa);
        long cd1 = memory.readWord(cdPa + 8); // words 2..7 (TTB1, MAIR, AMAIR, ...) do not steer the walk
        String bad = SmmuContextDescriptor.check(cd0, cd1);
        if (bad != null) {
            out.fault(pasid, String.format("CD of SSID %d at IPA 0x%x: %s", ssid, cdIpa, bad));
            return;
        }
        out.set(pasid, out.steVmid, out.steStage2RootPa, Stage1Format.ARM_LPAE_S1_4K, SmmuContextDescriptor.ttb0(cd1));
    }

    private static void stage2Only(int pasid, PasidTranslationBuffer out) {
        out.set(pasid, out.steVmid, out.steStage2RootPa, Stage1Format.NONE, 0);
    }
}
