package io.mqttdynamo.suites;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.platform.commons.annotation.Testable;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ReflectionSupport;
import org.junit.platform.suite.api.SelectClasses;
import org.junit.platform.suite.api.SelectPackages;
import org.junit.platform.suite.api.Suite;

/**
 * {@code ./mvnw verify} runs the suites, one per test JVM, not the test classes one by one (so that each JVM
 * starts the application once per test profile): every test class must be in exactly one suite, or it would
 * not run, or run twice.
 */
class SuitesTest {

    static final List<Class<?>> SUITES = List.of(BrokerDeliverySuite.class, IngestStoreWebSuite.class);
    /** The suite engine's default class name filter. */
    private static final Pattern TEST_CLASS = Pattern.compile("^(Test.*|.+[.$]Test.*|.*Tests?)$");

    @Test
    void theSuitesAreTheOnesChecked() throws IOException, URISyntaxException {
        List<Class<?>> suites = new ArrayList<>();
        for (Class<?> type : compiledClasses()) {
            if (type.isAnnotationPresent(Suite.class)) {
                suites.add(type);
            }
        }
        assertThat(suites).containsExactlyInAnyOrderElementsOf(SUITES);
    }

    @Test
    void everyTestClassIsInExactlyOneSuite() throws IOException, URISyntaxException {
        Map<String, List<String>> suitesOf = new LinkedHashMap<>();
        for (Class<?> test : testClasses()) {
            List<String> suites = new ArrayList<>();
            for (Class<?> suite : SUITES) {
                if (selects(suite, test)) {
                    suites.add(suite.getSimpleName());
                }
            }
            suitesOf.put(test.getName(), suites);
        }
        assertThat(suitesOf).isNotEmpty().containsKey(SuitesTest.class.getName());
        assertThat(suitesOf)
                .allSatisfy((test, suites) ->
                        assertThat(suites).as("suites that run %s", test).hasSize(1));
    }

    private static boolean selects(Class<?> suite, Class<?> test) {
        String pkg = test.getPackageName();
        SelectPackages packages = suite.getAnnotation(SelectPackages.class);
        SelectClasses classes = suite.getAnnotation(SelectClasses.class);
        return packages != null
                        && Arrays.stream(packages.value()).anyMatch(p -> pkg.equals(p) || pkg.startsWith(p + "."))
                || classes != null && Arrays.asList(classes.names()).contains(test.getName());
    }

    /**
     * The compiled test classes with a test method, as the suite engine would find them: top-level or static
     * nested, not abstract ({@code @Nested} inner classes run with their enclosing class).
     */
    private static List<Class<?>> testClasses() throws IOException, URISyntaxException {
        List<Class<?>> tests = new ArrayList<>();
        for (Class<?> type : compiledClasses()) {
            if (TEST_CLASS.matcher(type.getName()).matches()
                    && !Modifier.isAbstract(type.getModifiers())
                    && (type.getEnclosingClass() == null || Modifier.isStatic(type.getModifiers()))
                    && !ReflectionSupport.findMethods(
                                    type,
                                    m -> AnnotationSupport.isAnnotated(m, Testable.class),
                                    HierarchyTraversalMode.TOP_DOWN)
                            .isEmpty()) {
                tests.add(type);
            }
        }
        return tests;
    }

    /** Every class compiled from src/test/java, loaded without initialising it. */
    private static List<Class<?>> compiledClasses() throws IOException, URISyntaxException {
        Path root = Path.of(SuitesTest.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        List<Class<?>> classes = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = root.relativize(file).toString().replace('/', '.').replaceAll("\\.class$", "");
                try {
                    classes.add(Class.forName(name, false, SuitesTest.class.getClassLoader()));
                } catch (ClassNotFoundException | LinkageError e) {
                    throw new IllegalStateException("cannot load " + name, e);
                }
            }
        }
        return classes;
    }
}
