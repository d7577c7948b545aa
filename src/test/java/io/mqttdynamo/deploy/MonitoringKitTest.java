package io.mqttdynamo.deploy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.store.DynamoDbSpans;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.TestMqttClient;
import io.prometheus.client.exemplars.ExemplarSampler;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * Keeps the monitoring kit ({@code k8s/components/monitoring}) honest against the running service: every metric the
 * alert rules and the Grafana dashboard name is one the service exports at {@code /q/metrics}, the PrometheusRule
 * carries the rule file's groups, each alert's runbook is a section of docs/operations.md, the PodMonitor scrapes
 * the pods' metrics port and path, and with traces off (the default) nothing of them runs.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class MonitoringKitTest extends EmbeddedBrokerTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path KIT = Path.of("k8s", "components", "monitoring");
    private static final Path RULES = KIT.resolve("mqtt-dynamo.rules.yaml");
    private static final Path DASHBOARD = KIT.resolve("mqtt-dynamo-dashboard.json");
    /** Series Prometheus makes itself, not the service. */
    private static final Set<String> PROMETHEUS_OWN = Set.of("up");
    /** PromQL words that look like metric names. */
    private static final Set<String> KEYWORDS = Set.of(
            "and",
            "or",
            "unless",
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
            "bool",
            "offset",
            "inf",
            "nan");

    @Inject
    Optional<ExemplarSampler> exemplarSampler;

    @Test
    void everyMetricOfTheRulesAndTheDashboardIsOneTheServiceExports() throws IOException {
        // Some series appear with their first event: a rejected message, a stored one, a read of the API.
        try (TestMqttClient client = TestMqttClient.connect("monitoring-" + run, PORT)) {
            client.publish(EventTopics.MESSAGE_PUBLISH, "not an envelope", 1, false);
            client.publish("monitoring/" + run, "stored", 1, false);
        }
        given().get("/api/clients").then().statusCode(200);
        given().get("/api/messages?topic=monitoring/" + run).then().statusCode(200);
        await().atMost(TIMEOUT)
                .until(() -> PrometheusText.value(
                                given().get("/q/metrics").asString(),
                                "mqtt_dynamo_persist_latency_seconds_count{channel=\"messages\"}")
                        >= 1);

        Set<String> exported = exportedNames(given().get("/q/metrics").asString());
        Set<String> used = new TreeSet<>();
        List<String> expressions = new ArrayList<>(ruleExpressions());
        expressions.addAll(dashboardExpressions());
        for (String expression : expressions) {
            used.addAll(metricNames(expression));
        }
        assertThat(used)
                .as("names found in the rules and the dashboard")
                .hasSizeGreaterThan(30)
                .contains(
                        "mqtt_dynamo_broker_connected",
                        "mqtt_dynamo_persist_latency_seconds_bucket",
                        "mqtt_dynamo_write_errors_total",
                        "http_server_requests_seconds_count");
        used.removeAll(PROMETHEUS_OWN);
        assertThat(exported).as("what /q/metrics exports").containsAll(used);
    }

    @Test
    void metricNamesAreReadOutOfPromqlWithoutLabelsFunctionsOrKeywords() {
        assertThat(metricNames("sum by (namespace, le) (rate(a_total{x=\"y_z\", b=~\"$v\"}[$__rate_interval]))"
                        + " / on (namespace) group_left () b_count > 3 and bool c_seconds offset 5m"))
                .containsExactlyInAnyOrder("a_total", "b_count", "c_seconds");
        assertThat(metricNames("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 1e3"))
                .containsExactly("x_bucket");
    }

    @Test
    void thePrometheusRuleCarriesTheGroupsOfTheRuleFile() throws IOException {
        JsonNode rule = YAML.readTree(KIT.resolve("prometheusrule.yaml").toFile());
        assertThat(rule.path("kind").asText()).isEqualTo("PrometheusRule");
        assertThat(rule.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(rule.path("spec")).isEqualTo(YAML.readTree(RULES.toFile()));
    }

    @Test
    void everyAlertSaysWhatHappenedWithItsNumbersAndLinksItsRunbook() throws IOException {
        String operations = Files.readString(Path.of("docs", "operations.md"));
        Set<String> anchors = new TreeSet<>();
        Matcher heading = Pattern.compile("(?m)^#{2,4} (.+)$").matcher(operations);
        while (heading.find()) {
            anchors.add(heading.group(1)
                    .trim()
                    .toLowerCase(Locale.ROOT)
                    .replaceAll("[^a-z0-9 _-]", "")
                    .replace(' ', '-'));
        }
        List<String> alerts = new ArrayList<>();
        for (JsonNode rule : YAML.readTree(RULES.toFile()).path("groups").get(0).path("rules")) {
            String alert = rule.path("alert").asText();
            alerts.add(alert);
            JsonNode annotations = rule.path("annotations");
            assertThat(annotations.path("summary").asText()).as(alert).isNotBlank();
            assertThat(annotations.path("description").asText()).as(alert).contains("$value");
            assertThat(rule.path("labels").path("severity").asText()).as(alert).isIn("critical", "warning");
            String runbook = annotations.path("runbook_url").asText();
            assertThat(runbook).as(alert).isEqualTo("docs/operations.md#" + alert.toLowerCase(Locale.ROOT));
            assertThat(anchors)
                    .as("a section of docs/operations.md for " + alert)
                    .contains(runbook.substring(runbook.indexOf('#') + 1));
            assertThat(operations).as("the alert table names " + alert).contains("| [" + alert + "]");
        }
        assertThat(alerts)
                .contains(
                        "MqttDynamoBrokerDisconnected",
                        "MqttDynamoWritesRefused",
                        "MqttDynamoBacklogGrowing",
                        "MqttDynamoPersistLatencyHigh",
                        "MqttDynamoThrottled",
                        "MqttDynamoItemsRefused",
                        "MqttDynamoWriteUnitsPerMessageHigh",
                        "MqttDynamoReplicaMissing",
                        "MqttDynamoRetainedComparisonFailed");
        // The promtool tests cover every alert.
        String tests = Files.readString(KIT.resolve("mqtt-dynamo.rules.test.yaml"));
        alerts.forEach(alert -> assertThat(tests).contains("alertname: " + alert));
    }

    @Test
    void thePodMonitorScrapesTheMetricsPortAndPathOfThePods() throws IOException {
        JsonNode statefulSet =
                YAML.readTree(Path.of("k8s", "base", "statefulset.yaml").toFile());
        JsonNode pod = statefulSet.path("spec").path("template");
        JsonNode monitor = YAML.readTree(KIT.resolve("podmonitor.yaml").toFile());
        assertThat(monitor.path("kind").asText()).isEqualTo("PodMonitor");
        monitor.path("spec")
                .path("selector")
                .path("matchLabels")
                .fields()
                .forEachRemaining(label -> assertThat(pod.path("metadata")
                                .path("labels")
                                .path(label.getKey())
                                .asText())
                        .isEqualTo(label.getValue().asText()));
        JsonNode endpoint = monitor.path("spec").path("podMetricsEndpoints").get(0);
        List<String> ports =
                pod.path("spec").path("containers").get(0).path("ports").findValuesAsText("name");
        assertThat(ports).contains(endpoint.path("port").asText());
        String path = endpoint.path("path").asText();
        assertThat(path)
                .isEqualTo(pod.path("metadata")
                        .path("annotations")
                        .path("prometheus.io/path")
                        .asText());
        given().get(path).then().statusCode(200);
        // job is the pods' label the PodMonitor names, which MqttDynamoDown selects.
        String job = pod.path("metadata")
                .path("labels")
                .path(monitor.path("spec").path("jobLabel").asText())
                .asText();
        assertThat(job).isEqualTo("mqtt-dynamo").matches(".*mqtt-dynamo.*");
        assertThat(Files.readString(RULES)).contains("up{job=~\".*mqtt-dynamo.*\"}");
        JsonNode component = YAML.readTree(KIT.resolve("kustomization.yaml").toFile());
        assertThat(component.path("kind").asText()).isEqualTo("Component");
        assertThat(component.path("resources").toString())
                .contains("podmonitor.yaml")
                .contains("prometheusrule.yaml");
        assertThat(component
                        .path("configMapGenerator")
                        .get(0)
                        .path("files")
                        .get(0)
                        .asText())
                .isEqualTo(DASHBOARD.getFileName().toString());
        assertThat(YAML.readTree(Path.of("k8s", "overlays", "monitoring", "kustomization.yaml")
                                .toFile())
                        .path("components")
                        .get(0)
                        .asText())
                .isEqualTo("../../components/monitoring");
    }

    @Test
    void theDashboardHasADataSourceVariableAndARowPerConcern() throws IOException {
        JsonNode dashboard = JSON.readTree(DASHBOARD.toFile());
        JsonNode datasource = dashboard.path("templating").path("list").get(0);
        assertThat(datasource.path("name").asText()).isEqualTo("datasource");
        assertThat(datasource.path("type").asText()).isEqualTo("datasource");
        assertThat(datasource.path("query").asText()).isEqualTo("prometheus");
        List<String> rows = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            if (panel.path("type").asText().equals("row")) {
                rows.add(panel.path("title").asText());
                continue;
            }
            assertThat(panel.path("datasource").path("uid").asText())
                    .as(panel.path("title").asText())
                    .isEqualTo("${datasource}");
            assertThat(panel.path("description").asText())
                    .as(panel.path("title").asText())
                    .isNotBlank();
            assertThat(panel.path("targets").size())
                    .as(panel.path("title").asText())
                    .isPositive();
        }
        assertThat(rows)
                .containsExactly(
                        "Ingest", "DynamoDB writes and cost", "Latency", "Broker sessions", "Replicas", "Read side");
        String operations = Files.readString(Path.of("docs", "operations.md"));
        for (JsonNode panel : dashboard.path("panels")) {
            if (!panel.path("type").asText().equals("row")) {
                assertThat(operations)
                        .as("docs/operations.md describes the panel")
                        .contains("**" + panel.path("title").asText() + "**");
            }
        }
    }

    /** Traces are off by default: the DynamoDB client has no span interceptor, the registry no exemplar sampler. */
    @Test
    void withTracesOffNothingOfThemRuns() {
        assertThat(dynamo.serviceClientConfiguration().overrideConfiguration().executionInterceptors())
                .isNotEmpty()
                .noneMatch(DynamoDbSpans.class::isInstance);
        assertThat(exemplarSampler).isEmpty();
    }

    /** The sample names of a Prometheus text page: a counter's {@code _total}, a histogram's {@code _bucket}. */
    static Set<String> exportedNames(String page) {
        Set<String> names = new TreeSet<>();
        page.lines()
                .filter(line -> !line.isBlank() && !line.startsWith("#"))
                .forEach(line -> names.add(line.split("[{ ]", 2)[0]));
        return names;
    }

    /**
     * The metric names in a PromQL expression: identifiers outside strings, label matchers, ranges and grouping
     * lists that are neither functions (followed by a parenthesis) nor keywords.
     */
    static Set<String> metricNames(String expression) {
        String bare = expression
                .replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\boffset\\s+\\w+", " ");
        Set<String> names = new TreeSet<>();
        Matcher identifier = Pattern.compile("(?<![\\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?")
                .matcher(bare);
        while (identifier.find()) {
            String name = identifier.group(1);
            if (identifier.group(2) == null && !KEYWORDS.contains(name.toLowerCase(Locale.ROOT))) {
                names.add(name);
            }
        }
        return names;
    }

    private static List<String> ruleExpressions() throws IOException {
        List<String> expressions = new ArrayList<>();
        for (JsonNode group : YAML.readTree(RULES.toFile()).path("groups")) {
            group.path("rules")
                    .forEach(rule -> expressions.add(rule.path("expr").asText()));
        }
        return expressions;
    }

    private static List<String> dashboardExpressions() throws IOException {
        JsonNode dashboard = JSON.readTree(DASHBOARD.toFile());
        List<String> expressions = new ArrayList<>(dashboard.findValuesAsText("expr"));
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            String definition = variable.path("definition").asText();
            Matcher labelValues = Pattern.compile("label_values\\((\\w+)").matcher(definition);
            if (labelValues.find()) {
                expressions.add(labelValues.group(1));
            }
        }
        assertThat(expressions).hasSizeGreaterThan(30);
        return expressions;
    }
}
