package io.mqttdynamo.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.ItemLimits;
import io.mqttdynamo.domain.TopicFilter;

/**
 * Checks every {@code mqtt-dynamo.*} setting against what it accepts, so that a wrong value stops the
 * service at start-up with the property's name instead of misbehaving later; and names the settings that
 * work but can lose messages, for one warning each at start-up.
 */
public final class ConfigCheck {

    /** MQTT's largest packet (the remaining length's maximum plus the fixed header). */
    static final int MQTT_MAX_PACKET = 268_435_460;
    /**
     * Smallest {@code broker.max-message-size}: below it a message on a long topic (up to 2048 bytes, DynamoDB's
     * key limit) with a small payload, or a broker's client event, does not fit in a packet.
     */
    static final int MIN_MESSAGE_SIZE = 4096;
    /** The default {@code broker.max-message-size}; lower values are warned about. */
    static final int DEFAULT_MESSAGE_SIZE = 16_777_216;
    /** Shortest {@code broker.session-expiry}: shorter ones drop the queue at every reconnection. */
    static final Duration MIN_SESSION_EXPIRY = Duration.ofMinutes(1);
    /** {@code broker.session-expiry} below this is warned about: an ordinary outage outlasts it. */
    static final Duration SHORT_SESSION_EXPIRY = Duration.ofHours(1);
    /** The value of the shipped example credentials, refused wherever a credential is read. */
    static final String PLACEHOLDER = "change-me";

    private static final Pattern STATEFUL_SET_POD = Pattern.compile(".+-\\d+");
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
            + "(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.?|\\[[0-9A-Fa-f:.]+]|[0-9.]+");

    /**
     * Credentials read outside {@code mqtt-dynamo.*}, by the property (or variable) that holds them: the
     * DynamoDB client's static keys and the AWS SDK's own variables and system properties.
     */
    static final List<String> AWS_CREDENTIALS = List.of(
            "quarkus.dynamodb.aws.credentials.static-provider.access-key-id",
            "quarkus.dynamodb.aws.credentials.static-provider.secret-access-key",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "aws.accessKeyId",
            "aws.secretAccessKey");

    /**
     * What the check sees beside the mapped settings: any setting by its name (credentials of other
     * extensions), the process environment (whether it runs in a StatefulSet pod), and whether this is a
     * production start (not dev mode or a test).
     */
    public record Surroundings(
            Function<String, Optional<String>> setting, Map<String, String> environment, boolean production) {

        /** Nothing beside the mapped settings; not production. */
        public static Surroundings none() {
            return new Surroundings(name -> Optional.empty(), Map.of(), false);
        }
    }

    /** What the check found: settings that stop the start, settings that start with a warning. */
    public record Findings(List<String> problems, List<String> warnings) {}

    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    private ConfigCheck() {}

    /** The problems of {@code config}, one line each naming the property; empty when all is well. */
    public static List<String> problems(MqttDynamoConfig config) {
        return check(config, Surroundings.none()).problems();
    }

    /** Problems and warnings of {@code config} in {@code surroundings}, one line each naming the property. */
    public static Findings check(MqttDynamoConfig config, Surroundings surroundings) {
        ConfigCheck check = new ConfigCheck();
        check.check(config);
        check.credentials(config, surroundings);
        check.risks(config, surroundings);
        return new Findings(List.copyOf(check.problems), List.copyOf(check.warnings));
    }

    /** The exception that stops the start, listing {@code problems}. */
    public static IllegalArgumentException refusal(List<String> problems) {
        return new IllegalArgumentException(
                "Invalid configuration; the service does not start:\n  - " + String.join("\n  - ", problems));
    }

    private void check(MqttDynamoConfig config) {
        MqttDynamoConfig.Broker broker = config.broker();
        range("mqtt-dynamo.broker.port", broker.port(), 1, 65535);
        range("mqtt-dynamo.broker.receive-maximum", broker.receiveMaximum(), 1, 65535);
        if (broker.maxMessageSize() < MIN_MESSAGE_SIZE || broker.maxMessageSize() > MQTT_MAX_PACKET) {
            problems.add("mqtt-dynamo.broker.max-message-size = " + broker.maxMessageSize() + ": must be from "
                    + MIN_MESSAGE_SIZE + " to " + MQTT_MAX_PACKET + " bytes (below " + MIN_MESSAGE_SIZE
                    + " a message on a long topic or a broker's client event does not fit; default "
                    + DEFAULT_MESSAGE_SIZE + ")");
        }
        Duration expiry = broker.sessionExpiry();
        if (expiry.compareTo(MIN_SESSION_EXPIRY) < 0) {
            // MQTT 5.0, 3.1.2.11.2: with a Session Expiry Interval of 0 the session ends when the network
            // connection closes (https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901048).
            problems.add("mqtt-dynamo.broker.session-expiry = " + expiry + ": must be at least " + MIN_SESSION_EXPIRY
                    + ": shorter, the broker ends the service's sessions, with the messages queued for them, at"
                    + " every reconnection or restart, and those messages are never stored. Set it longer than"
                    + " the longest outage to ride out (default P7D)");
        }
        if (expiry.compareTo(Duration.ofSeconds(0xFFFF_FFFFL)) > 0) {
            problems.add("mqtt-dynamo.broker.session-expiry = " + expiry + ": must be at most "
                    + Duration.ofSeconds(0xFFFF_FFFFL) + " (MQTT's largest session expiry)");
        }
        range("mqtt-dynamo.broker.max-queued-qos0", broker.maxQueuedQos0(), 1, 10_000_000);
        if (broker.protocolVersion() == MqttDynamoConfig.MqttProtocol.V3_1_1
                && broker.password().isPresent()
                && broker.username().isEmpty()) {
            problems.add("mqtt-dynamo.broker.password needs mqtt-dynamo.broker.username: MQTT 3.1.1 sends no"
                    + " password without a user name");
        }
        broker.replicaPrefix()
                .filter(prefix -> broker.clientId().isPresent()
                        && !broker.clientId().get().startsWith(prefix))
                .ifPresent(prefix ->
                        problems.add("mqtt-dynamo.broker.client-id must start with mqtt-dynamo.broker.replica-prefix ('"
                                + prefix + "'): the replicas know each other's connections by it"));
        topic("mqtt-dynamo.events.topic", config.events().topic());
        topic("mqtt-dynamo.messages.topic", config.messages().topic());
        config.acks()
                .topic()
                .filter(t -> !t.isBlank() && !t.equals("none"))
                .ifPresent(t -> topic("mqtt-dynamo.acks.topic", Optional.of(t)));
        if (config.events().node().filter(String::isBlank).isPresent()) {
            problems.add("mqtt-dynamo.events.node must not be empty when set (it becomes mqtt_client's node)");
        }
        range(
                "mqtt-dynamo.messages.max-stored-payload",
                config.messages().maxStoredPayload(),
                0,
                ItemLimits.MAX_ITEM_BYTES);

        brokerTls(config);
        brokerApi(config);
        range("mqtt-dynamo.queue-fetch.max-count", config.queueFetch().maxCount(), 1, 10_000);
        duration(
                "mqtt-dynamo.queue-fetch.max-age",
                config.queueFetch().maxAge(),
                Duration.ofSeconds(1),
                Duration.ofDays(366));

        MqttDynamoConfig.Store store = config.store();
        range("mqtt-dynamo.store.batch-size", store.batchSize(), 1, 25);
        range("mqtt-dynamo.store.max-in-flight", store.maxInFlight(), 1, 1024);
        range("mqtt-dynamo.store.max-pending", store.maxPending(), 1, 10_000_000);
        int marks = Math.max(0, config.acks().earlyAcksPerTopic());
        if (store.topicMsgIdsCap() < 1 || store.topicMsgIdsCap() + marks > ItemLimits.MAX_TOPIC_MSG_IDS_CAP) {
            problems.add("mqtt-dynamo.store.topic-msg-ids-cap = " + store.topicMsgIdsCap() + ": must be at least 1,"
                    + " and with mqtt-dynamo.acks.early-acks-per-topic (" + marks + ", kept on the same item) at most "
                    + ItemLimits.MAX_TOPIC_MSG_IDS_CAP + ": more msgids (or 0, no cap) can make a topic's"
                    + " mqtt_topic_msg_map item larger than DynamoDB's 400 KB item limit (a topic of "
                    + ItemLimits.PARTITION_KEY_MAX_BYTES + " bytes, msgids of " + EmqxMsgId.MAX_LENGTH
                    + " bytes, an addition of up to " + ItemLimits.MSG_ID_SET_ADDITION_MAX + " before the oldest"
                    + " are trimmed), and DynamoDB then refuses every new msgid of that topic (default 16, which"
                    + " keeps the item under 1 KB: one write unit per addition)");
        }
        range("mqtt-dynamo.acks.early-acks-per-topic", config.acks().earlyAcksPerTopic(), 0, 1_000);
        duration("mqtt-dynamo.store.max-retry-delay", store.maxRetryDelay(), Duration.ofMillis(1), Duration.ofHours(1));
        duration("mqtt-dynamo.store.drain-timeout", store.drainTimeout(), Duration.ZERO, Duration.ofHours(1));
        store.messageTtl()
                .ifPresent(ttl ->
                        duration("mqtt-dynamo.store.message-ttl", ttl, Duration.ofSeconds(1), Duration.ofDays(36_500)));

        range("mqtt-dynamo.retained.republish-rate", config.retained().republishRate(), 1, 10_000);
        range("mqtt-dynamo.retained.check-batch", config.retained().checkBatch(), 1, 100);
        duration(
                "mqtt-dynamo.retained.collect-timeout",
                config.retained().collectTimeout(),
                Duration.ofSeconds(1),
                Duration.ofDays(1));

        MqttDynamoConfig.Dashboard.Auth auth = config.dashboard().auth();
        if (auth.enabled() && auth.password().filter(p -> !p.isBlank()).isEmpty()) {
            problems.add("mqtt-dynamo.dashboard.auth.password must be set when mqtt-dynamo.dashboard.auth.enabled"
                    + " is true (MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD, from a Secret)");
        }
        if (auth.enabled() && auth.username().isBlank()) {
            problems.add("mqtt-dynamo.dashboard.auth.username must not be empty when the login is enabled");
        }
        config.dashboard()
                .allowedHosts()
                .ifPresent(hosts -> hosts.stream()
                        .filter(host -> !HOST_NAME.matcher(host.strip()).matches())
                        .forEach(
                                host -> problems.add("mqtt-dynamo.dashboard.allowed-hosts: '" + host + "' is not a host"
                                        + " name or address; give names as the browser's address bar shows them, without scheme,"
                                        + " port or path (e.g. mqtt-dynamo.internal)")));
        range("mqtt-dynamo.cluster.max-replicas", config.cluster().maxReplicas(), 1, 1000);
        range(
                "mqtt-dynamo.dashboard.live.max-streams",
                config.dashboard().live().maxStreams(),
                1,
                100_000);
        duration(
                "mqtt-dynamo.dashboard.live.max-age",
                config.dashboard().live().maxAge(),
                Duration.ofSeconds(1),
                Duration.ofDays(1));
        range("mqtt-dynamo.embedded-broker.port", config.embeddedBroker().port(), 1, 65535);
        range("mqtt-dynamo.local-dynamodb.port", config.localDynamoDb().port(), 1, 65535);
    }

    /** The TLS files: readable, PEM, a certificate and its key; certificates out of their validity warned about. */
    private void brokerTls(MqttDynamoConfig config) {
        MqttDynamoConfig.Broker broker = config.broker();
        BrokerTls.Reading reading = BrokerTls.read(broker.tls(), java.time.Instant.now());
        problems.addAll(reading.problems());
        warnings.addAll(reading.warnings());
        if (broker.tlsEnabled() && !broker.tls().hostnameVerification()) {
            warnings.add(BrokerTls.HOSTNAME_VERIFICATION + " = false: the broker's certificate is not checked against"
                    + " the host name; whoever holds any certificate the trusted CAs signed can pose as the broker and"
                    + " read every message. Prefer a certificate that names mqtt-dynamo.broker.host");
        }
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
        if (api.key().filter(k -> !k.isBlank()).isEmpty()
                || api.secret().filter(k -> !k.isBlank()).isEmpty()) {
            problems.add("mqtt-dynamo.broker.api.key and mqtt-dynamo.broker.api.secret must be set when"
                    + " mqtt-dynamo.broker.api.url is (MQTT_DYNAMO_BROKER_API_KEY / _SECRET, from a Secret)");
        }
        MqttDynamoConfig.EventDialect dialect = config.events().dialect();
        if (dialect != MqttDynamoConfig.EventDialect.EMQX5 && dialect != MqttDynamoConfig.EventDialect.EMQX4) {
            problems.add("mqtt-dynamo.broker.api.url needs mqtt-dynamo.events.dialect emqx5 or emqx4 (the API"
                    + " version follows it; "
                    + dialect.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                    + " has no subscribe API)");
        }
    }

    /** The shipped example's placeholder, as any credential: the deployment forgot to fill in its Secret. */
    private void credentials(MqttDynamoConfig config, Surroundings surroundings) {
        placeholder("mqtt-dynamo.broker.password", config.broker().password());
        placeholder(
                "mqtt-dynamo.dashboard.auth.password", config.dashboard().auth().password());
        placeholder("mqtt-dynamo.broker.api.key", config.broker().api().key());
        placeholder("mqtt-dynamo.broker.api.secret", config.broker().api().secret());
        for (String name : AWS_CREDENTIALS) {
            placeholder(name, surroundings.setting().apply(name));
        }
    }

    private void placeholder(String property, Optional<String> value) {
        if (value.filter(ConfigCheck::isPlaceholder).isPresent()) {
            String variable = property.contains(".") ? " (" + environmentName(property) + ")" : "";
            problems.add(property + variable + " is the placeholder '" + PLACEHOLDER + "' of the example"
                    + " credentials: set the real value (in Kubernetes in k8s/base/credentials.env, see"
                    + " k8s/README.md), or remove the setting");
        }
    }

    /** Whether {@code value} is the shipped placeholder, in any case and with any surrounding white space. */
    public static boolean isPlaceholder(String value) {
        return value != null && value.strip().equalsIgnoreCase(PLACEHOLDER);
    }

    /** Settings that work but lose messages in some circumstances: one warning each. */
    private void risks(MqttDynamoConfig config, Surroundings surroundings) {
        MqttDynamoConfig.Broker broker = config.broker();
        Duration expiry = broker.sessionExpiry();
        if (expiry.compareTo(MIN_SESSION_EXPIRY) >= 0 && expiry.compareTo(SHORT_SESSION_EXPIRY) < 0) {
            warnings.add("mqtt-dynamo.broker.session-expiry = " + expiry + ": when the service is away longer"
                    + " (a restart, an upgrade, a network or broker outage), the broker ends its sessions and the"
                    + " messages queued for them are never stored. Consider P1D or more (default P7D)");
        }
        if (broker.maxMessageSize() >= MIN_MESSAGE_SIZE
                && broker.maxMessageSize() < DEFAULT_MESSAGE_SIZE
                && broker.protocolVersion() != MqttDynamoConfig.MqttProtocol.V3_1_1) {
            // MQTT 5.0, 3.1.2.11.4: the client's Maximum Packet Size binds the server, which discards a larger
            // packet without sending it and behaves as if it had sent it
            // (https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901050; EMQX on the same:
            // https://www.emqx.com/en/blog/best-practices-of-maximum-packet-size-in-mqtt).
            warnings.add("mqtt-dynamo.broker.max-message-size = " + broker.maxMessageSize() + " bytes: over MQTT 5 the"
                    + " broker drops every message larger than this for the service's sessions, without a word: such"
                    + " messages are never stored nor counted. Set it at least to the largest message the broker"
                    + " accepts (Mosquitto message_size_limit, EMQX mqtt.max_packet_size: 1 MB by default, AWS IoT"
                    + " 128 KB), or leave the default " + DEFAULT_MESSAGE_SIZE);
        }
        if (surroundings.production()
                && broker.clientId().filter(id -> !id.isBlank()).isEmpty()
                && !inStatefulSetPod(surroundings.environment())) {
            warnings.add("mqtt-dynamo.broker.client-id is not set: the sessions are named after this host ("
                    + "mqtt-dynamo-" + surroundings.environment().getOrDefault("HOSTNAME", "<host name>")
                    + "-messages, ...). A container (or a Kubernetes Deployment's pod) gets a new host name each"
                    + " time it is created, so its successor starts new sessions while the old ones keep their"
                    + " queued messages on the broker, never stored, until the session expiry. Set"
                    + " mqtt-dynamo.broker.client-id (MQTT_DYNAMO_BROKER_CLIENT_ID) to a name that stays with this"
                    + " replica (in Kubernetes: a StatefulSet and $(POD_NAME), as k8s/ does)");
        }
    }

    /** A pod of a Kubernetes StatefulSet: its name (the host name) ends in its ordinal, which a successor keeps. */
    static boolean inStatefulSetPod(Map<String, String> environment) {
        String pod = Optional.ofNullable(environment.get("POD_NAME")).orElse(environment.get("HOSTNAME"));
        return environment.containsKey("KUBERNETES_SERVICE_HOST")
                && pod != null
                && STATEFUL_SET_POD.matcher(pod).matches();
    }

    private static String environmentName(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
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
