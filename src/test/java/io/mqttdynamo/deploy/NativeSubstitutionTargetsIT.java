package io.mqttdynamo.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.objectweb.asm.AnnotationVisitor;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * The native build applies every GraalVM substitution on the classpath: a class annotated
 * {@code @com.oracle.svm.core.annotate.TargetClass} replaces or aliases its target class. When a library
 * of the packaged application no longer has a target (an AWS SDK newer than the one the Quarkus extension
 * was built against), the image builder stops. This test finds that in the JVM build, from the jars of
 * the packaged application ({@code target/quarkus-app}, the same jars {@code target/native-sources}
 * holds; that one when only a native build was packaged), the way GraalVM 25's {@code AnnotationSubstitutionProcessor} decides:
 * <ul>
 * <li>{@code value} (a class literal) and every {@code onlyWith} class must exist, whatever the
 * condition: reading the annotation fails otherwise ({@code TypeNotPresentException});</li>
 * <li>a {@code className} target (with {@code innerClass} names) may be missing only when an
 * {@code onlyWith} condition turns the substitution off; that is what makes it optional ({@code
 * TargetClass} has no {@code optional} element). The condition is evaluated here, on a class loader of the
 * application's jars; one that cannot run outside the image builder is reported rather than guessed.</li>
 * </ul>
 * Substitutions whose {@code @Platforms} leave out Linux AMD64 are skipped, as the builder does for that
 * platform. A target class may also be in the JDK: the running one, or the builder's one given as
 * {@code -Dnative.builder.java.home=...}.
 */
class NativeSubstitutionTargetsIT {

    private static final String TARGET_CLASS = "Lcom/oracle/svm/core/annotate/TargetClass;";
    private static final String DEFAULT_PREDICATE = "com/oracle/svm/core/annotate/TargetClass$AlwaysIncluded";
    private static final String NO_NAME_PROVIDER = "com/oracle/svm/core/annotate/TargetClass$NoClassNameProvider";
    private static final Path JVM_APP = Path.of("target", "quarkus-app");
    private static final Path NATIVE_SOURCES = Path.of("target", "native-sources");
    private static final String PLATFORMS = "Lorg/graalvm/nativeimage/Platforms;";
    /** The image's platform, Linux AMD64, and its supertypes: a substitution for another platform is skipped. */
    private static final Set<String> LINUX_AMD64 = Set.of(
            "org/graalvm/nativeimage/Platform$LINUX_AMD64",
            "org/graalvm/nativeimage/Platform$LINUX_AMD64_BASE",
            "org/graalvm/nativeimage/Platform$LINUX",
            "org/graalvm/nativeimage/Platform$AMD64",
            "org/graalvm/nativeimage/Platform",
            "org/graalvm/nativeimage/impl/InternalPlatform$NATIVE_ONLY",
            "org/graalvm/nativeimage/impl/InternalPlatform$PLATFORM_JNI");

    @Test
    void everySubstitutionTargetExists() throws IOException {
        List<Path> jars = applicationJars();
        assertThat(jars)
                .as("jars of the packaged application in %s or %s (run after package)", JVM_APP, NATIVE_SOURCES)
                .isNotEmpty();

        Set<String> classes = new HashSet<>();
        List<Substitution> substitutions = new ArrayList<>();
        for (Path jar : jars) {
            read(jar, classes, substitutions);
        }
        jdkClasses(classes);

        List<String> problems;
        try (URLClassLoader loader = new URLClassLoader(urls(jars), ClassLoader.getPlatformClassLoader())) {
            problems = substitutions.stream()
                    .map(s -> s.problem(classes, loader))
                    .filter(p -> p != null)
                    .sorted()
                    .toList();
        }
        assertThat(substitutions)
                .as("GraalVM substitutions in the jars (Quarkus has dozens)")
                .isNotEmpty();
        assertThat(problems)
                .as(
                        "of %d GraalVM substitutions in %d jars, those whose target is missing",
                        substitutions.size(), jars.size())
                .isEmpty();
    }

    /** The JVM build's jars, or the native build's when only that was packaged ({@code -Dnative}). */
    private static List<Path> applicationJars() throws IOException {
        Path app = Files.isDirectory(JVM_APP) ? JVM_APP : NATIVE_SOURCES;
        if (!Files.isDirectory(app)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(app)) {
            return files.filter(f -> f.toString().endsWith(".jar")).sorted().toList();
        }
    }

    private static void read(Path jar, Set<String> classes, List<Substitution> substitutions) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            for (JarEntry entry : (Iterable<JarEntry>) file.stream()::iterator) {
                String name = entry.getName();
                if (!name.endsWith(".class") || name.endsWith("module-info.class")) {
                    continue;
                }
                if (name.startsWith("META-INF/versions/")) {
                    name = name.substring(name.indexOf('/', "META-INF/versions/".length()) + 1);
                }
                classes.add(name.substring(0, name.length() - ".class".length()));
                try (InputStream in = file.getInputStream(entry)) {
                    Substitution s =
                            Substitution.of(in.readAllBytes(), jar.getFileName().toString());
                    if (s != null) {
                        substitutions.add(s);
                    }
                }
            }
        }
    }

    private static void jdkClasses(Set<String> classes) throws IOException {
        String home = System.getProperty("native.builder.java.home");
        FileSystem jrt = home == null || home.isBlank()
                ? FileSystems.getFileSystem(URI.create("jrt:/"))
                : FileSystems.newFileSystem(URI.create("jrt:/"), java.util.Map.of("java.home", home));
        try (Stream<Path> modules = Files.list(jrt.getPath("/modules"))) {
            for (Path module : (Iterable<Path>) modules::iterator) {
                try (Stream<Path> files = Files.walk(module)) {
                    files.map(f -> module.relativize(f).toString())
                            .filter(f -> f.endsWith(".class") && !f.equals("module-info.class"))
                            .forEach(f -> classes.add(f.substring(0, f.length() - ".class".length())));
                }
            }
        }
    }

    private static URL[] urls(List<Path> jars) {
        return jars.stream()
                .map(j -> {
                    try {
                        return j.toUri().toURL();
                    } catch (MalformedURLException e) {
                        throw new UncheckedIOException(e);
                    }
                })
                .toArray(URL[]::new);
    }

    /** One {@code @TargetClass} annotated class, as its class file says. */
    private static final class Substitution extends ClassVisitor {

        final String jar;
        String name;
        boolean annotated;
        String value;
        String className;
        String nameProvider;
        final List<String> innerClasses = new ArrayList<>();
        final List<String> onlyWith = new ArrayList<>();
        List<String> platforms;

        private Substitution(String jar) {
            super(Opcodes.ASM9);
            this.jar = jar;
        }

        static Substitution of(byte[] bytes, String jar) {
            Substitution s = new Substitution(jar);
            new ClassReader(bytes).accept(s, ClassReader.SKIP_CODE | ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
            return s.annotated ? s : null;
        }

        @Override
        public void visit(
                int version, int access, String name, String signature, String superName, String[] interfaces) {
            this.name = name;
        }

        @Override
        public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
            if (PLATFORMS.equals(descriptor)) {
                platforms = new ArrayList<>();
                return new AnnotationVisitor(Opcodes.ASM9) {
                    @Override
                    public AnnotationVisitor visitArray(String element) {
                        return new AnnotationVisitor(Opcodes.ASM9) {
                            @Override
                            public void visit(String unused, Object v) {
                                platforms.add(((Type) v).getInternalName());
                            }
                        };
                    }
                };
            }
            if (!TARGET_CLASS.equals(descriptor)) {
                return null;
            }
            annotated = true;
            return new AnnotationVisitor(Opcodes.ASM9) {
                @Override
                public void visit(String element, Object v) {
                    switch (element) {
                        case "value" -> value = ((Type) v).getInternalName();
                        case "className" -> className = (String) v;
                        case "classNameProvider" -> nameProvider = ((Type) v).getInternalName();
                        default -> {}
                    }
                }

                @Override
                public AnnotationVisitor visitArray(String element) {
                    return new AnnotationVisitor(Opcodes.ASM9) {
                        @Override
                        public void visit(String unused, Object v) {
                            if (element.equals("onlyWith")) {
                                onlyWith.add(((Type) v).getInternalName());
                            } else if (element.equals("innerClass")) {
                                innerClasses.add((String) v);
                            }
                        }
                    };
                }
            };
        }

        /** What stops the image builder on this substitution, or null. */
        String problem(Set<String> classes, ClassLoader loader) {
            String who = name.replace('/', '.') + " (" + jar + ")";
            if (platforms != null && platforms.stream().noneMatch(LINUX_AMD64::contains)) {
                return null; // for another platform: the builder skips it before reading its target
            }
            if (value != null && !classes.contains(value)) {
                return who + ": target class " + value.replace('/', '.') + " not present";
            }
            for (String predicate : onlyWith) {
                if (!predicate.equals(DEFAULT_PREDICATE) && !classes.contains(predicate)) {
                    return who + ": onlyWith class " + predicate.replace('/', '.') + " not present";
                }
            }
            if (nameProvider != null && !nameProvider.equals(NO_NAME_PROVIDER)) {
                return null; // the name is computed by the builder; nothing to check here
            }
            if (value == null && (className == null || className.isEmpty())) {
                return who + ": neither value nor className names a target";
            }
            String target = value != null ? value : className.replace('.', '/');
            String missing = classes.contains(target) ? null : target;
            for (String inner : innerClasses) {
                if (missing != null) {
                    break;
                }
                target = target + "$" + inner;
                missing = classes.contains(target) ? null : target;
            }
            if (missing == null) {
                return null;
            }
            String condition = condition(loader);
            if (condition == null) {
                return null; // an onlyWith condition turns the substitution off
            }
            return who + ": target class " + missing.replace('/', '.') + " not present" + condition;
        }

        /** Null when some onlyWith condition is false; else why the substitution still applies. */
        private String condition(ClassLoader loader) {
            List<String> conditions =
                    onlyWith.stream().filter(p -> !p.equals(DEFAULT_PREDICATE)).toList();
            if (conditions.isEmpty()) {
                return "";
            }
            var results = new TreeMap<String, String>();
            for (String predicate : conditions) {
                String name = predicate.replace('/', '.');
                try {
                    var constructor = Class.forName(name, true, loader).getDeclaredConstructor();
                    constructor.setAccessible(true); // as the builder does: conditions are often private
                    Object p = constructor.newInstance();
                    boolean on;
                    if (p instanceof BooleanSupplier b) {
                        on = b.getAsBoolean();
                    } else if (p instanceof Predicate<?> q) {
                        @SuppressWarnings("unchecked")
                        Predicate<String> byName = (Predicate<String>) q;
                        on = byName.test(className);
                    } else {
                        results.put(name, "neither a BooleanSupplier nor a Predicate");
                        continue;
                    }
                    if (!on) {
                        return null;
                    }
                    results.put(name, "true");
                } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                    results.put(
                            name,
                            "cannot be evaluated outside the image builder: "
                                    + e.getClass().getSimpleName());
                }
            }
            return " (onlyWith " + results + ")";
        }
    }
}
