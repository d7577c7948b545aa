package io.mqttdynamo.deploy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.mqttdynamo.config.ConfigCheck;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.config.ConfigMappings;

/**
 * Keeps {@code k8s/} honest against the application: probe paths answer, the port is the image's, every
 * environment variable is a setting the application has (a renamed property breaks this test), selectors
 * select the pods, the image is the one the Dockerfiles build, the pod runs locked down, and no credential
 * is in git (the Secret is generated from a git-ignored file whose example the service refuses to run with).
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class KubernetesManifestsTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path K8S = Path.of("k8s");
    /** The manifests; k8s/kustomization.yaml applies them, overlays build on them. */
    private static final Path BASE = K8S.resolve("base");

    private static JsonNode statefulSet;
    private static JsonNode container;
    private static Map<String, JsonNode> byKind;
    /** The kustomization's generator of the credentials' Secret, and the example of its env file. */
    private static JsonNode secretGenerator;

    private static Map<String, String> exampleCredentials;

    @BeforeAll
    static void read() throws IOException {
        byKind = new java.util.HashMap<>();
        assertThat(resources(K8S.resolve("kustomization.yaml"))).containsExactly("base");
        for (String file : resources(BASE.resolve("kustomization.yaml"))) {
            JsonNode doc = YAML.readTree(BASE.resolve(file).toFile());
            assertThat(doc.path("apiVersion").asText()).as(file + " apiVersion").isNotEmpty();
            assertThat(doc.path("kind").asText()).as(file + " kind").isNotEmpty();
            assertThat(doc.path("metadata").path("name").asText())
                    .as(file + " name")
                    .startsWith("mqtt-dynamo");
            assertThat(doc.path("metadata").path("labels").path("app").asText())
                    .as(file + " label app")
                    .isEqualTo("mqtt-dynamo");
            String kind = doc.path("kind").asText();
            // Two Services: the dashboard's and the StatefulSet's headless one, kept under their names.
            byKind.put(
                    kind.equals("Service")
                                    && doc.path("spec")
                                            .path("clusterIP")
                                            .asText()
                                            .equals("None")
                            ? "HeadlessService"
                            : kind,
                    doc);
        }
        JsonNode generators =
                YAML.readTree(BASE.resolve("kustomization.yaml").toFile()).path("secretGenerator");
        assertThat(generators.size()).as("one secretGenerator").isEqualTo(1);
        secretGenerator = generators.get(0);
        exampleCredentials =
                envFile(BASE.resolve(secretGenerator.path("envs").get(0).asText() + ".example"));
        statefulSet = byKind.get("StatefulSet");
        container = statefulSet
                .path("spec")
                .path("template")
                .path("spec")
                .path("containers")
                .get(0);
    }

    @Test
    void kustomizationsListFilesThatExist() throws IOException {
        assertThat(byKind)
                .containsKeys(
                        "StatefulSet",
                        "Service",
                        "HeadlessService",
                        "ConfigMap",
                        "PodDisruptionBudget",
                        "ServiceAccount",
                        "Role",
                        "RoleBinding");
        assertThat(byKind)
                .doesNotContainKey("Deployment")
                .as("the Secret is generated")
                .doesNotContainKey("Secret");
        Path overlay = K8S.resolve("overlays/jvm");
        for (String resource : resources(overlay.resolve("kustomization.yaml"))) {
            assertThat(overlay.resolve(resource).resolve("kustomization.yaml")).exists();
            // kustomize refuses an overlay inside its own base (a cycle).
            assertThat(overlay.toAbsolutePath()
                            .normalize()
                            .startsWith(
                                    overlay.resolve(resource).toAbsolutePath().normalize()))
                    .as(resource)
                    .isFalse();
        }
    }

    @Test
    void probesAnswerOnTheContainerPort() throws IOException {
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            JsonNode get = container.path(probe).path("httpGet");
            assertThat(get.path("port").asText()).as(probe + " port").isEqualTo("http");
            given().get(get.path("path").asText()).then().statusCode(200);
        }
        JsonNode port = container.path("ports").get(0);
        assertThat(port.path("name").asText()).isEqualTo("http");
        assertThat(port.path("containerPort").asInt())
                .isEqualTo(exposedPort("Dockerfile.native-micro"))
                .isEqualTo(exposedPort("Dockerfile.jvm"))
                .isEqualTo(8080);
        assertThat(byKind.get("Service")
                        .path("spec")
                        .path("ports")
                        .get(0)
                        .path("targetPort")
                        .asText())
                .isEqualTo("http");
        assertThat(statefulSet.path("metadata").path("annotations").isMissingNode())
                .isTrue();
        assertThat(statefulSet
                        .path("spec")
                        .path("template")
                        .path("metadata")
                        .path("annotations")
                        .path("prometheus.io/path")
                        .asText())
                .satisfies(path -> given().get(path).then().statusCode(200));
    }

    @Test
    void everyEnvironmentVariableIsASettingOfTheApplication() throws IOException {
        Set<String> known = new HashSet<>();
        ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(MqttDynamoConfig.class, "mqtt-dynamo"))
                .keySet()
                .forEach(name -> known.add(envName(name)));
        Set<String> documented = new HashSet<>();
        // Table cells read "`mqtt-dynamo.broker.host` / `.port`": the second is a sibling of the first.
        Matcher property = Pattern.compile("`((?:mqtt-dynamo|quarkus)\\.[a-z0-9.\\-]+)`(?: / `(\\.[a-z0-9\\-]+)`)?")
                .matcher(Files.readString(Path.of("docs", "configuration.md")));
        while (property.find()) {
            String name = property.group(1);
            documented.add(envName(name));
            if (property.group(2) != null) {
                documented.add(envName(name.substring(0, name.lastIndexOf('.')) + property.group(2)));
            }
        }
        // The configuration table abbreviates a few: "…static-provider.access-key-id / secret-access-key".
        documented.add("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID");
        documented.add("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY");

        List<String> names = new ArrayList<>();
        byKind.get("ConfigMap").path("data").fieldNames().forEachRemaining(names::add);
        names.addAll(exampleCredentials.keySet());
        container.path("env").forEach(env -> names.add(env.path("name").asText()));
        names.remove("POD_NAME");
        // Commented settings (the AWS IoT Core example in configmap.yaml) are settings too, once uncommented.
        try (var files = Files.list(BASE)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
                Matcher commented = Pattern.compile("(?m)^\\s*#\\s*(MQTT_DYNAMO_[A-Z0-9_]+):")
                        .matcher(Files.readString(file));
                while (commented.find()) {
                    names.add(commented.group(1));
                }
            }
        }
        assertThat(names).contains("MQTT_DYNAMO_BROKER_TLS_KEY_FILE");
        assertThat(names).isNotEmpty();
        for (String name : names) {
            if (name.startsWith("MQTT_DYNAMO_")) {
                assertThat(known).as("a setting of MqttDynamoConfig").contains(name);
            }
            assertThat(documented)
                    .as("a setting in the configuration table (docs/configuration.md)")
                    .contains(name);
        }
        assertThat(container.path("envFrom").findValuesAsText("name"))
                .containsExactlyInAnyOrder("mqtt-dynamo-config", "mqtt-dynamo-config-creds");
    }

    @Test
    void noCredentialIsInGitAndTheSecretComesFromAGitIgnoredFile() throws IOException {
        assertThat(secretGenerator.path("name").asText()).isEqualTo("mqtt-dynamo-config-creds");
        assertThat(secretGenerator.path("envs").toString()).isEqualTo("[\"credentials.env\"]");
        assertThat(secretGenerator.has("literals"))
                .as("no literal values in git")
                .isFalse();
        assertThat(Files.readAllLines(Path.of(".gitignore"))).contains("k8s/base/credentials.env");
        // No manifest anywhere under k8s/ carries a Secret's values.
        try (var files = Files.walk(K8S)) {
            for (Path file : files.filter(
                            f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                    .toList()) {
                for (JsonNode doc : YAML.readValues(YAML.createParser(file.toFile()), JsonNode.class)
                        .readAll()) {
                    assertThat(doc.path("kind").asText()).as(file.toString()).isNotEqualTo("Secret");
                }
            }
        }
        assertThat(exampleCredentials)
                .containsKeys(
                        "MQTT_DYNAMO_BROKER_PASSWORD",
                        "MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD",
                        "QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID",
                        "QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY");
    }

    /** A deployment that copies the example without filling it in does not start: each placeholder is named. */
    @Test
    void theServiceRefusesToStartWithTheExampleCredentials() {
        Map<String, String> deployed = new java.util.HashMap<>(exampleCredentials);
        byKind.get("ConfigMap")
                .path("data")
                .fields()
                .forEachRemaining(e -> deployed.put(e.getKey(), e.getValue().asText()));
        io.smallrye.config.SmallRyeConfig config = new io.smallrye.config.SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withSources(new io.smallrye.config.EnvConfigSource(deployed, 300))
                .build();
        List<String> problems = ConfigCheck.check(
                        config.getConfigMapping(MqttDynamoConfig.class),
                        new ConfigCheck.Surroundings(
                                name -> config.getOptionalValue(name, String.class), Map.of(), true))
                .problems();
        assertThat(problems).hasSize(4);
        for (String property : List.of(
                "mqtt-dynamo.broker.password",
                "mqtt-dynamo.dashboard.auth.password",
                "quarkus.dynamodb.aws.credentials.static-provider.access-key-id",
                "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key")) {
            assertThat(problems)
                    .anySatisfy(p -> assertThat(p).startsWith(property).contains("placeholder"));
        }
        exampleCredentials.forEach((name, value) -> assertThat(ConfigCheck.isPlaceholder(value))
                .as(name)
                .isEqualTo(name.endsWith("PASSWORD") || name.endsWith("_KEY") || name.endsWith("_KEY_ID")));
    }

    @Test
    void selectorsSelectThePods() {
        JsonNode podLabels =
                statefulSet.path("spec").path("template").path("metadata").path("labels");
        for (JsonNode selector : List.of(
                statefulSet.path("spec").path("selector").path("matchLabels"),
                byKind.get("Service").path("spec").path("selector"),
                byKind.get("HeadlessService").path("spec").path("selector"),
                byKind.get("PodDisruptionBudget").path("spec").path("selector").path("matchLabels"))) {
            assertThat(selector.size()).isPositive();
            selector.fields()
                    .forEachRemaining(
                            label -> assertThat(podLabels.path(label.getKey()).asText())
                                    .isEqualTo(label.getValue().asText()));
        }
        assertThat(statefulSet.path("spec").path("replicas").asInt()).isEqualTo(2);
        assertThat(byKind.get("ConfigMap")
                        .path("data")
                        .path("MQTT_DYNAMO_MESSAGES_TOPIC")
                        .asText())
                .as("replicas share the stream")
                .startsWith("$share/");
        assertThat(byKind.get("ConfigMap")
                        .path("data")
                        .path("MQTT_DYNAMO_EVENTS_TOPIC")
                        .asText())
                .as("replicas share the client events")
                .startsWith("$share/")
                .endsWith("/$SYS/brokers/+/clients/#");
        assertThat(byKind.get("ConfigMap")
                        .path("data")
                        .path("MQTT_DYNAMO_ACKS_TOPIC")
                        .asText())
                .as("replicas share the acks")
                .startsWith("$share/");
        assertThat(container.path("env").toString()).contains("$(POD_NAME)");
        assertThat(byKind.get("ConfigMap")
                        .path("data")
                        .path("MQTT_DYNAMO_STORE_CREATE_TABLES")
                        .asText())
                .as("tables from cloudformation/, the role cannot create them")
                .isEqualTo("false");
    }

    @Test
    void podsHaveStableNamesThatNameTheirSessions() {
        JsonNode spec = statefulSet.path("spec");
        assertThat(spec.path("serviceName").asText())
                .isEqualTo(byKind.get("HeadlessService")
                        .path("metadata")
                        .path("name")
                        .asText());
        // The client id is the pod name (mqtt-dynamo-0, ...): a replacement resumes the sessions.
        JsonNode clientId = null;
        JsonNode podName = null;
        for (JsonNode env : container.path("env")) {
            if (env.path("name").asText().equals("MQTT_DYNAMO_BROKER_CLIENT_ID")) {
                clientId = env;
            }
            if (env.path("name").asText().equals("POD_NAME")) {
                podName = env;
            }
        }
        assertThat(clientId.path("value").asText()).isEqualTo("$(POD_NAME)");
        assertThat(podName.path("valueFrom").path("fieldRef").path("fieldPath").asText())
                .isEqualTo("metadata.name");
        // A scale-down is told from a restart by reading the StatefulSet, which the Role allows and no more.
        assertThat(container.path("env").toString())
                .contains("MQTT_DYNAMO_BROKER_END_SESSIONS_ON_STOP")
                .contains("scale-down");
        JsonNode rule = byKind.get("Role").path("rules").get(0);
        assertThat(rule.path("resources").toString()).isEqualTo("[\"statefulsets\"]");
        assertThat(rule.path("verbs").toString()).isEqualTo("[\"get\"]");
        assertThat(rule.path("resourceNames").get(0).asText())
                .isEqualTo(statefulSet.path("metadata").path("name").asText());
        JsonNode binding = byKind.get("RoleBinding");
        assertThat(binding.path("roleRef").path("name").asText())
                .isEqualTo(byKind.get("Role").path("metadata").path("name").asText());
        assertThat(binding.path("subjects").get(0).path("name").asText())
                .isEqualTo(spec.path("template")
                        .path("spec")
                        .path("serviceAccountName")
                        .asText());
    }

    @Test
    void theImageIsTheOneTheDockerfilesBuild() throws IOException {
        JsonNode image = YAML.readTree(BASE.resolve("kustomization.yaml").toFile())
                .path("images")
                .get(0);
        assertThat(container.path("image").asText())
                .isEqualTo(image.path("name").asText());
        String tag = image.path("newName").asText() + ":" + image.path("newTag").asText();
        assertThat(Files.readString(Path.of("src/main/docker/Dockerfile.native-micro")))
                .contains("-t " + tag + " .");
        assertThat(Files.readString(Path.of("pom.xml")))
                .contains("<artifactId>" + image.path("newName").asText() + "</artifactId>");
        JsonNode jvm = YAML.readTree(
                        K8S.resolve("overlays/jvm/kustomization.yaml").toFile())
                .path("images")
                .get(0);
        assertThat(Files.readString(Path.of("src/main/docker/Dockerfile.jvm")))
                .contains("-t " + jvm.path("newName").asText() + ":"
                        + jvm.path("newTag").asText() + " .");
    }

    @Test
    void thePodRunsLockedDownAndDrainsBeforeItIsKilled() {
        JsonNode pod = statefulSet.path("spec").path("template").path("spec");
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        JsonNode security = container.path("securityContext");
        assertThat(security.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(security.path("allowPrivilegeEscalation").asBoolean()).isFalse();
        assertThat(security.path("capabilities").path("drop").toString()).contains("ALL");
        assertThat(container.path("volumeMounts").findValuesAsText("mountPath")).contains("/tmp");
        Duration drain = Duration.parse(byKind.get("ConfigMap")
                .path("data")
                .path("MQTT_DYNAMO_STORE_DRAIN_TIMEOUT")
                .asText());
        assertThat(pod.path("terminationGracePeriodSeconds").asLong()).isGreaterThan(2 * drain.toSeconds());
        assertThat(container.path("resources").path("limits").path("memory").asText())
                .isNotEmpty();
        assertThat(container.path("resources").path("requests").path("cpu").asText())
                .isNotEmpty();
    }

    private static List<String> resources(Path kustomization) throws IOException {
        List<String> files = new ArrayList<>();
        YAML.readTree(kustomization.toFile()).path("resources").forEach(r -> files.add(r.asText()));
        assertThat(files).as(kustomization + " resources").isNotEmpty();
        return files;
    }

    /** A kustomize env file: NAME=value lines, # comments and blank lines skipped. */
    private static Map<String, String> envFile(Path file) throws IOException {
        Map<String, String> entries = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int equals = line.indexOf('=');
            assertThat(equals).as(file + ": " + line).isPositive();
            entries.put(line.substring(0, equals), line.substring(equals + 1));
        }
        return entries;
    }

    private static int exposedPort(String dockerfile) throws IOException {
        Matcher expose =
                Pattern.compile("(?m)^EXPOSE (\\d+)").matcher(Files.readString(Path.of("src/main/docker", dockerfile)));
        assertThat(expose.find()).as(dockerfile + " EXPOSE").isTrue();
        return Integer.parseInt(expose.group(1));
    }

    private static String envName(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }
}
