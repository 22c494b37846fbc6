package org.pkstore.vfio;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pkstore.iommu.Bdf;
import org.pkstore.iommu.DeviceTableReader;
import org.pkstore.iommu.SmmuStreamTable;
import org.pkstore.iommu.hw.SmmuStreamTableBase;
import org.pkstore.iommu.hw.SmmuStreamTableEntry;
import org.pkstore.persist.PageTableFile;
import org.pkstore.persist.registry.BindingRecord;

import static org.junit.jupiter.api.Assertions.*;

/**
 * VFIO_IOMMU_BIND on an SMMUv3 unit (format IOMMU_PASID_FORMAT_SMMUV3, docs/UAPI.md BIND rows): the
 * STE points at the guest's CD table (an IPA), S1CDMax covers every bound SSID, S1DSS bypass; each
 * refusal answers EINVAL/EBUSY/EPERM and writes nothing; a crashed BIND is undone by recovery.
 */
class SmmuBindIoctlTest extends KernelTestBase {
    static final Bdf DEV1 = Bdf.parse("00:01.0");
    static final Bdf DEV2 = Bdf.parse("00:01.1");
    static final int FORMAT_SMMUV3 = 2;

    @BeforeEach
    void start() {
        topo = org.pkstore.iommu.HostTopology.parse("unit 0 smmuv3\ngroup 1 unit 0 device 00:01.0 00:01.1\n"
                + "group 2 unit 0 device 00:02.0\n");
        boot();
    }

    /** bindArg with format SMMUV3, addr_width 0 and no VT-d vendor data. */
    static byte[] smmuBind(int flags, long hpasid, long cdTableIpa, long gpasid) {
        byte[] a = bindArg(flags, hpasid, cdTableIpa, gpasid, 0);
        le(a).putInt(12, FORMAT_SMMUV3).putLong(64, 0).putInt(72, 0).putInt(76, 0);
        return a;
    }

    private long[] ste(Bdf b) {
        SmmuStreamTable st = (SmmuStreamTable) k.unit(0).deviceTable();
        PageTableFile hw = st.file();
        long regs = hw.rootPa();
        long pa = SmmuStreamTableBase.streamTablePa(hw.readDescriptor(regs)) + SmmuStreamTableEntry.offset(b.requesterId());
        return new long[] {hw.readDescriptor(pa), hw.readDescriptor(pa + 8)};
    }

    @Test
    void bindPointsTheSteAtTheGuestCdTable() {
        int c = containerWith(NESTING, 1);
        int other = containerWith(NESTING, 2);
        int p = allocPasid(c);
        int p2 = allocPasid(c);
        int foreign = allocPasid(other);
        assertEquals(EINVAL, k.ioctl(c, BIND, bindArg(1, p, 0x4000, 5, 48)), "the VT-d format on an SMMUv3 unit");
        byte[] width = smmuBind(1, p, 0x4000, 5);
        le(width).putInt(48, 48);
        assertEquals(EINVAL, k.ioctl(c, BIND, width), "addr_width: the guest's CD says it");
        byte[] vtd = smmuBind(1, p, 0x4000, 5);
        le(vtd).putLong(64, 1);
        assertEquals(EINVAL, k.ioctl(c, BIND, vtd), "VT-d vendor flags");
        assertEquals(EINVAL, k.ioctl(c, BIND, smmuBind(1, p, 0x4000, 5)), "no stage 2 reaches the CD table");
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 0x100_0000)));
        assertEquals(EINVAL, k.ioctl(c, BIND, smmuBind(1, p, 0x4010, 5)), "S1ContextPtr is 64-byte aligned");
        // p = 1: S1CDMax 1, two CDs = 128 bytes; the whole table must be inside the aperture
        assertEquals(1, p);
        assertEquals(EINVAL, k.ioctl(c, BIND, smmuBind(1, p, 0x100_0000 - 64, 5)), "second CD beyond stage 2");
        assertEquals(EPERM, k.ioctl(c, BIND, smmuBind(1, foreign, 0x4000, 5)), "another container's PASID");
        assertNull(mount.registries().bindings.get(p), "nothing recorded by a refusal");
        assertEquals(0xDL, ste(DEV1)[0], "nothing written by a refusal");
        assertEquals(0, k.ioctl(c, BIND, smmuBind(1, p, 0x100_0000 - 128, 5)), "exactly at the top of stage 2");
        assertEquals(0, k.ioctl(c, BIND, smmuBind(2, p, 0, 0)));
        assertEquals(0xDL, ste(DEV1)[0], "the last unbind takes the STE back to stage 2 only");
        assertEquals(0L, ste(DEV1)[1]);

        assertEquals(0, k.ioctl(c, BIND, smmuBind(1, p, 0x4000, 5)));
        for (Bdf d : new Bdf[] {DEV1, DEV2}) {
            long[] w = ste(d);
            assertEquals(SmmuStreamTableEntry.CONFIG_NESTED, SmmuStreamTableEntry.config(w[0]));
            assertEquals(0x4000L, SmmuStreamTableEntry.s1ContextPtr(w[0]), "the IPA, as the guest gave it");
            assertEquals(SmmuStreamTableEntry.S1FMT_LINEAR, SmmuStreamTableEntry.s1Fmt(w[0]));
            assertEquals(1, SmmuStreamTableEntry.s1CdMax(w[0]));
            assertEquals(SmmuStreamTableEntry.W1_NESTED, w[1]);
        }
        BindingRecord rec = mount.registries().bindings.get(p);
        assertEquals(FORMAT_SMMUV3, rec.format());
        assertEquals(0x4000L, rec.gpgd());
        assertEquals(5, rec.gpasid(), "the gpasid is bookkeeping of the registry, in no walked word");
        assertEquals(EBUSY, k.ioctl(c, BIND, smmuBind(1, p, 0x4000, 5)), "already bound");
        assertEquals(EINVAL, k.ioctl(c, BIND, smmuBind(1, p2, 0x8000, 6)), "one CD table per STE");
        assertEquals(EBUSY, k.ioctl(c, BIND, NestingIoctlTest.guestStage(4, 2, 0x40000, 0)), "seed 002 guest stage beside it");
        assertEquals(0, k.ioctl(c, BIND, smmuBind(1, p2, 0x4000, 6)));
        assertEquals(2, SmmuStreamTableEntry.s1CdMax(ste(DEV1)[0]), "SSID 2 needs S1CDMax 2");
        assertEquals(SmmuStreamTableEntry.CONFIG_S2_TRANS, SmmuStreamTableEntry.config(ste(Bdf.parse("00:02.0"))[0]),
                "the other container's device untouched");
        try (DeviceTableReader r = DeviceTableReader.openReadOnly(mount.iommuTablePath("unit0"))) {
            assertTrue(r.view(DEV2).boundPasids().isEmpty(), "no host-written PASID record");
            assertEquals(0x4000L, r.view(DEV2).guestStageBase());
        }
        assertEquals(0, k.ioctl(c, BIND, smmuBind(2, p2, 0, 0)));
        assertEquals(1, SmmuStreamTableEntry.s1CdMax(ste(DEV1)[0]), "narrowed to the remaining SSID");
        byte[] free = pasidReq(2, 0, 0);
        le(free).putInt(8, p);
        assertEquals(0, k.ioctl(c, PASID_REQUEST, free), "freeing a bound PASID unbinds it");
        assertEquals(0xDL, ste(DEV1)[0]);
        assertNull(mount.registries().bindings.get(p));
    }

    @Test
    void crashedBindIsUndoneAndTheSteFollowsTheRecords() {
        int c = k.openContainer();
        assertEquals(0, k.ioctl(k.openGroup(1), GROUP_SET_CONTAINER, s32(c)));
        assertEquals(0, k.ioctl(c, SET_PERSISTENT_PGTABLES, s32(k.openPageTableFile("vm1", true))));
        assertEquals(0L, k.ioctl(c, SET_IOMMU, NESTING));
        int p = allocPasid(c);
        int p2 = allocPasid(c);
        mapGuest();
        assertEquals(0, k.ioctl(c, MAP_DMA, dmaMap(GUEST_VA, 0, 0x10_0000)));
        assertEquals(0, k.ioctl(c, BIND, smmuBind(1, p, 0x4000, 5)));
        k.setCrashPoints(CrashPoints.at("bind:tables", 1));
        assertThrows(SimulatedCrash.class, () -> k.ioctl(c, BIND, smmuBind(1, p2, 0x4000, 6)));
        assertEquals(2, SmmuStreamTableEntry.s1CdMax(ste(DEV1)[0]), "written before the crash");
        crashAndBoot();
        assertEquals("BIND", k.recoveryReport().intent());
        assertEquals("undone", k.recoveryReport().intentAction());
        assertNull(mount.registries().bindings.get(p2));
        assertNotNull(mount.registries().bindings.get(p));
        long[] w = ste(DEV1);
        assertEquals(SmmuStreamTableEntry.CONFIG_NESTED, SmmuStreamTableEntry.config(w[0]));
        assertEquals(1, SmmuStreamTableEntry.s1CdMax(w[0]), "back to what the remaining binding says");
        assertEquals(0x4000L, SmmuStreamTableEntry.s1ContextPtr(w[0]));
    }
}
