package org.pkstore.persist.registry;

import net.openhft.chronicle.hash.VanillaGlobalMutableState;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The class Chronicle Map would generate and compile with javac in every fresh JVM is on the class
 * path already, exactly as the chronicle-values in use generates it: a version change that alters
 * the generated code fails here instead of silently running a stale layout.
 */
class ChronicleValuesPregeneratedTest {
    private static final String SIMPLE_NAME = "VanillaGlobalMutableState$$Native";

    @Test
    void checkedInSourceIsWhatChronicleValuesGenerates() throws Exception {
        Class<?> models = Class.forName("net.openhft.chronicle.values.ValueModel");
        Method acquire = models.getDeclaredMethod("acquire", Class.class);
        acquire.setAccessible(true);
        Object model = acquire.invoke(null, VanillaGlobalMutableState.class);
        Class<?> generators = Class.forName("net.openhft.chronicle.values.Generators");
        Method generate = generators.getDeclaredMethod("generateNativeClass", models, String.class);
        generate.setAccessible(true);
        String generated = (String) generate.invoke(null, model, SIMPLE_NAME);

        Path source = Path.of("src/main/java/net/openhft/chronicle/hash/" + SIMPLE_NAME + ".java");
        String checkedIn = Files.readAllLines(source).stream().filter(l -> !l.startsWith("//"))
                .collect(Collectors.joining("\n"));
        assertEquals(generated.strip(), checkedIn.strip(), source + " differs from what chronicle-values generates");
    }

    @Test
    void chronicleMapUsesTheClassOnTheClassPath() throws Exception {
        Class<?> values = Class.forName("net.openhft.chronicle.values.Values");
        Class<?> nativeClass = (Class<?>) values.getMethod("nativeClassFor", Class.class)
                .invoke(null, VanillaGlobalMutableState.class);
        assertSame(Class.forName("net.openhft.chronicle.hash." + SIMPLE_NAME), nativeClass);
        assertEquals(ChronicleValuesPregeneratedTest.class.getClassLoader(), nativeClass.getClassLoader());
    }
}
