package io.mqttdynamo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The packages follow the data and lean on those below them only: web → cluster → delivery → ingest → hooks →
 * store and broker (side by side, neither using the other) → config → domain. Only store speaks DynamoDB (the AWS
 * SDK), only broker the HiveMQ client's RxJava, and only the embedded broker's own package refers to it (it exists
 * in dev mode and tests only); delays and periodic work run on one scheduler, Mutiny's. Read from the sources: every {@code io.mqttdynamo.…}, {@code software.amazon.awssdk}
 * and {@code io.reactivex} name outside comments and strings, imported or written in full.
 */
class PackageLayersTest {

    private static final Path SOURCES = Path.of("src/main/java");

    /** Each package and the packages it may use besides its own; a sub-package belongs to its package. */
    private static final Map<String, Set<String>> MAY_USE = Map.of(
            "domain", Set.of(),
            "config", Set.of("domain"),
            "store", Set.of("config", "domain"),
            "broker", Set.of("config", "domain"),
            "hooks", Set.of("store", "broker", "config", "domain"),
            "ingest", Set.of("hooks", "store", "broker", "config", "domain"),
            "delivery", Set.of("ingest", "hooks", "store", "broker", "config", "domain"),
            "cluster", Set.of("delivery", "ingest", "hooks", "store", "broker", "config", "domain"),
            "web", Set.of("cluster", "delivery", "ingest", "hooks", "store", "broker", "config", "domain"));

    private static final Pattern OWN = Pattern.compile("\\bio\\.mqttdynamo\\.([a-z]+)(?:\\.[a-z]+)*\\.[A-Z]\\w*");
    private static final Pattern AWS_SDK = Pattern.compile("\\bsoftware\\.amazon\\.awssdk\\.");
    private static final Pattern RXJAVA = Pattern.compile("\\bio\\.reactivex\\.");
    private static final Pattern EMBEDDED = Pattern.compile("\\bio\\.mqttdynamo\\.broker\\.embedded\\.");
    /** Timers and thread pools of their own, beside the one scheduler the service's delays use (Mutiny's). */
    private static final Pattern OWN_TIMERS = Pattern.compile(
            "\\.setPeriodic\\(|\\.setTimer\\(|\\bExecutors\\.new|\\bnew (?:java\\.util\\.)?Timer\\(|\\bnew ScheduledThreadPoolExecutor\\(");
    /** Comments, string and character literals (text blocks included), left out before the names are read. */
    private static final Pattern NOT_CODE = Pattern.compile(
            "//[^\\n]*|/\\*.*?\\*/|\"\"\".*?\"\"\"" + "|\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\\\n])*'",
            Pattern.DOTALL);

    @Test
    void noPackageUsesOneAboveItOrBesideIt() throws IOException {
        List<String> breaches = new ArrayList<>();
        for (Path file : sources()) {
            String from = packageOf(file);
            assertThat(MAY_USE).as("the layer of package %s (%s)", from, file).containsKey(from);
            Matcher used = OWN.matcher(code(file));
            while (used.find()) {
                String to = used.group(1);
                if (!to.equals(from) && !MAY_USE.get(from).contains(to)) {
                    breaches.add(file + " (" + from + ") uses " + used.group() + " (" + to + ")");
                }
            }
        }
        assertThat(breaches).isEmpty();
    }

    @Test
    void onlyTheStoreSpeaksDynamoDb() throws IOException {
        assertThat(usersOf(AWS_SDK))
                .isNotEmpty()
                .allMatch(file -> packageOf(file).equals("store"));
    }

    @Test
    void onlyTheBrokerAdapterUsesRxJava() throws IOException {
        assertThat(usersOf(RXJAVA))
                .isNotEmpty()
                .allMatch(file -> packageOf(file).equals("broker"));
    }

    @Test
    void nothingOutsideTheEmbeddedBrokerRefersToIt() throws IOException {
        Path embedded = SOURCES.resolve("io/mqttdynamo/broker/embedded");
        assertThat(usersOf(EMBEDDED)).allMatch(file -> file.startsWith(embedded));
    }

    @Test
    void delaysAndPeriodicWorkUseOneScheduler() throws IOException {
        // The embedded broker is a Vert.x MQTT server: its session expiry timers are Vert.x's, on its event loop.
        Path embedded = SOURCES.resolve("io/mqttdynamo/broker/embedded");
        assertThat(usersOf(OWN_TIMERS)).allMatch(file -> file.startsWith(embedded));
    }

    /** The files whose code names something {@code pattern} matches. */
    private static List<Path> usersOf(Pattern pattern) throws IOException {
        List<Path> users = new ArrayList<>();
        for (Path file : sources()) {
            if (pattern.matcher(code(file)).find()) {
                users.add(file);
            }
        }
        return users;
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> files = Files.walk(SOURCES)) {
            List<Path> sources =
                    files.filter(p -> p.toString().endsWith(".java")).sorted().toList();
            assertThat(sources).isNotEmpty();
            return sources;
        }
    }

    /** The top package under io.mqttdynamo of a source file. */
    private static String packageOf(Path file) {
        return SOURCES.resolve("io/mqttdynamo").relativize(file).getName(0).toString();
    }

    private static String code(Path file) throws IOException {
        return NOT_CODE.matcher(Files.readString(file)).replaceAll(" ");
    }
}
