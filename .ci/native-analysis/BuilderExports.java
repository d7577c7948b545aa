/*
 * The --add-exports flags the `native-image` driver passes to the image builder's JVM. A GraalVM
 * release derives them from the builder modules' requiresConcealed lists (its
 * graal-compiler-flags config); the jars published to Maven Central do not carry those lists, so
 * this exports every package that a JDK module does not export to everyone to the builder modules.
 *
 * Usage: java <the builder's module path and JVM flags> BuilderExports.java <builder jar>...
 * (prints a java @argfile; modules missing from that boot layer are left out).
 */

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

public class BuilderExports {
    public static void main(String[] jars) {
        String builderModules = ModuleFinder.of(Stream.of(jars).map(Path::of).toArray(Path[]::new)).findAll().stream()
                        .map(r -> r.descriptor().name()).sorted().collect(Collectors.joining(","));
        Set<String> resolved = ModuleLayer.boot().modules().stream().map(Module::getName).collect(Collectors.toSet());
        List<ModuleReference> system = ModuleFinder.ofSystem().findAll().stream()
                        .filter(r -> resolved.contains(r.descriptor().name()))
                        .sorted(Comparator.comparing(r -> r.descriptor().name())).toList();
        for (ModuleReference ref : system) {
            ModuleDescriptor d = ref.descriptor();
            Set<String> exported = d.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
            for (String pkg : new TreeSet<>(d.packages())) {
                if (!exported.contains(pkg)) {
                    System.out.println("--add-exports=" + d.name() + "/" + pkg + "=" + builderModules);
                }
            }
        }
    }
}
