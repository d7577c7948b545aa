package io.mqttdynamo.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.mqttdynamo.domain.EventTopics;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithConverter;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Every setting of the service, under {@code mqtt-dynamo.*}; docs/configuration.md lists them. */
@ConfigMapping(prefix = "mqtt-dynamo")
public interface MqttDynamoConfig {

    /** The broker the service subscribes to. */
    Broker broker();

    /** Client lifecycle and subscription events. */
    Events events();

    /** Published messages. */
    Messages messages();

    /** Message acknowledgements. */
    Acks acks();

    /** Keeping the broker's retained messages and mqtt_retain in step (on_retain_lookup). */
    Retained retained();

    /** A topic's unconsumed messages for a new subscriber (on_message_fetch_for_queue). */
    QueueFetch queueFetch();

    /** Unit of online_at, offline_at and arrived: seconds (as the EMQX documentation shows) or milliseconds. */
    @WithDefault("seconds")
    TimeUnitSetting timeUnit();

    /** DynamoDB writes. */
    Store store();

    /** Per-function switches and topic filters, keyed by the seed's function name (on_message_publish …). */
    Map<String, Hook> hooks();

    /** The dashboard and JSON API. */
    Dashboard dashboard();

    /** The in-process development broker. */
    EmbeddedBroker embeddedBroker();

    /** Replicas share their dashboard figures through the broker. */
    Cluster cluster();

    interface Cluster {
        /**
         * Publish this replica's figures (rates, pending writes, health, recent messages' metadata) on
         * {@code mqtt-dynamo/cluster/<replica>} and read the others', so that every replica's dashboard
         * shows the whole cluster.
         */
        @WithDefault("true")
        boolean enabled();

        /**
         * Most other replicas kept in the view: past it the one heard from longest ago is dropped (anyone allowed
         * to publish on {@code mqtt-dynamo/cluster/+} could otherwise fill the memory with names).
         */
        @WithDefault("64")
        int maxReplicas();
    }

    /** The local DynamoDB-compatible server started for development. */
    @WithName("local-dynamodb")
    LocalDynamoDb localDynamoDb();

    interface Broker {
        @WithDefault("localhost")
        String host();

        @WithDefault("1883")
        int port();

        Optional<String> username();

        Optional<String> password();

        /** TLS to the broker, trusting the JVM's trust store unless {@code tls.ca-file} is set. */
        @WithDefault("false")
        boolean ssl();

        /** The CA to trust and the client certificate (AWS IoT Core requires one); any file set turns TLS on. */
        Tls tls();

        /** Whether the connections to the broker use TLS: {@code ssl}, or any of the {@code tls.*} files set. */
        default boolean tlsEnabled() {
            return ssl()
                    || tls().caFile().isPresent()
                    || tls().certFile().isPresent()
                    || tls().keyFile().isPresent();
        }

        /** auto (MQTT 5, else 3.1.1), 5 or 3.1.1. */
        @WithDefault("auto")
        @WithConverter(MqttProtocol.Converter.class)
        MqttProtocol protocolVersion();

        /** Base of the client ids; one persistent session per channel: {@code <client-id>-events} … */
        Optional<String> clientId();

        /**
         * The start that every replica's client-id base shares, by which each replica knows the others'
         * connections. Unset: derived (the StatefulSet's name for pod names such as {@code mqtt-dynamo-0}, the
         * default base's {@code mqtt-dynamo-} when no client id is set; otherwise this replica's base alone).
         */
        Optional<String> replicaPrefix();

        /** How long the broker keeps the session (and queues QoS 1 messages) while the service is away. */
        @WithDefault("P7D")
        Duration sessionExpiry();

        /**
         * QoS 1/2 messages the broker may send before the service acknowledges them (MQTT 5). 65535, the
         * protocol's maximum: Mosquitto 2.0.x sends more than a smaller window under a burst, which the
         * client must answer by disconnecting (see docs/semantics.md, "Flow control").
         */
        @WithDefault("65535")
        int receiveMaximum();

        /** Largest MQTT packet accepted, in bytes. */
        @WithDefault("16777216")
        int maxMessageSize();

        /**
         * QoS 0 messages a channel holds at most while ingest has not taken them (DynamoDB slow or down); past it
         * QoS 0 messages are dropped and counted. QoS 1 and 2 messages are never dropped: the receive window
         * holds them back at the broker.
         */
        @WithDefault("10000")
        int maxQueuedQos0();

        /** The broker's management API (EMQX), through which on_subscribe_lookup restores subscriptions. */
        Api api();

        /**
         * Whether a stop (SIGTERM) ends the persistent sessions (after storing all they hold): never, always,
         * or scale-down: when this pod of a Kubernetes StatefulSet is past its replica count.
         */
        @WithDefault("never")
        EndSessions endSessionsOnStop();
    }

    /** PEM files, as a Kubernetes Secret mounts them; read at start-up (a changed file needs a restart). */
    interface Tls {
        /** The CA certificate(s) the broker's certificate must chain to, instead of the JVM's trust store. */
        Optional<String> caFile();

        /** The client certificate, followed by any intermediate certificates; needs {@code key-file}. */
        Optional<String> certFile();

        /**
         * The client certificate's private key, unencrypted: PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1
         * ({@code BEGIN RSA PRIVATE KEY}, as AWS IoT hands them out) or SEC1 ({@code BEGIN EC PRIVATE KEY}).
         */
        Optional<String> keyFile();

        /** Check that the broker's certificate names the host connected to (its DNS name or IP address). */
        @WithDefault("true")
        boolean hostnameVerification();
    }

    interface Api {
        /** e.g. {@code http://emqx:18083}; unset: no subscription restore on an external broker. */
        Optional<String> url();

        /** EMQX 5's API key, EMQX 4's AppID (HTTP Basic user). */
        Optional<String> key();

        /** Its secret (HTTP Basic password); from a Secret, never logged. */
        Optional<String> secret();

        /** How long one request may take before it is abandoned (and retried). */
        @WithDefault("PT5S")
        Duration timeout();

        /** Retries of a request that failed with a 5xx, a timeout or a connection error. */
        @WithDefault("3")
        int retries();
    }

    /** When a stop ends the sessions instead of leaving them to a successor with the same client id. */
    enum EndSessions {
        NEVER,
        ALWAYS,
        SCALE_DOWN
    }

    interface Events {
        @WithDefault("emqx5")
        EventDialect dialect();

        /** Defaults to {@code $SYS/brokers/+/clients/#} for the EMQX dialects, {@code $aws/events/#} for AWS IoT. */
        Optional<String> topic();

        /**
         * The {@code node} attribute of mqtt_client items for dialects whose events name no node (AWS IoT);
         * defaults to the broker host.
         */
        Optional<String> node();

        default Optional<String> effectiveTopic() {
            if (dialect() == EventDialect.NONE) {
                return Optional.empty();
            }
            return Optional.of(
                    topic().orElse(dialect() == EventDialect.AWS_IOT ? "$aws/events/#" : "$SYS/brokers/+/clients/#"));
        }
    }

    interface Messages {
        @WithDefault("raw")
        MessageMode mode();

        /** Defaults to {@code #} in raw mode, {@code mqtt-dynamo/events/message_publish} in envelope mode. */
        Optional<String> topic();

        /** Also store QoS 0 messages in mqtt_msg (the EMQX backend stores QoS 1 and 2 only). */
        @WithDefault("false")
        boolean storeQos0();

        /** Payloads above this many bytes are stored without payload and flagged {@code payload_truncated}. */
        @WithDefault("358400")
        int maxStoredPayload();

        default String effectiveTopic() {
            return topic().orElse(mode() == MessageMode.RAW ? "#" : EventTopics.MESSAGE_PUBLISH);
        }
    }

    interface Acks {
        /** Empty turns the acks channel off. */
        @WithDefault(EventTopics.MESSAGE_ACKED)
        Optional<String> topic();

        /**
         * Queue semantics: the first acknowledgement of a message deletes its mqtt_msg item. Off by default:
         * the item stays (for other subscribers and the dashboard) until its TTL, if one is set.
         */
        @WithDefault("false")
        boolean deleteMessage();

        /**
         * Acknowledgements that came before their message, marked per topic in mqtt_topic_msg_map (attribute
         * {@code acked_first}) so that the replica that takes the message later does not leave it pending (nor,
         * with {@code delete-message}, store it again); the oldest marks go past it. 0: no marks (one replica).
         * Each mark (a msgid, about 47 bytes) makes the topic's item larger while it is there.
         */
        @WithDefault("8")
        int earlyAcksPerTopic();
    }

    interface QueueFetch {
        /** At most this many messages per subscription, the oldest of them first (EMQX's max_returned_count). */
        @WithDefault("500")
        int maxCount();

        /** Only messages that arrived at most this long ago (EMQX's time_range). */
        @WithDefault("PT2H")
        Duration maxAge();

        /**
         * Beside an external broker, publish the messages again on their topics (every current subscriber of
         * the topic receives them). Off: the function runs on the embedded broker only.
         */
        @WithDefault("false")
        boolean republish();
    }

    interface Retained {
        /**
         * At start-up, when the broker kept no session of the service (it lost its state), compare its retained
         * messages with mqtt_retain and fill in each side.
         */
        @WithDefault("true")
        boolean restore();

        /** Rows the broker lacks republished per second by a comparison. */
        @WithDefault("200")
        int republishRate();

        /**
         * Longest a comparison waits for the broker's retained messages; past it the run stops before
         * republishing (which rows the broker lacks is unknown).
         */
        @WithDefault("PT30M")
        Duration collectTimeout();

        /**
         * Topics asked of the broker in one SUBSCRIBE before their rows are put back (AWS IoT takes at most 8
         * per SUBSCRIBE).
         */
        @WithDefault("50")
        int checkBatch();
    }

    interface Store {
        /** Create the six tables at start-up when they are missing. */
        @WithDefault("true")
        boolean createTables();

        /** Items of one BatchWriteItem request (DynamoDB allows 25). */
        @WithDefault("25")
        int batchSize();

        /** DynamoDB requests in flight at once. */
        @WithDefault("16")
        int maxInFlight();

        /** Writes waiting for DynamoDB before ingest stops taking messages (back-pressure). */
        @WithDefault("10000")
        int maxPending();

        /** Longest wait between retries of a failed write; writes are retried until they succeed. */
        @WithDefault("PT5S")
        Duration maxRetryDelay();

        /** On shutdown, how long to wait for taken writes to be stored before leaving them to the broker. */
        @WithDefault("PT10S")
        Duration drainTimeout();

        /**
         * Most msgids kept per topic in mqtt_topic_msg_map; when an addition finds the set full, the oldest half
         * is removed first. DynamoDB bills each addition by the item's size per started KB: 16 ids of EMQX's
         * form (47 bytes each) keep an item under 1 KB for topics up to ~200 bytes, one write unit per addition.
         */
        @WithDefault("16")
        int topicMsgIdsCap();

        /** When set, mqtt_msg items get an {@code expires_at} attribute (epoch seconds) for DynamoDB TTL. */
        Optional<Duration> messageTtl();
    }

    interface Hook {
        @WithDefault("true")
        boolean enabled();

        /** Replaces the function's topic filters. */
        Optional<String> topic();
    }

    interface Dashboard {
        Auth auth();

        /** The live update stream of the dashboard ({@code /api/live}). */
        Live live();

        /**
         * Without a password, the host names (beside localhost and the loopback addresses) under which the
         * dashboard and /api answer, whatever the port: a request naming another host in its Host header is
         * refused, so that a web page cannot reach them through a name of its own that it points at 127.0.0.1
         * (DNS rebinding).
         */
        Optional<List<String>> allowedHosts();

        interface Live {
            /** Streams open at once; one more is refused with 503 and Retry-After. */
            @WithDefault("100")
            int maxStreams();

            /** A stream is ended after this long; the page opens a new one (and counts again). */
            @WithDefault("PT10M")
            Duration maxAge();
        }

        interface Auth {
            /**
             * Ask for HTTP basic credentials on the dashboard and /api (health and metrics stay open). When
             * off, the dashboard and /api answer requests from the loopback interface only.
             */
            @WithDefault("false")
            boolean enabled();

            @WithDefault("admin")
            String username();

            /** Required when auth is enabled; from a Secret via MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD. */
            Optional<String> password();
        }
    }

    interface EmbeddedBroker {
        @WithDefault("false")
        boolean enabled();

        @WithDefault("127.0.0.1")
        String host();

        /** 1884, so that it runs beside a broker already on 1883. */
        @WithDefault("1884")
        int port();

        /** Accept MQTT 5 clients; false makes it a 3.1.1-only broker (to try clients against one). */
        @WithDefault("true")
        boolean mqtt5();

        /** The node name in the $SYS topics and envelopes the embedded broker emits. */
        @WithDefault("mqtt-dynamo@127.0.0.1")
        String node();
    }

    interface LocalDynamoDb {
        @WithDefault("false")
        boolean enabled();

        @WithDefault("127.0.0.1")
        String host();

        @WithDefault("4567")
        int port();

        /** Folder holding the pinned npm package (package.json) of the server. */
        @WithDefault("local-dynamodb")
        String directory();

        /** Keeps the data in this folder across restarts; in memory when unset. */
        Optional<String> dataPath();
    }

    /** The MQTT version setting: {@code auto}, {@code 5} or {@code 3.1.1}. */
    enum MqttProtocol {
        AUTO,
        V5,
        V3_1_1;

        /** Reads the values users write ({@code 5}, {@code 3.1.1}), which are no enum names. */
        public static final class Converter implements org.eclipse.microprofile.config.spi.Converter<MqttProtocol> {
            @Override
            public MqttProtocol convert(String value) {
                return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
                    case "auto" -> AUTO;
                    case "5", "5.0", "mqtt5" -> V5;
                    case "3.1.1", "3", "4", "mqtt3" -> V3_1_1;
                    default -> throw new IllegalArgumentException("must be auto, 5 or 3.1.1, got: " + value);
                };
            }
        }
    }

    /** {@code emqx5}, {@code emqx4}, {@code aws-iot} (AWS IoT Core's lifecycle events), {@code none}. */
    enum EventDialect {
        EMQX5,
        EMQX4,
        AWS_IOT,
        NONE
    }

    enum MessageMode {
        RAW,
        ENVELOPE
    }

    enum TimeUnitSetting {
        SECONDS,
        MILLISECONDS;

        /** Converts epoch milliseconds to this unit. */
        public long fromMillis(long millis) {
            return this == SECONDS ? millis / 1000 : millis;
        }
    }
}
