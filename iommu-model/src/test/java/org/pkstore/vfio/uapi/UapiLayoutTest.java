package org.pkstore.vfio.uapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Struct sizes" self-check: compiles src/test/c/uapi_layout.c (the seed structs as declared in
 * the seed headers, via pkstore_uapi.h) with gcc, runs it, and compares every printed sizeof,
 * offsetof and constant with the Java flyweights' SIZE / OFFSET_* / constants. Both directions:
 * every C line needs a Java counterpart, and every Java SIZE/OFFSET_* must be printed by C.
 * Skipped if gcc is missing; the known sizes are also asserted without gcc.
 */
class UapiLayoutTest {

    /** Every flyweight class; each has C_NAME, SIZE and OFFSET_* constants. */
    static final List<Class<?>> STRUCTS = List.of(
            VfioInfoCapHeader.class, VfioGroupStatus.class, VfioIommuType1Info.class, VfioIovaRange.class,
            VfioIommuType1InfoCapIovaRange.class, VfioIommuType1InfoCapMigration.class,
            VfioIommuType1InfoDmaAvail.class, VfioIommuType1InfoCapNesting.class, VfioIommuType1DmaMap.class,
            VfioIommuType1DmaUnmap.class, VfioSetPersistentPgtables.class, VfioIommuType1PasidRequest.class,
            VfioIommuType1Bind.class, VfioIommuType1CacheInvalidate.class, IommuCacheInvalidateInfo.class,
            IommuInvPasidInfo.class, IommuInvAddrInfo.class, IommuGpasidBindDataVtd.class,
            IommuGpasidBindData.class, IommuFaultUnrecoverable.class, IommuFaultPageRequest.class,
            IommuFault.class, IommuPageResponse.class, IommuPasidTableConfig.class, IommuSmmuS1Config.class,
            IommuGuestStageConfig.class, VfioIommuType1FaultRead.class, VfioIommuType1PageResponse.class);

    /** Where "const NAME" lines are looked up (besides VfioIoctl names). */
    static final List<Class<?>> CONSTANT_CLASSES;

    static {
        List<Class<?>> c = new ArrayList<>(List.of(VfioUapi.class, IommuUapi.class));
        c.addAll(STRUCTS);
        CONSTANT_CLASSES = List.copyOf(c);
    }

    @Test
    void layoutMatchesGccWithOwnDeclarations(@TempDir Path tmp) throws Exception {
        Path exe = CTestTool.compile(tmp, "uapi_layout.c", "uapi_layout");
        String out = CTestTool.run(List.of(exe.toString())).output;
        Set<String> printed = compare(out);
        // Reverse direction: every Java SIZE / OFFSET_* constant was printed by C.
        List<String> missing = new ArrayList<>();
        for (Class<?> s : STRUCTS) {
            String cName = (String) staticValue(s, "C_NAME");
            if (!printed.contains(cName)) {
                missing.add(cName + " (SIZE)");
            }
            for (Field f : s.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getName().startsWith("OFFSET_")) {
                    String member = f.getName().substring("OFFSET_".length()).toLowerCase();
                    if (printed.stream().noneMatch(p -> p.startsWith(cName + ".")
                            && p.substring(cName.length() + 1).replace('.', '_').equals(member))) {
                        missing.add(s.getSimpleName() + "." + f.getName());
                    }
                }
            }
        }
        assertTrue(missing.isEmpty(), "Java constants with no line from uapi_layout.c: " + missing);
        // Every modelled ioctl number was printed too.
        for (VfioIoctl i : VfioIoctl.values()) {
            assertTrue(printed.contains("const " + i.name()), "uapi_layout.c does not print " + i.name());
        }
    }

    @Test
    void mainlineCopyMatchesSystemLinuxVfioH(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.exists(Path.of("/usr/include/linux/vfio.h")), "no system <linux/vfio.h>");
        Path exe = CTestTool.compile(tmp, "uapi_layout.c", "uapi_layout_sys", "-DPKSTORE_SYSTEM_VFIO_H");
        compare(CTestTool.run(List.of(exe.toString())).output);
    }

    /** Compare every line with Java; return the set of keys seen ("struct", "struct.member", "const NAME"). */
    private static Set<String> compare(String out) throws Exception {
        Map<String, Class<?>> byCName = new LinkedHashMap<>();
        for (Class<?> s : STRUCTS) {
            byCName.put((String) staticValue(s, "C_NAME"), s);
        }
        Set<String> seen = new TreeSet<>();
        List<String> errors = new ArrayList<>();
        int lines = 0;
        for (String line : out.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            lines++;
            String[] t = line.trim().split("\\s+");
            if (t.length == 3 && t[0].equals("const")) {
                String name = t[1];
                long cValue = Long.parseUnsignedLong(t[2]);
                seen.add("const " + name);
                Optional<VfioIoctl> ioctl = VfioIoctl.byName(name);
                List<Long> javaValues = new ArrayList<>();
                ioctl.ifPresent(i -> javaValues.add(Integer.toUnsignedLong(i.number())));
                for (Class<?> c : CONSTANT_CLASSES) {
                    Field f = field(c, name);
                    if (f != null) {
                        Object v = f.get(null);
                        javaValues.add(v instanceof Integer ? Integer.toUnsignedLong((Integer) v) : (Long) v);
                    }
                }
                if (javaValues.isEmpty()) {
                    errors.add("no Java constant for C " + name + " = " + cValue);
                }
                for (long jv : javaValues) {
                    if (jv != cValue) {
                        errors.add(name + ": C " + cValue + ", Java " + jv);
                    }
                }
                continue;
            }
            if (t.length != 2) {
                errors.add("unparseable line: " + line);
                continue;
            }
            int cValue = Integer.parseInt(t[1]);
            int dot = t[0].indexOf('.');
            String cName = dot < 0 ? t[0] : t[0].substring(0, dot);
            Class<?> s = byCName.get(cName);
            if (s == null) {
                errors.add("no Java flyweight with C_NAME " + cName);
                continue;
            }
            seen.add(t[0]);
            String constant = dot < 0 ? "SIZE" : "OFFSET_" + t[0].substring(dot + 1).replace('.', '_').toUpperCase();
            Field f = field(s, constant);
            if (f == null) {
                errors.add(s.getSimpleName() + " has no " + constant + " for C " + line);
            } else if (f.getInt(null) != cValue) {
                errors.add(s.getSimpleName() + "." + constant + " = " + f.getInt(null) + " but gcc says " + line);
            }
        }
        assertTrue(lines > 100, "uapi_layout printed only " + lines + " lines:\n" + out);
        assertTrue(errors.isEmpty(), String.join("\n", errors));
        return seen;
    }

    private static Field field(Class<?> c, String name) {
        try {
            Field f = c.getField(name);
            return Modifier.isStatic(f.getModifiers()) && f.getDeclaringClass() == c ? f : null;
        } catch (NoSuchFieldException e) {
            return null;
        }
    }

    private static Object staticValue(Class<?> c, String name) throws Exception {
        return c.getField(name).get(null);
    }

    /** The sizes the brief states as facts, checked without gcc. */
    @Test
    void knownSizesAndOffsets() {
        assertEquals(64, IommuFault.SIZE);
        assertEquals(8, IommuFault.OFFSET_EVENT);
        assertEquals(20, IommuPageResponse.SIZE);
        assertEquals(48, IommuCacheInvalidateInfo.SIZE);
        assertEquals(4, IommuCacheInvalidateInfo.OFFSET_CACHE);
        assertEquals(5, IommuCacheInvalidateInfo.OFFSET_GRANULARITY);
        assertEquals(8, IommuCacheInvalidateInfo.OFFSET_PASID_INFO);
        assertEquals(40, IommuInvAddrInfo.SIZE);
        assertEquals(16, IommuInvPasidInfo.SIZE);
        assertEquals(72, IommuGpasidBindData.SIZE);
        assertEquals(8, IommuGpasidBindData.OFFSET_FLAGS);
        assertEquals(16, IommuGpasidBindData.OFFSET_GPGD);
        assertEquals(24, IommuGpasidBindData.OFFSET_HPASID);
        assertEquals(32, IommuGpasidBindData.OFFSET_GPASID);
        assertEquals(40, IommuGpasidBindData.OFFSET_ADDR_WIDTH);
        assertEquals(44, IommuGpasidBindData.OFFSET_PADDING);
        assertEquals(56, IommuGpasidBindData.OFFSET_VTD);
        assertEquals(20, VfioIommuType1PasidRequest.SIZE);
        assertEquals(8, VfioIommuType1PasidRequest.OFFSET_ALLOC_PASID);
        assertEquals(8, VfioIommuType1Bind.SIZE);
        assertEquals(8, VfioIommuType1Bind.OFFSET_DATA);
        assertEquals(56, VfioIommuType1CacheInvalidate.SIZE);
        assertEquals(8, VfioIommuType1CacheInvalidate.OFFSET_CACHE_INFO);
        assertEquals(16, VfioIommuType1InfoCapNesting.SIZE);
        assertEquals(24, VfioIommuType1Info.SIZE);
        assertEquals(32, VfioIommuType1DmaMap.SIZE);
        assertEquals(24, VfioIommuType1DmaUnmap.SIZE);
        assertEquals(8, VfioGroupStatus.SIZE);
        assertEquals(4, VfioSetPersistentPgtables.SIZE);
        assertEquals(12, VfioIommuType1InfoDmaAvail.SIZE);
        assertEquals(16, VfioIommuType1FaultRead.SIZE);
        assertEquals(28, VfioIommuType1PageResponse.SIZE);
        assertEquals(24, IommuSmmuS1Config.SIZE);
        assertEquals(8, IommuSmmuS1Config.OFFSET_CDPTR_DMA);
        assertEquals(16, IommuSmmuS1Config.OFFSET_ASID);
        assertEquals(24, IommuPasidTableConfig.SIZE);
        assertEquals(32, IommuGuestStageConfig.SIZE);
        assertEquals(8, IommuGuestStageConfig.OFFSET_PASIDT);
    }

    /** Each flyweight's size()/cName() agree with its SIZE/C_NAME. */
    @Test
    void instanceSizeAndNameMatchConstants() throws Exception {
        for (Class<?> s : STRUCTS) {
            CStruct<?> v = (CStruct<?>) s.getDeclaredConstructor().newInstance();
            assertEquals(staticValue(s, "SIZE"), v.size(), s.getSimpleName());
            assertEquals(staticValue(s, "C_NAME"), v.cName(), s.getSimpleName());
            assertFalse(v.toString().isEmpty());
        }
    }
}
