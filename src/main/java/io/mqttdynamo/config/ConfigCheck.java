package io.mqttdynamo.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.store.ItemSize;

/**
 * Checks every {@code mqtt-dynamo.*} setting against what it accepts, so that a wrong value stops the
 * service at start-up with the property's name instead of misbehaving later.
 */
public final class ConfigCheck {

    /** MQTT's largest packet (the remaining length's maximum plus the fixed header). */
    static final int MQTT_MAX_PACKET = 268_435_460;

    private final List<String> problems = new ArrayList<>();

    private ConfigCheck() {
    }

    /** The problems of {@code config}, one line each naming the property; empty when all is well. */
    public static List<String> problems(MqttDynamoConfig config) {
        ConfigCheck check = new ConfigCheck();
        check.check(config);
        return check.problems;
    }

    /** Throws with every problem of {@code config} listed. */
    public static void require(MqttDynamoConfig config) {
        List<String> problems = problems(config);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Invalid configuration; the service does not start:\n  - "
                    + String.join("\n  - ", problems));
        }
    }

    private void check(MqttDynamoConfig config) {
        MqttDynamoConfig.Broker broker = config.broker();
        range("mqtt-dynamo.broker.port", broker.port(), 1, 65535);
        range("mqtt-dynamo.broker.receive-maximum", broker.receiveMaximum(), 1, 65535);
        range("mqtt-dynamo.broker.max-message-size", broker.maxMessageSize(), 1, MQTT_MAX_PACKET);
        duration("mqtt-dynamo.broker.session-expiry", broker.sessionExpiry(), Duration.ZERO,
                Duration.ofSeconds(0xFFFF_FFFFL));
        if (broker.protocolVersion() == MqttDynamoConfig.MqttProtocol.V3_1_1 && broker.password().isPresent()
                && broker.username().isEmpty()) {
            problems.add("mqtt-dynamo.broker.password needs mqtt-dynamo.broker.username: MQTT 3.1.1 sends no"
                    + " password without a user name");
        }
        broker.replicaPrefix().filter(prefix -> broker.clientId().isPresent()
                && !broker.clientId().get().startsWith(prefix)).ifPresent(prefix -> problems.add(
                        "mqtt-dynamo.broker.client-id must start with mqtt-dynamo.broker.replica-prefix ('" + prefix
                                + "'): the replicas know each other's connections by it"));
        topic("mqtt-dynamo.events.topic", config.events().topic());
        topic("mqtt-dynamo.messages.topic", config.messages().topic());
        config.acks().topic().filter(t -> !t.isBlank() && !t.equals("none"))
                .ifPresent(t -> topic("mqtt-dynamo.acks.topic", Optional.of(t)));
        if (config.events().node().filter(String::isBlank).isPresent()) {
            problems.add("mqtt-dynamo.events.node must not be empty when set (it becomes mqtt_client's node)");
        }
        range("mqtt-dynamo.messages.max-stored-payload", config.messages().maxStoredPayload(), 0,
                ItemSize.MAX_ITEM_BYTES);

        brokerApi(config);
        range("mqtt-dynamo.queue-fetch.max-count", config.queueFetch().maxCount(), 1, 10_000);
        duration("mqtt-dynamo.queue-fetch.max-age", config.queueFetch().maxAge(), Duration.ofSeconds(1),
                Duration.ofDays(366));

        MqttDynamoConfig.Store store = config.store();
        range("mqtt-dynamo.store.batch-size", store.batchSize(), 1, 25);
        range("mqtt-dynamo.store.max-in-flight", store.maxInFlight(), 1, 1024);
        range("mqtt-dynamo.store.max-pending", store.maxPending(), 1, 10_000_000);
        range("mqtt-dynamo.store.topic-msg-ids-cap", store.topicMsgIdsCap(), 0, 100_000);
        range("mqtt-dynamo.acks.early-acks-per-topic", config.acks().earlyAcksPerTopic(), 0, 1_000);
        duration("mqtt-dynamo.store.max-retry-delay", store.maxRetryDelay(), Duration.ofMillis(1),
                Duration.ofHours(1));
        duration("mqtt-dynamo.store.drain-timeout", store.drainTimeout(), Duration.ZERO, Duration.ofHours(1));
        store.messageTtl().ifPresent(ttl -> duration("mqtt-dynamo.store.message-ttl", ttl, Duration.ofSeconds(1),
                Duration.ofDays(36_500)));

        range("mqtt-dynamo.retained.republish-rate", config.retained().republishRate(), 1, 10_000);
        range("mqtt-dynamo.retained.check-batch", config.retained().checkBatch(), 1, 100);
        duration("mqtt-dynamo.retained.collect-timeout", config.retained().collectTimeout(), Duration.ofSeconds(1),
                Duration.ofDays(1));

        MqttDynamoConfig.Dashboard.Auth auth = config.dashboard().auth();
        if (auth.enabled() && auth.password().filter(p -> !p.isBlank()).isEmpty()) {
            problems.add("mqtt-dynamo.dashboard.auth.password must be set when mqtt-dynamo.dashboard.auth.enabled"
                    + " is true (MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD, from a Secret)");
        }
        if (auth.enabled() && auth.username().isBlank()) {
            problems.add("mqtt-dynamo.dashboard.auth.username must not be empty when the login is enabled");
        }
        range("mqtt-dynamo.dashboard.live.max-streams", config.dashboard().live().maxStreams(), 1, 100_000);
        duration("mqtt-dynamo.dashboard.live.max-age", config.dashboard().live().maxAge(), Duration.ofSeconds(1),
                Duration.ofDays(1));
        range("mqtt-dynamo.embedded-broker.port", config.embeddedBroker().port(), 1, 65535);
        range("mqtt-dynamo.local-dynamodb.port", config.localDynamoDb().port(), 1, 65535);
    }

    private void brokerApi(MqttDynamoConfig config) {
        MqttDynamoConfig.Api api = config.broker().api();
        duration("mqtt-dynamo.broker.api.timeout", api.timeout(), Duration.ofMillis(100), Duration.ofMinutes(5));
        range("mqtt-dynamo.broker.api.retries", api.retries(), 0, 10);
        if (api.url().isEmpty()) {
            return;
        }
        String url = api.url().get();
        try {
            java.net.URI uri = new java.net.URI(url);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                problems.add("mqtt-dynamo.broker.api.url = " + url + ": must be an http or https URL with a host,"
                        + " e.g. http://emqx:18083");
            }
        } catch (java.net.URISyntaxException e) {
            problems.add("mqtt-dynamo.broker.api.url = " + url + ": not a URL (" + e.getReason() + ")");
        }
        if (api.key().filter(k -> !k.isBlank()).isEmpty() || api.secret().filter(k -> !k.isBlank()).isEmpty()) {
            problems.add("mqtt-dynamo.broker.api.key and mqtt-dynamo.broker.api.secret must be set when"
                    + " mqtt-dynamo.broker.api.url is (MQTT_DYNAMO_BROKER_API_KEY / _SECRET, from a Secret)");
        }
        MqttDynamoConfig.EventDialect dialect = config.events().dialect();
        if (dialect != MqttDynamoConfig.EventDialect.EMQX5 && dialect != MqttDynamoConfig.EventDialect.EMQX4) {
            problems.add("mqtt-dynamo.broker.api.url needs mqtt-dynamo.events.dialect emqx5 or emqx4 (the API"
                    + " version follows it; " + dialect.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                    + " has no subscribe API)");
        }
    }

    private void range(String property, long value, long min, long max) {
        if (value < min || value > max) {
            problems.add(property + " = " + value + ": must be from " + min + " to " + max);
        }
    }

    private void duration(String property, Duration value, Duration min, Duration max) {
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            problems.add(property + " = " + value + ": must be from " + min + " to " + max);
        }
    }

    private void topic(String property, Optional<String> filter) {
        filter.ifPresent(f -> {
            try {
                TopicFilter.parse(f);
            } catch (IllegalArgumentException e) {
                problems.add(property + ": " + e.getMessage());
            }
        });
    }
}
