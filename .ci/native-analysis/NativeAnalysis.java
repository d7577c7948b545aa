/*
 * Turns the arguments Quarkus generates for `native-image` (target/native-sources/native-image.args)
 * into the command line of GraalVM's image builder (NativeImageGeneratorRunner), the way the
 * `native-image` driver does, so the builder can run its analysis on a plain JDK 25.
 *
 * The driver itself is not published to Maven Central; the builder's own option metadata is. This
 * program reads that metadata (the @APIOption annotations on the builder's option descriptors and
 * their value transformers) to translate the driver's API options (--initialize-at-run-time,
 * --features, --link-at-build-time, --enable-url-protocols, --no-fallback, ...), and mirrors the
 * driver's handling of everything else:
 *  - options in the driver's order: --exclude-config first, then per argument API option,
 *    -H:/-R: (with their origin), -J (builder JVM), -D, -O, -cp, -jar (Main-Class, Class-Path,
 *    class-path order), @argfiles; leftovers name the image;
 *  - every class-path entry's META-INF/native-image: native-image.properties (Args, JavaArgs,
 *    ImageName, ProvidedHostedOptions, with ${.} and ${java.home}) and the metadata files
 *    (reachability-metadata.json, reflect-config.json, ... as -H:*Resources), minus --exclude-config;
 *  - the driver's own builder JVM flags and the unknown/experimental -H: option checks.
 *
 * Run on the builder's module path (see run.sh). Arguments:
 *   <native-sources dir> <builder java.home> <work dir> <builder jar>... -- <extra builder args>...
 * Writes <work dir>/builder.jvm.args (a java @argfile, used after BuilderExports' one) and
 * <work dir>/builder.image.args (the builder's NUL-separated --image-args-file).
 */

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Field;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.graalvm.collections.EconomicMap;

import com.oracle.svm.core.SubstrateUtil;
import com.oracle.svm.core.option.APIOption;
import com.oracle.svm.core.option.APIOptionGroup;
import com.oracle.svm.core.option.OptionUtils;
import com.oracle.svm.hosted.option.HostedOptionParser;
import com.oracle.svm.util.ReflectionUtil;

import jdk.graal.compiler.options.OptionDescriptor;
import jdk.graal.compiler.options.OptionDescriptors;
import jdk.graal.compiler.options.OptionStability;
import jdk.graal.compiler.options.OptionsContainer;

public class NativeAnalysis {

    static final String OH = "-H:";
    static final String OR = "-R:";
    static final String ORIGIN_USER = "user";
    static final String ORIGIN_DRIVER = "driver";
    static final String API_SUFFIX = "+api";
    static final String UNLOCK = "-H:+UnlockExperimentalVMOptions";
    static final String LOCK = "-H:-UnlockExperimentalVMOptions";

    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message);
        }
    }

    /** A driver API option, as the driver derives it from the builder's option descriptors. */
    record ApiOption(String name, char[] separators, String builderOption, String defaultValue, boolean defaultFinal,
                    List<Function<Object, Object>> transformers, APIOptionGroup group) {
    }

    record OptionInfo(boolean stable, boolean isBoolean) {
    }

    record ExcludeConfig(Pattern jar, Pattern resource) {
    }

    final Map<String, ApiOption> apiOptions = new TreeMap<>();
    final Map<String, String> groupNames = new HashMap<>();
    final Map<String, OptionInfo> allOptions = new HashMap<>();
    final List<String[]> metaInfFileTypes = new ArrayList<>(); // {file name, builder option name}

    final Path workDir;
    final Path cwd;
    final Path javaHome;
    final List<String> imageBuilderArgs = new ArrayList<>();
    final Set<String> leftoverArgs = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    final List<String> imageBuilderJavaArgs = new ArrayList<>();
    final List<String> customJavaArgs = new ArrayList<>();
    final LinkedHashSet<Path> customImageClasspath = new LinkedHashSet<>();
    final List<ExcludeConfig> excludes = new ArrayList<>();
    final LinkedHashSet<String> addModules = new LinkedHashSet<>();
    final List<String> experimentalWithoutUnlock = new ArrayList<>();
    int activeUnlocks = 0;
    boolean jarOptionMode = false;

    NativeAnalysis(Path cwd, Path javaHome, Path workDir) {
        this.cwd = cwd;
        this.javaHome = javaHome;
        this.workDir = workDir;
        collectOptions();
        collectMetaInfFileTypes();
        /* The driver generates the image into its working directory. */
        addPlainImageBuilderArg(OH + "Path=" + workDir, ORIGIN_DRIVER);
    }

    // ---------------------------------------------------------------- option metadata

    void collectOptions() {
        Iterable<OptionDescriptors> descriptors = OptionsContainer.getDiscoverableOptions(NativeAnalysis.class.getClassLoader());
        EconomicMap<String, OptionDescriptor> hosted = EconomicMap.create();
        EconomicMap<String, OptionDescriptor> runtime = EconomicMap.create();
        HostedOptionParser.collectOptions(descriptors, hosted, runtime);
        hosted.getValues().forEach(d -> extract(OH, d));
        runtime.getValues().forEach(d -> extract(OR, d));
    }

    @SuppressWarnings("unchecked")
    void extract(String prefix, OptionDescriptor d) {
        Class<?> type = d.getOptionValueType();
        boolean isBoolean = type.equals(Boolean.class);
        for (APIOption api : OptionUtils.getAnnotationsByType(d, APIOption.class)) {
            String apiName = APIOption.Utils.optionName(api.name()[0]);
            String builderOption = prefix;
            String defaultValue = null;
            APIOptionGroup group = null;
            if (isBoolean) {
                if (!api.group().equals(APIOption.NullGroup.class)) {
                    group = ReflectionUtil.newInstance(api.group());
                    String groupName = APIOption.Utils.groupName(group);
                    apiName = groupName + api.name()[0];
                    if ((Boolean) d.getOptionKey().getDefaultValue()) {
                        defaultValue = api.name()[0];
                    }
                    groupNames.put(groupName, APIOption.Utils.optionName(group.name()));
                }
                builderOption += (api.kind() == APIOption.APIOptionKind.Negated ? "-" : "+") + d.getName();
            } else {
                if (api.defaultValue().length > 0) {
                    defaultValue = api.defaultValue()[0];
                }
                if (api.fixedValue().length > 0) {
                    defaultValue = api.fixedValue()[0];
                }
                builderOption += d.getName() + "=";
            }
            List<Function<Object, Object>> transformers = new ArrayList<>();
            for (Class<? extends Function<Object, Object>> t : api.valueTransformer()) {
                transformers.add(ReflectionUtil.newInstance(t));
            }
            boolean defaultFinal = isBoolean || api.fixedValue().length > 0;
            for (String variant : api.name()) {
                String variantName = group == null ? APIOption.Utils.optionName(variant) : APIOption.Utils.groupName(group) + variant;
                apiOptions.put(variantName, new ApiOption(variantName, api.valueSeparator(), builderOption, defaultValue, defaultFinal, transformers, group));
            }
        }
        allOptions.put(d.getName(), new OptionInfo(d.getStability() == OptionStability.STABLE, isBoolean));
    }

    /* The driver's MetaInfFileType: META-INF/native-image files lowered to -H:*Resources options. */
    void collectMetaInfFileTypes() {
        String[][] pairs = {
                        {"REACHABILITY_METADATA", "ReachabilityMetadataResources"},
                        {"JNI", "JNIConfigurationResources"},
                        {"FOREIGN", "ForeignResources"},
                        {"REFLECTION", "ReflectionConfigurationResources"},
                        {"RESOURCES", "ResourceConfigurationResources"},
                        {"DYNAMIC_PROXY", "DynamicProxyConfigurationResources"},
                        {"SERIALIZATION", "SerializationConfigurationResources"},
                        {"SERIALIZATION_DENY", "SerializationDenyConfigurationResources"},
                        {"PREDEFINED_CLASSES_NAME", "PredefinedClassesConfigurationResources"}};
        try {
            Class<?> fileEnum = Class.forName("com.oracle.svm.configure.ConfigurationFile");
            Class<?> options = Class.forName("com.oracle.svm.core.configure.ConfigurationFiles$Options");
            for (String[] pair : pairs) {
                Object constant;
                try {
                    constant = fileEnum.getField(pair[0]).get(null);
                    options.getField(pair[1]);
                } catch (NoSuchFieldException e) {
                    continue; /* not in this builder version */
                }
                String fileName = (String) fileEnum.getMethod("getFileName").invoke(constant);
                metaInfFileTypes.add(new String[]{fileName, pair[1]});
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- argument processing

    static String injectOrigin(String option, String origin) {
        if (origin == null || !option.startsWith(OH)) {
            return option;
        }
        int eq = option.indexOf('=');
        char first = option.length() > OH.length() ? option.charAt(OH.length()) : 0;
        if (first == '+' || first == '-') {
            if (eq != -1) {
                throw new Failure("Malformed boolean native-image hosted-option '" + option + "' from " + origin);
            }
            return option + "@" + origin;
        }
        if (eq == -1) {
            throw new Failure("Malformed native-image hosted-option '" + option + "' ('=' missing after option name) from " + origin);
        }
        return option.substring(0, eq) + "@" + origin + option.substring(eq);
    }

    void addPlainImageBuilderArg(String arg, String origin) {
        imageBuilderArgs.add(injectOrigin(arg, origin));
    }

    /** The driver's NativeImageArgsProcessor.apply: command-line-only options first, then handlers. */
    void process(List<String> rawArgs, String origin, boolean strict) {
        ArrayDeque<String> args = new ArrayDeque<>(rawArgs);
        ArrayDeque<String> queue = new ArrayDeque<>();
        while (!args.isEmpty()) {
            String head = args.peek();
            if (head.equals("--exclude-config")) {
                requireCommandLine(head, origin);
                args.poll();
                String jar = args.poll();
                String resource = args.poll();
                if (jar == null || resource == null) {
                    throw new Failure("--exclude-config requires two arguments: a jar regular expression and a resource regular expression");
                }
                excludes.add(new ExcludeConfig(Pattern.compile(jar), Pattern.compile(resource)));
            } else if (head.equals("--verbose") || head.equals("--dry-run") || head.equals("--configurations-path")
                            || head.startsWith("--bundle") || head.startsWith("--debug-attach") || head.startsWith("--expert-options")
                            || head.equals("--help") || head.equals("--help-extra") || head.equals("--version")) {
                throw new Failure("Option " + head + " from " + origin + " is not supported by this analysis");
            } else {
                queue.add(args.poll());
            }
        }
        while (!queue.isEmpty()) {
            if (consumeMacro(queue, origin) || consumeApi(queue, origin) || consumeDefault(queue, origin)) {
                continue;
            }
            if (strict) {
                throw new Failure("Property 'Args' contains invalid entry '" + queue.peek() + "' (" + origin + ")");
            }
            String leftover = new String(queue.poll());
            leftoverArgs.add(leftover);
            imageBuilderArgs.add(leftover);
        }
    }

    static void requireCommandLine(String option, String origin) {
        if (!origin.equals(ORIGIN_USER)) {
            throw new Failure("Using '" + option + "' provided by " + origin + " is only allowed on command line.");
        }
    }

    boolean consumeMacro(ArrayDeque<String> queue, String origin) {
        String head = queue.peek();
        if (head.startsWith("--language:") || head.startsWith("--tool:") || head.startsWith("--macro:")) {
            throw new Failure("Macro option " + head + " from " + origin + " needs the GraalVM distribution; not supported by this analysis");
        }
        return false;
    }

    boolean consumeApi(ArrayDeque<String> queue, String origin) {
        String head = queue.peek();
        String translated = translateApiOption(queue, origin);
        if (translated != null) {
            queue.poll();
            addPlainImageBuilderArg(translated, origin + API_SUFFIX);
            return true;
        }
        if (UNLOCK.equals(head)) {
            activeUnlocks++;
        } else if (LOCK.equals(head)) {
            activeUnlocks--;
        } else if (!origin.endsWith(API_SUFFIX) && head.startsWith(OH)) {
            validateHostedOption(head, origin);
        }
        for (Map.Entry<String, String> group : groupNames.entrySet()) {
            if (head.startsWith(group.getKey())) {
                throw new Failure("In " + origin + " '" + head.substring(group.getKey().length()) + "' is not a valid value for the option " + group.getValue());
            }
        }
        return false;
    }

    String translateApiOption(ArrayDeque<String> queue, String origin) {
        String head = queue.peek();
        ApiOption option = null;
        String value = null;
        boolean hasValue = false;
        found: for (ApiOption candidate : apiOptions.values()) {
            if (candidate.group() != null && candidate.group().multiValueOption() != null) {
                String groupName = APIOption.Utils.groupName(candidate.group());
                if (head.startsWith(groupName)) {
                    return head.replace(APIOption.Utils.optionName(candidate.group().name()), OH + candidate.group().multiValueOption().getName());
                }
                continue;
            }
            String name = candidate.name();
            if ((candidate.defaultFinal() || candidate.defaultValue() != null) && head.equals(name)) {
                option = candidate;
                break;
            }
            for (char separator : candidate.separators()) {
                if (separator == APIOption.WHITESPACE_SEPARATOR && head.equals(name)) {
                    queue.poll();
                    value = queue.peek();
                    if (value == null) {
                        throw new Failure(head + " from " + origin + " requires option argument");
                    }
                    option = candidate;
                    hasValue = true;
                    break found;
                }
                String withSeparator = name + APIOption.Utils.valueSeparatorToString(separator);
                if (head.startsWith(withSeparator)) {
                    option = candidate;
                    value = head.substring(withSeparator.length());
                    hasValue = true;
                    break found;
                }
            }
        }
        if (option == null) {
            return null;
        }
        String optionValue = option.group() != null ? null : option.defaultValue();
        if (hasValue) {
            if (option.defaultFinal()) {
                throw new Failure("Passing values to option " + option.name() + " from " + origin + " is not supported.");
            }
            optionValue = value;
        }
        String builderOption = option.builderOption();
        if (optionValue != null) {
            Object transformed = optionValue;
            for (Function<Object, Object> t : option.transformers()) {
                transformed = t.apply(transformed);
            }
            builderOption += transformed.toString();
        }
        return builderOption;
    }

    void validateHostedOption(String arg, String origin) {
        String name = arg.substring(OH.length()).split("=", 2)[0].split("@", 2)[0];
        char booleanPrefix = 0;
        if (!name.isEmpty() && (name.charAt(0) == '+' || name.charAt(0) == '-')) {
            booleanPrefix = name.charAt(0);
            name = name.substring(1);
        }
        OptionInfo info = allOptions.get(name);
        if (info == null) {
            throw new Failure("Unrecognized option '" + arg + "' from " + origin + ".");
        }
        if ((booleanPrefix != 0) != info.isBoolean()) {
            throw new Failure("Option '" + arg + "' from " + origin + (info.isBoolean() ? " is a boolean option (-H:+/-" + name + ")" : " needs a value (-H:" + name + "=...)"));
        }
        if (activeUnlocks == 0 && !info.stable()) {
            experimentalWithoutUnlock.add(arg + " (" + origin + ")");
        }
    }

    boolean consumeDefault(ArrayDeque<String> queue, String origin) {
        String head = queue.peek();
        switch (head) {
            case "-cp", "-classpath", "--class-path" -> {
                queue.poll();
                String cp = queue.poll();
                if (cp == null) {
                    throw new Failure(head + " requires class path specification");
                }
                for (String entry : cp.split(java.io.File.pathSeparator, -1)) {
                    addImageClasspathEntry(customImageClasspath, cwd.resolve(entry.isEmpty() ? "." : entry), false);
                }
                return true;
            }
            case "-jar" -> {
                queue.poll();
                String jar = queue.poll();
                if (jar == null) {
                    throw new Failure("-jar requires a valid jarfile");
                }
                Path jarPath = canonical(cwd.resolve(jar));
                String manifestOrigin = "manifest from " + jarPath.toUri();
                String base = jarPath.getFileName().toString().replaceFirst("\\.jar$", "");
                if (!base.isEmpty() && imageBuilderArgs.stream().noneMatch(a -> a.matches("^-H:Name(@[^=]*)?=.*"))) {
                    addPlainImageBuilderArg(OH + "Name=" + base, manifestOrigin);
                }
                Manifest manifest = manifest(jarPath);
                if (manifest == null) {
                    throw new Failure("No manifest in " + jarPath);
                }
                /* The driver's handleManifestFileAttributes. */
                var attributes = manifest.getMainAttributes();
                String mainClass = attributes.getValue("Main-Class");
                if (mainClass == null) {
                    throw new Failure("No main manifest attribute, in " + jarPath);
                }
                addPlainImageBuilderArg(OH + "Class=" + mainClass, manifestOrigin);
                for (String[] attribute : new String[][]{{"Add-Opens", "AddOpens"}, {"Add-Exports", "AddExports"}}) {
                    String value = attributes.getValue(attribute[0]);
                    if (value != null) {
                        for (String module : value.split(" ")) {
                            imageBuilderArgs.add(OH + attribute[1] + "=" + module + "=ALL-UNNAMED");
                        }
                    }
                }
                String nativeAccess = attributes.getValue("Enable-Native-Access");
                if (nativeAccess != null) {
                    if (!nativeAccess.equals("ALL-UNNAMED")) {
                        throw new Failure("illegal value \"" + nativeAccess + "\" for Enable-Native-Access manifest attribute. Only ALL-UNNAMED is allowed");
                    }
                    imageBuilderJavaArgs.add("--enable-native-access=ALL-UNNAMED");
                }
                addImageClasspathEntry(customImageClasspath, jarPath, true);
                jarOptionMode = true;
                return true;
            }
            case "--add-modules" -> {
                queue.poll();
                String modules = queue.poll();
                imageBuilderJavaArgs.add("--add-modules");
                imageBuilderJavaArgs.add(modules);
                addModules.addAll(List.of(modules.split(",")));
                return true;
            }
            case "-p", "--module-path", "-m", "--module" -> throw new Failure("Module-path image builds are not supported by this analysis (" + head + ")");
            default -> {
            }
        }
        if (head.startsWith("--class-path=")) {
            queue.poll();
            queue.push(head.substring("--class-path=".length()));
            queue.push("--class-path");
            return consumeDefault(queue, origin);
        }
        if (head.startsWith(OH)) {
            queue.poll();
            imageBuilderArgs.add(injectOrigin(head, origin));
            return true;
        }
        if (head.startsWith(OR)) {
            queue.poll();
            imageBuilderArgs.add(head);
            return true;
        }
        if (head.startsWith("-D")) {
            queue.poll();
            customJavaArgs.add(head);
            return true;
        }
        if (head.startsWith("-J")) {
            queue.poll();
            if (head.equals("-J")) {
                throw new Failure("The -J option should not be followed by a space");
            }
            customJavaArgs.add(head.substring(2));
            return true;
        }
        if (head.startsWith("-O")) {
            queue.poll();
            addPlainImageBuilderArg(OH + "Optimize=" + head.substring(2), null);
            return true;
        }
        if (head.startsWith("--add-modules=")) {
            queue.poll();
            String modules = head.substring("--add-modules=".length());
            imageBuilderJavaArgs.add("--add-modules");
            imageBuilderJavaArgs.add(modules);
            addModules.addAll(List.of(modules.split(",")));
            return true;
        }
        if (head.startsWith("@")) {
            throw new Failure("@argfiles inside native-image arguments are not supported by this analysis (" + head + ")");
        }
        return false;
    }

    // ---------------------------------------------------------------- class path and META-INF

    Path canonical(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new Failure("Invalid Path entry " + p);
        }
    }

    static Manifest manifest(Path jar) {
        try (JarFile jf = new JarFile(jar.toFile())) {
            return jf.getManifest();
        } catch (IOException e) {
            throw new Failure("Invalid or corrupt jarfile " + jar);
        }
    }

    void addImageClasspathEntry(LinkedHashSet<Path> destination, Path entry, boolean strict) {
        Path path;
        try {
            path = entry.toRealPath();
        } catch (IOException e) {
            if (strict) {
                throw new Failure("Invalid Path entry " + entry);
            }
            destination.add(entry.toAbsolutePath().normalize());
            return;
        }
        if (customImageClasspath.contains(path)) {
            return;
        }
        destination.add(path);
        if (Files.isRegularFile(path) && path.toString().toLowerCase().endsWith(".jar")) {
            Manifest manifest = manifest(path);
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
            if (classPath != null) {
                for (String cp : classPath.trim().split(" +")) {
                    Path p = Path.of(cp);
                    if (!p.isAbsolute()) {
                        p = path.getParent().resolve(p);
                    }
                    addImageClasspathEntry(destination, p.normalize(), false);
                }
            }
        }
        walkMetaInf(path);
    }

    void walkMetaInf(Path entry) {
        try {
            if (Files.isDirectory(entry)) {
                processMetaInf(entry, entry.resolve("META-INF/native-image"));
            } else if (entry.toString().toLowerCase().endsWith(".jar")) {
                try (FileSystem fs = FileSystems.newFileSystem(URI.create("jar:" + entry.toUri()), Map.of())) {
                    processMetaInf(entry, fs.getPath("/META-INF/native-image"));
                }
            }
        } catch (IOException e) {
            throw new Failure("Invalid classpath entry " + entry + ": " + e);
        }
    }

    void processMetaInf(Path entry, Path base) throws IOException {
        if (!Files.isDirectory(base)) {
            return;
        }
        List<String[]> types = new ArrayList<>();
        types.add(new String[]{"native-image.properties", null});
        types.addAll(metaInfFileTypes);
        for (String[] type : types) {
            List<Path> files;
            try (Stream<Path> walk = Files.walk(base)) {
                files = walk.filter(p -> p.endsWith(type[0])).collect(Collectors.toList());
            }
            for (Path file : files) {
                boolean excluded = excludes.stream().filter(e -> e.jar().matcher(entry.toString()).find())
                                .anyMatch(e -> e.resource().matcher(file.toString()).find());
                if (excluded) {
                    continue;
                }
                Path resourceRoot = base.getParent().getParent();
                processMetaInfResource(resourceRoot, file, type[1]);
            }
        }
    }

    void processMetaInfResource(Path resourceRoot, Path file, String resourcesOption) throws IOException {
        boolean isProperties = resourcesOption == null;
        String origin = file.toUri() + (isProperties ? "" : API_SUFFIX);
        Path componentDirectory = resourceRoot.relativize(file).getParent();
        Function<String, String> resolver = s -> s.replace("${.}", componentDirectory.toString()).replace("${java.home}", javaHome.toString());
        List<String> args = new ArrayList<>();
        if (isProperties) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                properties.load(in);
            }
            String imageName = properties.getProperty("ImageName");
            if (imageName != null) {
                addPlainImageBuilderArg(OH + "Name=" + resolver.apply(imageName), file.toUri().toString());
            }
            forEachValue(properties.getProperty("JavaArgs"), v -> imageBuilderJavaArgs.add(resolver.apply(v)));
            forEachValue(properties.getProperty("Args"), v -> args.add(resolver.apply(v)));
            forEachValue(properties.getProperty("ProvidedHostedOptions"), v -> {
                String n = resolver.apply(v);
                allOptions.put(n.endsWith("=") ? n.substring(0, n.length() - 1) : n, new OptionInfo(false, !n.endsWith("=")));
            });
        } else {
            args.add(OH + resourcesOption + "=" + resourceRoot.relativize(file));
        }
        process(args, origin, true);
    }

    static void forEachValue(String value, java.util.function.Consumer<String> target) {
        if (value != null) {
            for (String part : value.trim().split("\\s+")) {
                if (!part.isEmpty()) {
                    target.accept(part);
                }
            }
        }
    }

    // ---------------------------------------------------------------- the builder command

    void complete(List<String> builderJars, String svmVersion, String maxHeap, List<String> extraBuilderArgs, List<String> userArgs) throws IOException {
        if (!experimentalWithoutUnlock.isEmpty()) {
            throw new Failure("The option(s) " + String.join(", ", experimentalWithoutUnlock)
                            + " are experimental and must be enabled via '-H:+UnlockExperimentalVMOptions' prior to usage.");
        }
        process(extraBuilderArgs, ORIGIN_USER, false);

        /* The image name: in -jar mode the first leftover argument. */
        List<String> leftovers = new ArrayList<>();
        for (String a : imageBuilderArgs) {
            if (leftoverArgs.contains(a)) {
                leftovers.add(a);
            }
        }
        imageBuilderArgs.removeIf(leftoverArgs::contains);
        if (!leftovers.isEmpty()) {
            String name = leftovers.removeFirst();
            if (!jarOptionMode && imageBuilderArgs.stream().noneMatch(a -> a.matches("^-H:Class(@[^=]*)?=.*"))) {
                addPlainImageBuilderArg(OH + "Class=" + name, "explicit main-class");
                if (leftovers.isEmpty()) {
                    throw new Failure("Missing image-name");
                }
                name = leftovers.removeFirst();
            }
            addPlainImageBuilderArg(OH + "Name=" + name, "explicit image name");
        }
        if (!leftovers.isEmpty()) {
            throw new Failure("Unrecognized option(s): " + leftovers);
        }

        String platform = "linux-amd64";
        Path clibraries = javaHome.resolve("lib/svm/clibraries");
        imageBuilderArgs.addFirst(OH + "CLibraryPath=" + clibraries.resolve(platform).resolve("glibc") + "," + clibraries.resolve(platform) + "," + clibraries);
        String buildId = SubstrateUtil.getUUIDFromString(userArgs.toString()).toString();
        addPlainImageBuilderArg(OH + "ImageBuildID=" + buildId, ORIGIN_DRIVER);

        /* Builder JVM: what the driver passes (prepareImageBuildArgs, completeImageBuild). */
        List<String> jvm = new ArrayList<>();
        jvm.add("-XX:-UseJVMCICompiler");
        jvm.add("-Xss10m");
        jvm.add("-Xmx" + maxHeap);
        jvm.add("-XX:+UseParallelGC");
        jvm.add("-Djava.awt.headless=true");
        /* The driver passes its own JDK's vendor data: a GraalVM CE of the builder's version here. */
        jvm.add("-Dorg.graalvm.vendor=GraalVM Community");
        jvm.add("-Dorg.graalvm.vendorurl=https://www.graalvm.org/");
        jvm.add("-Dorg.graalvm.vendorversion=GraalVM CE " + svmVersion);
        jvm.add("-Dorg.graalvm.version=" + svmVersion);
        jvm.add("-Dcom.oracle.graalvm.isaot=true");
        jvm.add("-Djava.system.class.loader=com.oracle.svm.hosted.NativeImageSystemClassLoader");
        jvm.add("-Dorg.graalvm.nativeimage.imagecode=buildtime");
        jvm.add("-Xshare:off");
        jvm.addAll(imageBuilderJavaArgs);
        jvm.add("-Djdk.internal.lambda.disableEagerInitialization=true");
        jvm.add("-Djdk.internal.lambda.eagerlyInitialize=false");
        jvm.add("-Djava.lang.invoke.InnerClassLambdaMetafactory.initializeLambdas=false");
        jvm.add("-Djava.lang.invoke.MethodHandle.DONT_INLINE_THRESHOLD=-1");
        jvm.add("-Djava.lang.invoke.MethodHandle.PROFILE_GWT=false");
        jvm.addAll(customJavaArgs);
        jvm.add("--add-modules=ALL-DEFAULT");
        List<String> builderModules = moduleNames(builderJars);
        jvm.add("--enable-native-access=" + String.join(",", builderModules));
        String compilerJar = builderJars.stream().filter(j -> moduleName(j).equals("jdk.graal.compiler")).findFirst().orElseThrow();
        jvm.add("--upgrade-module-path");
        jvm.add(compilerJar);
        jvm.add("--module-path");
        jvm.add(builderJars.stream().filter(j -> !j.equals(compilerJar)).collect(Collectors.joining(java.io.File.pathSeparator)));
        if (!addModules.isEmpty()) {
            jvm.add("-Dsvm.modulesupport.addedModules=" + String.join(",", addModules));
        }
        jvm.add("--module");
        jvm.add("org.graalvm.nativeimage.builder/com.oracle.svm.hosted.NativeImageGeneratorRunner");

        List<String> image = new ArrayList<>();
        image.add("-imagecp");
        image.add(customImageClasspath.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator)));
        image.addAll(imageBuilderArgs);

        Files.writeString(workDir.resolve("builder.jvm.args"), jvm.stream().map(NativeAnalysis::quote).collect(Collectors.joining("\n")) + "\n");
        Files.writeString(workDir.resolve("builder.image.args"), String.join("\0", image));
        Files.writeString(workDir.resolve("builder.image.args.txt"), String.join("\n", image) + "\n");
    }

    static String quote(String arg) {
        return "\"" + arg.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String moduleName(String jar) {
        return ModuleFinder.of(Path.of(jar)).findAll().stream().map(r -> r.descriptor().name()).findFirst().orElse("");
    }

    static List<String> moduleNames(List<String> jars) {
        return jars.stream().map(NativeAnalysis::moduleName).filter(n -> !n.isEmpty()).collect(Collectors.toList());
    }

    // ---------------------------------------------------------------- GraalVM's own C headers

    /*
     * The builder's C annotation processor compiles a query program against GraalVM's own C
     * headers (in a distribution: lib/svm/clibraries/<platform>/include) to learn struct layouts
     * and constant values. Maven Central does not carry them. The analysis needs only that the
     * declared structs, fields and constants exist: this writes, for each such header, a header
     * declaring them from the Java side (@CStruct/@CField/@CConstant of the classes in the
     * header's @CContext). Layouts and constant values are therefore not GraalVM's; they matter to
     * compiled code, which this analysis does not produce.
     */
    static final String[][] PROJECT_HEADERS = {
                    {"com.oracle.svm.core.c.locale.LocaleDirectives", "include/svm_locale.h"},
                    {"com.oracle.svm.core.amd64.AMD64LibCHelperDirectives", "include/amd64cpufeatures.h"},
                    {"com.oracle.svm.core.aarch64.AArch64LibCHelperDirectives", "include/aarch64cpufeatures.h"},
                    {"com.oracle.svm.core.riscv64.RISCV64LibCHelperDirectives", "include/riscv64cpufeatures.h"}};

    static void writeProjectHeaders(Path builderJar, Path includeRoot) throws IOException, ReflectiveOperationException {
        for (String[] header : PROJECT_HEADERS) {
            Class<?> directives = Class.forName(header[0], false, NativeAnalysis.class.getClassLoader());
            String pkg = directives.getPackageName().replace('.', '/') + "/";
            List<Class<?>> classes = new ArrayList<>();
            try (JarFile jar = new JarFile(builderJar.toFile())) {
                for (var entries = jar.entries(); entries.hasMoreElements();) {
                    String name = entries.nextElement().getName();
                    if (name.startsWith(pkg) && name.endsWith(".class") && name.indexOf('/', pkg.length()) < 0 && !name.contains("module-info")) {
                        Class<?> c = Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false, directives.getClassLoader());
                        if (directives.equals(cContext(c))) {
                            classes.add(c);
                        }
                    }
                }
            }
            classes.sort(java.util.Comparator.comparing(Class::getName));
            StringBuilder h = new StringBuilder();
            String guard = header[1].replaceAll("[^A-Za-z0-9]", "_").toUpperCase();
            h.append("/* Declarations for GraalVM's image builder analysis, generated from the @CContext(")
                            .append(directives.getSimpleName()).append(") classes. */\n#ifndef ").append(guard).append("\n#define ").append(guard).append("\n");
            int constant = 1;
            for (Class<?> c : classes) {
                var struct = c.getAnnotation(org.graalvm.nativeimage.c.struct.CStruct.class);
                if (struct != null) {
                    String name = struct.value().isEmpty() ? c.getSimpleName() : struct.value();
                    h.append(struct.addStructKeyword() ? "struct " + name + " {\n" : "typedef struct {\n");
                    for (var m : c.getDeclaredMethods()) {
                        var field = m.getAnnotation(org.graalvm.nativeimage.c.struct.CField.class);
                        if (field != null && m.getParameterCount() == 0) {
                            h.append("  ").append(cType(m.getReturnType())).append(' ').append(field.value().isEmpty() ? m.getName() : field.value()).append(";\n");
                        }
                    }
                    h.append(struct.addStructKeyword() ? "};\n" : "} " + name + ";\n");
                }
                for (var m : c.getDeclaredMethods()) {
                    var cc = m.getAnnotation(org.graalvm.nativeimage.c.constant.CConstant.class);
                    if (cc != null) {
                        h.append("#define ").append(cc.value().isEmpty() ? m.getName() : cc.value()).append(' ').append(constant++).append('\n');
                    }
                }
            }
            h.append("#endif\n");
            Path file = includeRoot.resolve(header[1]);
            Files.createDirectories(file.getParent());
            Files.writeString(file, h.toString());
        }
    }

    static Class<?> cContext(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            var context = k.getAnnotation(org.graalvm.nativeimage.c.CContext.class);
            if (context != null) {
                return context.value();
            }
        }
        return null;
    }

    static String cType(Class<?> t) {
        if (t == boolean.class || t == byte.class) {
            return "char";
        } else if (t == short.class || t == char.class) {
            return "short";
        } else if (t == int.class) {
            return "int";
        } else if (t == long.class) {
            return "long long";
        } else if (t == float.class) {
            return "float";
        } else if (t == double.class) {
            return "double";
        } else if (t.getSimpleName().equals("CCharPointer")) {
            return "char *";
        }
        return "void *";
    }

    /* native-image.args as Quarkus writes it: arguments separated by whitespace. */
    static List<String> readArgs(Path file) throws IOException {
        String content = Files.readString(file, StandardCharsets.UTF_8).trim();
        return content.isEmpty() ? List.of() : List.of(content.split("\\s+"));
    }

    public static void main(String[] argv) throws Exception {
        int sep = List.of(argv).indexOf("--");
        List<String> head = List.of(argv).subList(0, sep < 0 ? argv.length : sep);
        List<String> extra = sep < 0 ? List.of() : List.of(argv).subList(sep + 1, argv.length);
        Path sources = Path.of(head.get(0)).toAbsolutePath().normalize();
        Path javaHome = Path.of(head.get(1)).toAbsolutePath().normalize();
        Path work = Path.of(head.get(2)).toAbsolutePath().normalize();
        String svmVersion = head.get(3);
        String maxHeap = head.get(4);
        List<String> jars = head.subList(5, head.size());
        try {
            Path svmJar = jars.stream().map(Path::of).filter(j -> j.getFileName().toString().equals("svm-" + svmVersion + ".jar")).findFirst().orElseThrow();
            /* The C library search path the driver passes (-H:CLibraryPath) must exist. */
            Files.createDirectories(javaHome.resolve("lib/svm/clibraries/linux-amd64/glibc"));
            writeProjectHeaders(svmJar, javaHome.resolve("lib/svm/clibraries/linux-amd64"));
            NativeAnalysis na = new NativeAnalysis(sources, javaHome, work);
            List<String> userArgs = readArgs(sources.resolve("native-image.args"));
            na.process(userArgs, ORIGIN_USER, false);
            na.complete(jars, svmVersion, maxHeap, extra, userArgs);
        } catch (Failure f) {
            System.err.println("Error: " + f.getMessage());
            System.exit(2);
        }
    }
}
