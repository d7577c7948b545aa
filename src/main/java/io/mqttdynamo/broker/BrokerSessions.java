package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.MqttClientSslConfig;
import com.hivemq.client.mqtt.MqttClientSslConfigBuilder;
import com.hivemq.client.mqtt.exceptions.ConnectionFailedException;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5SimpleAuth;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.config.BrokerTls;
import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.ReplicaIdentity;
import io.quarkus.logging.Log;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * The service's MQTT sessions with the broker: where the broker is, which MQTT version it speaks
 * (asked once, shared by all channels), one persistent session per channel, and whether they are up.
 */
@ApplicationScoped
public class BrokerSessions {

    private final MqttDynamoConfig.Broker broker;
    private final String host;
    private final int port;
    /** TLS to the broker ({@code ssl} or {@code tls.*}); never to the embedded broker. */
    private final boolean tls;

    private volatile MqttClientSslConfig sslConfig;
    private final String clientIdBase;
    private final ReplicaIds replicas;
    private final ProtocolVersion configuredVersion;
    private final Uni<ProtocolVersion> negotiated;
    private final Map<String, ChannelSession> sessions = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private final List<Consumer<String>> sessionLostListeners = new CopyOnWriteArrayList<>();
    private final Duration drainTimeout;
    /** How long no message may have arrived before a leaving session counts as empty. */
    static final Duration QUIET = Duration.ofMillis(500);
    /** How often a leaving replica looks whether its sessions are empty. */
    private static final Duration DRAIN_POLL = Duration.ofMillis(50);
    /** Longest wait for the broker to take an unsubscribe or a session's end. */
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(5);

    public BrokerSessions(MqttDynamoConfig config, MeterRegistry registry) {
        this.registry = registry;
        this.broker = config.broker();
        this.drainTimeout = config.store().drainTimeout();
        MqttDynamoConfig.EmbeddedBroker embedded = config.embeddedBroker();
        // The embedded broker exists in dev mode and tests only.
        boolean useEmbedded = embedded.enabled() && LaunchMode.current() != LaunchMode.NORMAL;
        if (embedded.enabled() && !useEmbedded) {
            Log.warnf(
                    "mqtt-dynamo.embedded-broker.enabled is ignored: the embedded broker is for dev mode and"
                            + " tests; connecting to %s:%d",
                    broker.host(), broker.port());
        }
        this.host = useEmbedded ? embedded.host() : broker.host();
        this.port = useEmbedded ? embedded.port() : broker.port();
        this.tls = !useEmbedded && broker.tlsEnabled();
        this.clientIdBase = ReplicaIdentity.clientIdBase(config);
        this.replicas = ReplicaIds.of(clientIdBase, broker.clientId().isPresent(), broker.replicaPrefix());
        Log.infof(
                "MQTT client ids of the service's own connections: %s-…, and of the other replicas %s",
                clientIdBase, replicas.description());
        this.configuredVersion = switch (broker.protocolVersion()) {
            case AUTO -> null;
            case V5 -> ProtocolVersion.MQTT_5;
            case V3_1_1 -> ProtocolVersion.MQTT_3_1_1;
        };
        this.negotiated = configuredVersion != null
                ? Uni.createFrom().item(configuredVersion)
                : Uni.createFrom()
                        .deferred(this::probe)
                        .onFailure()
                        .invoke(e -> Log.warnf(
                                "MQTT broker %s:%d not reachable yet (%s); retrying", host, port, e.getMessage()))
                        .onFailure()
                        .retry()
                        .withBackOff(Duration.ofMillis(200), Duration.ofSeconds(10))
                        .indefinitely()
                        .memoize()
                        .indefinitely();
    }

    /**
     * Opens the persistent session of {@code channel} subscribed to {@code topic}. Its gauge
     * {@code mqtt_dynamo_broker_connected} exists from this call on, 0 until the session is connected and subscribed
     * (also while the broker cannot be reached to ask its MQTT version).
     */
    public Uni<ChannelSession> open(String channel, String topic, int maxMessageSize) {
        Gauge.builder("mqtt_dynamo_broker_connected", sessions, open -> {
                    ChannelSession session = open.get(channel);
                    return session != null && session.connected() ? 1 : 0;
                })
                .tag("channel", channel)
                .description("1 while the channel's MQTT session is connected to the broker and subscribed, else 0")
                .register(registry);
        return negotiated.map(version -> {
            ChannelSession session = new ChannelSession(
                    channel,
                    topic,
                    clientIdBase + "-" + channel,
                    version,
                    this,
                    Math.min(maxMessageSize, broker.maxMessageSize()),
                    registry);
            ChannelSession previous = sessions.put(channel, session);
            if (previous != null) {
                previous.close();
            }
            return session;
        });
    }

    /** The base of the service's own client ids ({@code <base>-<channel>}). */
    public String clientIdBase() {
        return clientIdBase;
    }

    /** Adds a listener told, with the channel's name, when the broker lost a channel's session. */
    public void onSessionLost(Consumer<String> listener) {
        sessionLostListeners.add(listener);
    }

    /** Tells the listeners (the retained comparison) that the broker lost a channel's session. */
    void sessionLost(String channel) {
        for (Consumer<String> listener : sessionLostListeners) {
            try {
                listener.accept(channel);
            } catch (RuntimeException e) {
                Log.warnf(e, "a listener of a lost broker session failed");
            }
        }
    }

    /** The sessions by channel, for health and the dashboard. */
    public Map<String, ChannelSession> sessions() {
        return Map.copyOf(sessions);
    }

    /**
     * True for the client ids of the service's own connections, this replica's and every other replica's
     * ({@code <client-id>-messages}, {@code -cluster}, {@code -retained…}, {@code -probe-…}, see
     * {@link ReplicaIds}), and the republishing connections.
     */
    public boolean isOwnClient(String clientId) {
        return clientId.startsWith(clientIdBase + "-")
                || replicas.isReplicaConnection(clientId)
                || Republisher.isRepublisher(clientId)
                || clientId.contains(RetainedBrokerClient.SCAN_ID_INFIX);
    }

    /** The MQTT version the broker speaks, once known (probed once when {@code auto}, shared by all connections). */
    public Uni<ProtocolVersion> protocolVersion() {
        return negotiated;
    }

    /** The broker credentials for an MQTT 5 connect, or null. */
    public Mqtt5SimpleAuth mqtt5Auth() {
        return Mqtt5Client.auth(this);
    }

    /** host:port of the broker. */
    public String address() {
        return host + ":" + port;
    }

    /**
     * A client builder with the broker's address and TLS: every connection of the service to the broker (the
     * channels, the version probe, the republisher, the retained scans, the cluster view) is built here.
     */
    public MqttClientBuilder clientBuilder(String clientId) {
        MqttClientBuilder builder =
                MqttClient.builder().identifier(clientId).serverHost(host).serverPort(port);
        if (tls) {
            builder = builder.sslConfig(sslConfig());
        }
        return builder;
    }

    /** The TLS configuration, read from the files once (the start-up check has read them already). */
    private MqttClientSslConfig sslConfig() {
        MqttClientSslConfig config = sslConfig;
        if (config == null) {
            synchronized (this) {
                if (sslConfig == null) {
                    BrokerTls material = BrokerTls.load(broker.tls());
                    sslConfig = sslConfig(material);
                    Log.infof("MQTT broker %s:%d: %s", host, port, material.describe());
                }
                config = sslConfig;
            }
        }
        return config;
    }

    /** The client library's TLS settings for {@code material}. */
    static MqttClientSslConfig sslConfig(BrokerTls material) {
        MqttClientSslConfigBuilder builder = MqttClientSslConfig.builder();
        if (material.trustManagers().isPresent()) {
            builder = builder.trustManagerFactory(material.trustManagers().get());
        }
        if (material.keyManagers().isPresent()) {
            builder = builder.keyManagerFactory(material.keyManagers().get());
        }
        if (!material.hostnameVerification()) {
            // Without a verifier the library has the TLS engine check the host name (endpoint identification
            // HTTPS); with one, the verifier decides.
            builder = builder.hostnameVerifier((hostname, session) -> true);
        }
        return builder.build();
    }

    Optional<String> username() {
        return broker.username();
    }

    Optional<String> password() {
        return broker.password();
    }

    Duration sessionExpiry() {
        return broker.sessionExpiry();
    }

    int receiveMaximum() {
        return broker.receiveMaximum();
    }

    int maxQueuedQos0() {
        return broker.maxQueuedQos0();
    }

    /**
     * Tries MQTT 5 with a throw-away clean session; falls back to 3.1.1 when the broker refuses version 5.
     * Fails (and is retried) while the broker cannot be reached.
     */
    private Uni<ProtocolVersion> probe() {
        Mqtt5AsyncClient client = clientBuilder(
                        clientIdBase + "-probe-" + UUID.randomUUID().toString().substring(0, 8))
                .useMqttVersion5()
                .buildAsync();
        CompletableFuture<ProtocolVersion> version = client.connectWith()
                .cleanStart(true)
                .simpleAuth(Mqtt5Client.auth(this))
                .send()
                .orTimeout(10, TimeUnit.SECONDS)
                .thenApply(ack -> ProtocolVersion.MQTT_5)
                .exceptionallyCompose(failure -> {
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause()
                            : failure;
                    if (cause instanceof ConnectionFailedException || cause instanceof TimeoutException) {
                        return CompletableFuture.failedFuture(cause);
                    }
                    if (cause instanceof Mqtt5ConnAckException ack
                            && ack.getMqttMessage().getReasonCode()
                                    != Mqtt5ConnAckReasonCode.UNSUPPORTED_PROTOCOL_VERSION) {
                        return CompletableFuture.failedFuture(new IllegalStateException(
                                "the broker refused the"
                                        + " connection: " + ack.getMqttMessage().getReasonCode()
                                        + "; check mqtt-dynamo.broker.username / password",
                                cause));
                    }
                    Log.infof(
                            "MQTT broker %s:%d does not speak MQTT 5 (%s); using MQTT 3.1.1",
                            host, port, cause.getMessage());
                    return CompletableFuture.completedFuture(ProtocolVersion.MQTT_3_1_1);
                })
                .whenComplete((v, e) -> {
                    // Also after a time-out: a connection that comes up late must not stay open.
                    client.disconnect();
                    if (v != null) {
                        Log.infof("MQTT broker %s:%d: speaking %s", host, port, v);
                    }
                });
        return Uni.createFrom().completionStage(version);
    }

    /**
     * When this replica leaves for good (see {@code end-sessions-on-stop}): before the drain, unsubscribe
     * (the broker sends new messages to the group's other members), store and acknowledge what the sessions
     * still hold or the broker had queued for them, then end the sessions, so that the broker forgets them
     * instead of keeping them, and queueing the group's messages for them, for the session expiry.
     * Ending a session with unacknowledged messages would drop them (Mosquitto does not hand a shared
     * subscription member's messages to another member): when they cannot be stored within
     * {@code drain-timeout}, the sessions are kept.
     */
    void onLeave(@Observes @Priority(Lifecycle.STOP_LEAVE_SESSIONS) ShutdownEvent event) {
        if (leavingForGood()) {
            leaveAndEndSessions();
        }
    }

    private boolean leavingForGood() {
        return switch (broker.endSessionsOnStop()) {
            case NEVER -> false;
            case ALWAYS -> true;
            case SCALE_DOWN -> {
                String pod = Optional.ofNullable(System.getenv("POD_NAME")).orElse(System.getenv("HOSTNAME"));
                StatefulSetScale.Verdict verdict;
                try {
                    verdict = StatefulSetScale.inCluster(pod).check();
                } catch (Exception e) {
                    verdict = new StatefulSetScale.Verdict(StatefulSetScale.Decision.UNKNOWN, e.getMessage());
                }
                switch (verdict.decision()) {
                    case LEAVING -> Log.infof("Scale-down: %s; ending the MQTT sessions", verdict.reason());
                    case STAYING ->
                        Log.infof("%s: keeping the MQTT sessions for this pod's successor", verdict.reason());
                    default ->
                        Log.warnf(
                                "Cannot tell whether this pod leaves for good (%s): keeping the MQTT sessions",
                                verdict.reason());
                }
                yield verdict.decision() == StatefulSetScale.Decision.LEAVING;
            }
        };
    }

    void leaveAndEndSessions() {
        List<ChannelSession> all = List.copyOf(sessions.values());
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        Uni<Void> leaveDrainEnd = Multi.createFrom()
                .iterable(all)
                .onItem()
                .transformToUniAndConcatenate(session -> step(session::leave)
                        .onFailure()
                        .invoke(failure -> Log.warnf(
                                "MQTT channel %s could not unsubscribe (%s):" + " keeping the sessions",
                                session.clientId(), failure.getMessage())))
                .collect()
                .last()
                // What the broker had queued for the sessions arrives, is stored and acknowledged.
                .chain(() -> Multi.createFrom()
                        .ticks()
                        .every(DRAIN_POLL)
                        .select()
                        .where(tick -> drained(all) || System.nanoTime() > deadline)
                        .toUni())
                .chain(tick -> {
                    if (!drained(all)) {
                        Log.warnf(
                                "%d message(s) not stored within %s: keeping the MQTT sessions, so that the broker"
                                        + " keeps them",
                                all.stream()
                                        .mapToInt(ChannelSession::unacknowledged)
                                        .sum(),
                                drainTimeout);
                        return Uni.createFrom().voidItem();
                    }
                    return Multi.createFrom()
                            .iterable(all)
                            .onItem()
                            .transformToUniAndConcatenate(session -> step(session::endSession)
                                    .invoke(() -> Log.infof("MQTT session %s ended", session.clientId()))
                                    .onFailure()
                                    .recoverWithItem(failure -> {
                                        Log.warnf(
                                                "MQTT session %s not ended: %s",
                                                session.clientId(), failure.getMessage());
                                        return null;
                                    }))
                            .collect()
                            .last()
                            .replaceWithVoid();
                });
        // This runs on the shutdown thread, which must not return before the sessions are empty and ended: the
        // one wait of the service, bounded by its steps (each at most STEP_TIMEOUT) and the drain's deadline.
        Duration bound = drainTimeout.plus(STEP_TIMEOUT.multipliedBy(2L * all.size() + 1));
        try {
            leaveDrainEnd.await().atMost(bound);
        } catch (RuntimeException e) {
            // a session that could not unsubscribe, or the bound passed: logged, the sessions are kept
            Log.debugf("leaving the MQTT sessions: %s", e.getMessage());
        }
    }

    /** One step of leaving, bounded in time. */
    private static Uni<Void> step(Supplier<CompletableFuture<Void>> request) {
        return Uni.createFrom()
                .completionStage(request)
                .ifNoItem()
                .after(STEP_TIMEOUT)
                .fail();
    }

    /** The sessions hold nothing unacknowledged and have received nothing for {@link #QUIET}. */
    private static boolean drained(List<ChannelSession> all) {
        return all.stream().allMatch(s -> s.unacknowledged() == 0 && s.quietNanos() > QUIET.toNanos());
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_MQTT_SESSIONS) ShutdownEvent event) {
        closeAll();
    }

    @PreDestroy
    void closeAll() {
        sessions.values().forEach(ChannelSession::close);
    }
}
