package io.mqttdynamo.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.ItemLimits;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * Settings that pass their type but cannot work are refused at start-up, naming the property; settings
 * that work but can lose messages are warned about.
 */
class ConfigCheckTest {

    /** A production start outside Kubernetes. */
    private static final Map<String, String> ON_A_HOST = Map.of("HOSTNAME", "4f2a9c1e7b3d");

    static MqttDynamoConfig config(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withSources(new PropertiesConfigSource(new HashMap<>(properties), "test", 100))
                .build();
        return config.getConfigMapping(MqttDynamoConfig.class);
    }

    static List<String> problems(Map<String, String> properties) {
        return ConfigCheck.problems(config(properties));
    }

    /** The findings with {@code others} as the settings outside the mapping, in a production start. */
    static ConfigCheck.Findings check(
            Map<String, String> properties, Map<String, String> others, Map<String, String> environment) {
        return ConfigCheck.check(
                config(properties),
                new ConfigCheck.Surroundings(name -> Optional.ofNullable(others.get(name)), environment, true));
    }

    static List<String> warnings(Map<String, String> properties) {
        Map<String, String> withId = new HashMap<>(properties);
        withId.putIfAbsent("mqtt-dynamo.broker.client-id", "replica-a");
        return check(withId, Map.of(), ON_A_HOST).warnings();
    }

    @Test
    void theDefaultsPass() {
        assertThat(problems(Map.of())).isEmpty();
        assertThat(warnings(Map.of())).isEmpty();
    }

    @Test
    void aSessionThatEndsWithItsConnectionIsRefused() {
        assertThat(problems(Map.of("mqtt-dynamo.broker.session-expiry", "PT0S")))
                .anySatisfy(p -> assertThat(p)
                        .startsWith("mqtt-dynamo.broker.session-expiry = PT0S")
                        .contains("P7D"));
        assertThat(problems(Map.of("mqtt-dynamo.broker.session-expiry", "PT59S")))
                .hasSize(1);
        assertThat(problems(Map.of("mqtt-dynamo.broker.session-expiry", "PT1M")))
                .isEmpty();
        assertThat(problems(Map.of("mqtt-dynamo.broker.session-expiry", "PT1193046H28M16S")))
                .hasSize(1);
    }

    @Test
    void aShortSessionExpiryIsWarnedAbout() {
        assertThat(warnings(Map.of("mqtt-dynamo.broker.session-expiry", "PT10M")))
                .singleElement()
                .asString()
                .startsWith("mqtt-dynamo.broker.session-expiry = PT10M");
        assertThat(warnings(Map.of("mqtt-dynamo.broker.session-expiry", "PT1H")))
                .isEmpty();
    }

    @Test
    void aMsgIdCapThatLetsTheTopicItemPassDynamoDbsItemLimitIsRefused() {
        assertThat(problems(Map.of("mqtt-dynamo.store.topic-msg-ids-cap", "100000")))
                .anySatisfy(p -> assertThat(p)
                        .startsWith("mqtt-dynamo.store.topic-msg-ids-cap = 100000")
                        .contains("400 KB")
                        .contains("at most " + ItemLimits.MAX_TOPIC_MSG_IDS_CAP));
        assertThat(problems(Map.of("mqtt-dynamo.store.topic-msg-ids-cap", "7000")))
                .hasSize(1);
        assertThat(problems(Map.of("mqtt-dynamo.store.topic-msg-ids-cap", "0"))).hasSize(1);
        assertThat(problems(Map.of(
                        "mqtt-dynamo.store.topic-msg-ids-cap", Integer.toString(ItemLimits.MAX_TOPIC_MSG_IDS_CAP + 1))))
                .hasSize(1);
        // The early-ack marks live on the same item: together they must fit.
        assertThat(problems(Map.of(
                        "mqtt-dynamo.store.topic-msg-ids-cap", Integer.toString(ItemLimits.MAX_TOPIC_MSG_IDS_CAP))))
                .hasSize(1);
        assertThat(problems(Map.of(
                        "mqtt-dynamo.store.topic-msg-ids-cap",
                        Integer.toString(ItemLimits.MAX_TOPIC_MSG_IDS_CAP),
                        "mqtt-dynamo.acks.early-acks-per-topic",
                        "0")))
                .isEmpty();
        assertThat(ItemLimits.MAX_TOPIC_MSG_IDS_CAP).isEqualTo(6689);
    }

    @Test
    void placeholderPasswordsAreRefused() {
        assertThat(problems(Map.of("mqtt-dynamo.broker.password", "change-me", "mqtt-dynamo.broker.username", "u")))
                .anySatisfy(p -> assertThat(p).startsWith("mqtt-dynamo.broker.password"));
        assertThat(problems(Map.of(
                        "mqtt-dynamo.dashboard.auth.enabled",
                        "true",
                        "mqtt-dynamo.dashboard.auth.password",
                        " Change-Me ")))
                .anySatisfy(p -> assertThat(p).startsWith("mqtt-dynamo.dashboard.auth.password"));
        assertThat(problems(Map.of("mqtt-dynamo.broker.password", "change-me-not", "mqtt-dynamo.broker.username", "u")))
                .isEmpty();
    }

    @Test
    void placeholderAwsKeysAreRefusedWhereverTheyAreRead() {
        List<String> found = check(
                        Map.of("mqtt-dynamo.broker.client-id", "a"),
                        Map.of(
                                "quarkus.dynamodb.aws.credentials.static-provider.access-key-id", "CHANGE-ME",
                                "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key", "\tchange-me\n",
                                "AWS_SECRET_ACCESS_KEY", "change-me"),
                        ON_A_HOST)
                .problems();
        assertThat(found).hasSize(3);
        assertThat(found.get(0))
                .startsWith("quarkus.dynamodb.aws.credentials.static-provider.access-key-id"
                        + " (QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID) is the placeholder");
        assertThat(found.get(1)).startsWith("quarkus.dynamodb.aws.credentials.static-provider.secret-access-key");
        assertThat(found.get(2)).startsWith("AWS_SECRET_ACCESS_KEY is the placeholder");
        assertThat(check(
                                Map.of("mqtt-dynamo.broker.client-id", "a"),
                                Map.of("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                                ON_A_HOST)
                        .problems())
                .isEmpty();
    }

    @Test
    void aMessageSizeBelowTheDefaultIsWarnedAboutAndOneThatCannotHoldAMessageRefused() {
        assertThat(warnings(Map.of("mqtt-dynamo.broker.max-message-size", "1048576")))
                .singleElement()
                .asString()
                .startsWith("mqtt-dynamo.broker.max-message-size = 1048576 bytes")
                .contains("drops every message larger than this")
                .contains("16777216");
        assertThat(warnings(Map.of(
                        "mqtt-dynamo.broker.max-message-size",
                        "1048576",
                        "mqtt-dynamo.broker.protocol-version",
                        "3.1.1")))
                .as("no Maximum Packet Size in MQTT 3.1.1")
                .isEmpty();
        assertThat(warnings(Map.of("mqtt-dynamo.broker.max-message-size", "268435460")))
                .isEmpty();
        assertThat(problems(Map.of("mqtt-dynamo.broker.max-message-size", "1024")))
                .singleElement()
                .asString()
                .startsWith("mqtt-dynamo.broker.max-message-size = 1024: must be from 4096");
        assertThat(problems(Map.of("mqtt-dynamo.broker.max-message-size", "4096")))
                .isEmpty();
    }

    @Test
    void aClientIdFromTheHostNameIsWarnedAboutOutsideAStatefulSet() {
        assertThat(check(Map.of(), Map.of(), ON_A_HOST).warnings())
                .singleElement()
                .asString()
                .startsWith("mqtt-dynamo.broker.client-id is not set")
                .contains("mqtt-dynamo-4f2a9c1e7b3d-messages")
                .contains("MQTT_DYNAMO_BROKER_CLIENT_ID");
        Map<String, String> deployment =
                Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1", "HOSTNAME", "mqtt-dynamo-7d9f8b6c5-x2x4k");
        assertThat(check(Map.of(), Map.of(), deployment).warnings()).hasSize(1);
        Map<String, String> statefulSet = Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1", "HOSTNAME", "mqtt-dynamo-1");
        assertThat(check(Map.of(), Map.of(), statefulSet).warnings()).isEmpty();
        assertThat(check(Map.of("mqtt-dynamo.broker.client-id", "edge-7"), Map.of(), ON_A_HOST)
                        .warnings())
                .isEmpty();
        // Dev mode and tests: no warning.
        assertThat(ConfigCheck.check(
                                config(Map.of()),
                                new ConfigCheck.Surroundings(name -> Optional.empty(), ON_A_HOST, false))
                        .warnings())
                .isEmpty();
    }

    @Test
    void allowedDashboardHostsAreHostNames() {
        assertThat(problems(Map.of(
                        "mqtt-dynamo.dashboard.allowed-hosts",
                        "mqtt-dynamo.internal,dash.example.com.,10.1.2.3,[fd00::5]")))
                .isEmpty();
        assertThat(problems(
                        Map.of("mqtt-dynamo.dashboard.allowed-hosts", "https://dash.example.com,dash:8080,*.example")))
                .hasSize(3)
                .allSatisfy(p -> assertThat(p).startsWith("mqtt-dynamo.dashboard.allowed-hosts: '"));
    }

    @Test
    void theClusterViewKeepsABoundedNumberOfReplicas() {
        assertThat(problems(Map.of("mqtt-dynamo.cluster.max-replicas", "0")))
                .singleElement()
                .asString()
                .startsWith("mqtt-dynamo.cluster.max-replicas = 0");
    }
}
