package io.mqttdynamo.broker.embedded;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.domain.Payloads;
import io.mqttdynamo.domain.TopicFilter;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Shareable;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import io.vertx.mqtt.MqttTopicSubscription;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.codes.MqttSubAckReasonCode;
import io.vertx.mqtt.messages.codes.MqttUnsubAckReasonCode;

/**
 * A small MQTT 3.1.1 / 5 broker for development, demos and tests, which reports what happens in it the
 * way EMQX 5 does: client events on {@code $SYS/brokers/<node>/clients/<clientid>/<event>}, and the
 * envelopes of the two broker rules mqtt-dynamo expects ({@value #PUBLISH_ENVELOPES} for every
 * publish, {@value #ACK_ENVELOPES} for every QoS 1/2 delivery a subscriber acknowledged), except on the
 * service's own topics ({@code mqtt-dynamo/events/#} and the replicas' figures on {@code mqtt-dynamo/cluster/+}),
 * which the rules leave out too (docs/brokers.md).
 *
 * <p>It keeps persistent sessions (subscriptions, queued and unacknowledged QoS 1/2 messages) in
 * memory, each for its session expiry interval once disconnected (MQTT 5: the CONNECT's, at most
 * {@link #MAX_SESSION_EXPIRY}; MQTT 3.1.1 with cleanSession=false: {@link #MQTT3_SESSION_EXPIRY}) and with
 * at most {@link #MAX_QUEUED} messages waiting each, retained messages, shared subscriptions ({@code $share/<group>/<filter>}, round robin) and the
 * MQTT 5 subscription options no-local, retain-as-published and retain handling. It does not do
 * authentication, wills or topic aliases.
 *
 * <p>In dev mode it outlives live reloads, loaded by a class loader of its own ({@link KeptBroker}): it
 * therefore logs through JBoss Logging directly (Quarkus rewrites {@code io.quarkus.logging.Log} only in the
 * classes it loads) and is {@link Shareable}, to be kept in Vert.x's local shared data as it is.
 */
public final class EmbeddedBroker implements EmbeddedBrokerHandle, Shareable {

    private static final Logger LOG = Logger.getLogger(EmbeddedBroker.class);

    public static final String PUBLISH_ENVELOPES = EventTopics.MESSAGE_PUBLISH;
    public static final String ACK_ENVELOPES = EventTopics.MESSAGE_ACKED;
    private static final TopicFilter OWN_EVENTS = TopicFilter.parse(EventTopics.ALL);
    private static final TopicFilter CLUSTER = TopicFilter.parse(EventTopics.CLUSTER_ALL);
    private static final int MQTT3_IN_FLIGHT = 100;
    /** Longest a disconnected session is kept: MQTT 5 clients asking for more (or "never") get this. */
    public static final Duration MAX_SESSION_EXPIRY = Duration.ofDays(7);
    /** How long a disconnected MQTT 3.1.1 persistent session (cleanSession=false) is kept. */
    public static final Duration MQTT3_SESSION_EXPIRY = Duration.ofDays(1);
    /** QoS 1/2 messages kept per session for a client that is away or slow; newer ones are dropped. */
    public static final int MAX_QUEUED = 10_000;

    private final String node;
    private final boolean mqtt5;
    private final EmqxMsgId ids = new EmqxMsgId();
    private final Map<String, Session> sessions = new HashMap<>();
    private final Map<String, Delivered> retained = new LinkedHashMap<>();
    private final Map<String, Integer> sharedCursor = new HashMap<>();
    private final Duration maxSessionExpiry;
    private final Duration mqtt3SessionExpiry;
    private final int maxQueued;
    private MqttServer server;
    private Vertx vertx;
    /** The event loop serving the connections (one server, one context), once a client connected. */
    private volatile Context connections;

    /**
     * @param node the node name in events and envelopes
     * @param mqtt5 whether MQTT 5 clients are accepted; without it the broker speaks 3.1.1 only
     */
    public EmbeddedBroker(String node, boolean mqtt5) {
        this(node, mqtt5, MAX_SESSION_EXPIRY, MQTT3_SESSION_EXPIRY, MAX_QUEUED);
    }

    /**
     * @param maxSessionExpiry the longest time a disconnected session is kept (MQTT 5 clients get what
     *        they ask for in CONNECT, at most this)
     * @param mqtt3SessionExpiry how long a disconnected MQTT 3.1.1 persistent session is kept
     * @param maxQueued QoS 1/2 messages kept per session beyond those in flight
     */
    public EmbeddedBroker(
            String node, boolean mqtt5, Duration maxSessionExpiry, Duration mqtt3SessionExpiry, int maxQueued) {
        this.node = node;
        this.mqtt5 = mqtt5;
        this.maxSessionExpiry = maxSessionExpiry;
        this.mqtt3SessionExpiry = mqtt3SessionExpiry;
        this.maxQueued = maxQueued;
    }

    /** Sessions held, connected or not (for tests and diagnostics). */
    public synchronized int sessionCount() {
        return sessions.size();
    }

    /** QoS 1/2 messages waiting in a client's session, in flight or queued; 0 without a session. */
    public synchronized int waitingFor(String clientId) {
        Session session = sessions.get(clientId);
        return session == null ? 0 : session.queue.size() + session.inFlight.size();
    }

    /** Starts listening; completes with the bound port. */
    public Future<Integer> start(Vertx vertx, String host, int port) {
        this.vertx = vertx;
        server = MqttServer.create(
                vertx,
                new MqttServerOptions()
                        .setHost(host)
                        .setPort(port)
                        .setMaxMessageSize(256 * 1024 * 1024 - 1)
                        .setAutoClientId(true));
        server.endpointHandler(this::onConnect);
        return server.listen().map(MqttServer::actualPort);
    }

    /**
     * Runs {@code task} on the event loop that serves the connections: a call from another thread that writes to a
     * connection (a subscription made or a stored message delivered on a client's behalf) would take the broker's
     * lock and then the connection's, where the event loop takes the connection's and then the broker's (reading a
     * PUBACK), and both would wait for good. At once while no client connected.
     */
    @Override
    public <T> Future<T> onConnectionsLoop(Supplier<T> task) {
        Context loop = connections;
        if (loop == null) {
            try {
                return Future.succeededFuture(task.get());
            } catch (RuntimeException e) {
                return Future.failedFuture(e);
            }
        }
        Promise<T> done = Promise.promise();
        loop.runOnContext(v -> {
            try {
                done.complete(task.get());
            } catch (RuntimeException e) {
                done.fail(e);
            }
        });
        return done.future();
    }

    @Override
    public Future<Void> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    /** What one PUBLISH carried. */
    record Delivered(
            String id, String topic, byte[] payload, int qos, boolean retain, String sender, String senderUsername) {}

    /** A message waiting for a subscriber's acknowledgement. */
    record InFlight(Delivered message, int qos, boolean retainFlag) {}

    record Subscription(
            String filter, TopicFilter match, String group, int qos, boolean noLocal, boolean retainAsPublished) {}

    private static final class Session {
        final String clientId;
        MqttEndpoint endpoint;
        boolean persistent;
        String username;
        int maxInFlight = MQTT3_IN_FLIGHT;
        /** How long the session outlives its connection; zero: not at all. */
        Duration expiry = Duration.ZERO;
        /** The timer that ends the session once it has been away for {@link #expiry}; -1 for none. */
        long expiryTimer = -1;
        /** Whether a full queue was logged since it last had room. */
        boolean overflowLogged;

        int nextPacketId = 1;
        final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
        final Map<Integer, InFlight> inFlight = new LinkedHashMap<>();
        final ArrayDeque<InFlight> queue = new ArrayDeque<>();

        Session(String clientId) {
            this.clientId = clientId;
        }

        boolean online() {
            return endpoint != null;
        }
    }

    private synchronized void onConnect(MqttEndpoint endpoint) {
        if (connections == null) {
            connections = Vertx.currentContext();
        }
        if (!mqtt5 && endpoint.protocolVersion() >= 5) {
            endpoint.reject(MqttConnectReturnCode.CONNECTION_REFUSED_UNSUPPORTED_PROTOCOL_VERSION);
            return;
        }
        String clientId = endpoint.clientIdentifier();
        if (!nameableInTopics(clientId)) {
            // Its events would need a topic with wildcards in it: the event's client id could not be told.
            endpoint.reject(
                    endpoint.protocolVersion() >= 5
                            ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                            : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
            return;
        }
        Session session = sessions.get(clientId);
        if (session != null && session.online()) {
            // Session takeover: the old connection leaves first, so events keep their order.
            MqttEndpoint old = session.endpoint;
            session.endpoint = null;
            emitClientEvent(
                    clientId,
                    "disconnected",
                    base(clientId, session.username)
                            .put("reason", "takenover")
                            .put("disconnected_at", System.currentTimeMillis()));
            old.close();
        }
        boolean sessionPresent = session != null && !endpoint.isCleanSession() && session.persistent;
        if (!sessionPresent) {
            session = new Session(clientId);
            sessions.put(clientId, session);
        }
        Session s = session;
        if (s.expiryTimer >= 0) {
            vertx.cancelTimer(s.expiryTimer);
            s.expiryTimer = -1;
        }
        s.endpoint = endpoint;
        s.expiry = endpoint.protocolVersion() >= 5
                ? min(Duration.ofSeconds(sessionExpiry(endpoint)), maxSessionExpiry)
                : endpoint.isCleanSession() ? Duration.ZERO : mqtt3SessionExpiry;
        s.persistent = !s.expiry.isZero();
        s.username = endpoint.auth() == null ? null : endpoint.auth().getUsername();
        s.maxInFlight = endpoint.protocolVersion() >= 5 ? receiveMaximum(endpoint) : MQTT3_IN_FLIGHT;

        endpoint.publishAutoAck(true);
        endpoint.subscribeHandler(
                subscribe -> onSubscribe(s, endpoint, subscribe.messageId(), subscribe.topicSubscriptions()));
        endpoint.unsubscribeHandler(
                unsubscribe -> onUnsubscribe(s, endpoint, unsubscribe.messageId(), unsubscribe.topics()));
        endpoint.publishHandler(message -> onPublish(s, message));
        endpoint.publishAcknowledgeHandler(packetId -> onAcknowledged(s, endpoint, packetId));
        endpoint.publishReceivedHandler(endpoint::publishRelease);
        endpoint.publishCompletionHandler(packetId -> onAcknowledged(s, endpoint, packetId));
        endpoint.disconnectHandler(v -> onClosed(s, endpoint, "normal"));
        endpoint.closeHandler(v -> onClosed(s, endpoint, "closed"));
        endpoint.exceptionHandler(e -> LOG.debugf("embedded broker: client %s: %s", clientId, e.getMessage()));
        endpoint.accept(sessionPresent);

        long now = System.currentTimeMillis();
        emitClientEvent(
                clientId,
                "connected",
                base(clientId, s.username)
                        .put("connected_at", now)
                        .put(
                                "ipaddress",
                                endpoint.remoteAddress() == null
                                        ? ""
                                        : endpoint.remoteAddress().host())
                        .put("proto_name", "MQTT")
                        .put("proto_ver", endpoint.protocolVersion())
                        .put("keepalive", endpoint.keepAliveTimeSeconds())
                        .put("clean_start", endpoint.isCleanSession())
                        .put("connack", 0));
        // Unacknowledged messages of a resumed session go first, then what was queued while away.
        if (sessionPresent) {
            List<InFlight> resend = new ArrayList<>(s.inFlight.values());
            s.inFlight.clear();
            for (int i = resend.size() - 1; i >= 0; i--) {
                s.queue.addFirst(resend.get(i));
            }
            pump(s);
        }
    }

    private synchronized void onSubscribe(
            Session s, MqttEndpoint endpoint, int packetId, List<MqttTopicSubscription> requested) {
        List<MqttSubAckReasonCode> codes = new ArrayList<>();
        List<Subscription> added = new ArrayList<>();
        java.util.Set<String> renewed = new java.util.HashSet<>();
        for (MqttTopicSubscription request : requested) {
            String filter = request.topicName();
            try {
                var options = request.subscriptionOption();
                if (s.subscriptions.containsKey(filter)) {
                    renewed.add(filter);
                }
                added.add(subscribe(
                        s,
                        filter,
                        request.qualityOfService().value(),
                        options != null && options.isNoLocal(),
                        options != null && options.isRetainAsPublished(),
                        options == null ? 0 : options.retainHandling().value()));
                codes.add(MqttSubAckReasonCode.qosGranted(request.qualityOfService()));
            } catch (IllegalArgumentException e) {
                codes.add(MqttSubAckReasonCode.TOPIC_FILTER_INVALID);
            }
        }
        if (endpoint.protocolVersion() >= 5) {
            endpoint.subscribeAcknowledge(packetId, codes, MqttProperties.NO_PROPERTIES);
        } else {
            endpoint.subscribeAcknowledge(
                    packetId,
                    codes.stream()
                            .map(c -> c == MqttSubAckReasonCode.TOPIC_FILTER_INVALID
                                    ? MqttQoS.FAILURE
                                    : MqttQoS.valueOf(c.value()))
                            .toList());
        }
        // As EMQX 5: is_new is false when the session held the filter already (emqx_session_mem:subscribe).
        for (Subscription subscription : added) {
            emitClientEvent(
                    s.clientId,
                    "subscribed",
                    base(s.clientId, s.username)
                            .put("topic", subscription.filter())
                            .put(
                                    "subopts",
                                    new JsonObject()
                                            .put("qos", subscription.qos())
                                            .put("nl", subscription.noLocal() ? 1 : 0)
                                            .put("rap", subscription.retainAsPublished() ? 1 : 0)
                                            .put("is_new", !renewed.contains(subscription.filter()))));
        }
        pump(s);
    }

    /** Adds (or replaces) a subscription of the session; sends retained messages as retain handling says. */
    private Subscription subscribe(
            Session s, String filter, int qos, boolean noLocal, boolean retainAsPublished, int retainHandling) {
        TopicFilter match = TopicFilter.parse(filter);
        String group = null;
        if (filter.startsWith("$share/")) {
            group = filter.substring("$share/".length(), filter.indexOf('/', "$share/".length()));
        }
        Subscription subscription = new Subscription(filter, match, group, qos, noLocal, retainAsPublished);
        boolean existed = s.subscriptions.put(filter, subscription) != null;
        if (group == null && (retainHandling == 0 || retainHandling == 1 && !existed)) {
            for (Delivered message : retained.values()) {
                if (match.matches(message.topic())) {
                    deliver(s, message, Math.min(qos, message.qos()), true);
                }
            }
        }
        return subscription;
    }

    /**
     * Subscribes a client's session on its behalf, as EMQX's subscribe API does: the filters it does not
     * hold yet are added (retained messages sent for them), a subscribed event is emitted for each.
     *
     * @param filters topic filter to QoS
     * @return false when the broker has no session of that client
     */
    @Override
    public synchronized boolean subscribe(String clientId, Map<String, Integer> filters) {
        Session s = sessions.get(clientId);
        if (s == null) {
            return false;
        }
        for (Map.Entry<String, Integer> entry : filters.entrySet()) {
            if (s.subscriptions.containsKey(entry.getKey())) {
                continue;
            }
            Subscription subscription;
            try {
                subscription =
                        subscribe(s, entry.getKey(), Math.max(0, Math.min(2, entry.getValue())), false, false, 1);
            } catch (IllegalArgumentException e) {
                LOG.debugf("embedded broker: %s cannot subscribe to %s: %s", clientId, entry.getKey(), e.getMessage());
                continue;
            }
            emitClientEvent(
                    clientId,
                    "subscribed",
                    base(clientId, s.username)
                            .put("topic", subscription.filter())
                            .put(
                                    "subopts",
                                    new JsonObject()
                                            .put("qos", subscription.qos())
                                            .put("nl", 0)
                                            .put("rap", 0)
                                            .put("is_new", true)));
        }
        pump(s);
        return true;
    }

    /**
     * Delivers a stored message to one client only, under the message's own id (so that its acknowledgement
     * envelope names the stored message), at the QoS of the client's best non-shared subscription matching
     * the topic. Nothing is published: no envelope, no other subscriber.
     *
     * @param hexId the message's GUID as 32 hex digits
     * @return false when the client has no session or no subscription for the topic
     */
    @Override
    public synchronized boolean deliverStored(
            String clientId, String hexId, String topic, byte[] payload, int qos, String sender) {
        Session s = sessions.get(clientId);
        if (s == null) {
            return false;
        }
        Subscription best = null;
        for (Subscription subscription : s.subscriptions.values()) {
            if (subscription.group() == null
                    && subscription.match().matches(topic)
                    && (best == null || subscription.qos() > best.qos())) {
                best = subscription;
            }
        }
        if (best == null) {
            return false;
        }
        deliver(s, new Delivered(hexId, topic, payload, qos, false, sender, null), Math.min(best.qos(), qos), false);
        return true;
    }

    private synchronized void onUnsubscribe(Session s, MqttEndpoint endpoint, int packetId, List<String> topics) {
        List<MqttUnsubAckReasonCode> codes = new ArrayList<>();
        for (String topic : topics) {
            if (s.subscriptions.remove(topic) != null) {
                codes.add(MqttUnsubAckReasonCode.SUCCESS);
                emitClientEvent(
                        s.clientId, "unsubscribed", base(s.clientId, s.username).put("topic", topic));
            } else {
                codes.add(MqttUnsubAckReasonCode.NO_SUBSCRIPTION_EXISTED);
            }
        }
        if (endpoint.protocolVersion() >= 5) {
            endpoint.unsubscribeAcknowledge(packetId, codes, MqttProperties.NO_PROPERTIES);
        } else {
            endpoint.unsubscribeAcknowledge(packetId);
        }
    }

    private synchronized void onPublish(Session s, MqttPublishMessage message) {
        String topic = message.topicName();
        if (topic.startsWith("$")) {
            LOG.debugf("embedded broker: %s may not publish to %s", s.clientId, topic);
            return;
        }
        Delivered delivered = new Delivered(
                newId(),
                topic,
                message.payload().getBytes(),
                message.qosLevel().value(),
                message.isRetain(),
                s.clientId,
                s.username);
        publish(delivered);
        if (!serviceTopic(topic)) {
            JsonObject envelope = new JsonObject()
                    .put("id", delivered.id())
                    .put("clientid", s.clientId)
                    .put("username", s.username)
                    .put("topic", topic)
                    .put("qos", delivered.qos())
                    .put(
                            "flags",
                            new JsonObject().put("retain", delivered.retain()).put("dup", message.isDup()))
                    .put("publish_received_at", System.currentTimeMillis())
                    .put("timestamp", System.currentTimeMillis())
                    .put("node", node);
            Optional<String> text = Payloads.utf8(delivered.payload());
            if (text.isPresent()) {
                envelope.put("payload", text.get());
            } else {
                envelope.put("payload_b64", Base64.getEncoder().encodeToString(delivered.payload()));
            }
            emit(PUBLISH_ENVELOPES, envelope);
        }
    }

    private synchronized void onAcknowledged(Session s, MqttEndpoint endpoint, int packetId) {
        if (s.endpoint != endpoint) {
            return;
        }
        InFlight acked = s.inFlight.remove(packetId);
        if (acked != null
                && !acked.message().topic().startsWith("$")
                && !serviceTopic(acked.message().topic())) {
            emit(
                    ACK_ENVELOPES,
                    new JsonObject()
                            .put("id", acked.message().id())
                            .put("clientid", s.clientId)
                            .put("username", s.username)
                            .put("from_clientid", acked.message().sender())
                            .put("from_username", acked.message().senderUsername())
                            .put("topic", acked.message().topic())
                            .put("qos", acked.qos())
                            .put("timestamp", System.currentTimeMillis())
                            .put("node", node));
        }
        pump(s);
    }

    private synchronized void onClosed(Session s, MqttEndpoint endpoint, String reason) {
        if (s.endpoint != endpoint) {
            return;
        }
        s.endpoint = null;
        emitClientEvent(
                s.clientId,
                "disconnected",
                base(s.clientId, s.username).put("reason", reason).put("disconnected_at", System.currentTimeMillis()));
        if (!s.persistent) {
            sessions.remove(s.clientId);
        } else if (vertx != null) {
            s.expiryTimer = vertx.setTimer(Math.max(1, s.expiry.toMillis()), id -> expire(s, id));
        }
    }

    /** Ends a session that stayed away for its expiry interval, with what was queued for it. */
    private synchronized void expire(Session s, long timer) {
        if (s.expiryTimer == timer && !s.online() && sessions.get(s.clientId) == s) {
            sessions.remove(s.clientId);
            LOG.debugf(
                    "embedded broker: session of %s expired with %d messages",
                    s.clientId, s.queue.size() + s.inFlight.size());
        }
    }

    /** The service's own topics: no envelope for what is published there. */
    private static boolean serviceTopic(String topic) {
        return OWN_EVENTS.matches(topic) || CLUSTER.matches(topic);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Routes a message to every matching subscription; one member of each shared group gets it. */
    private void publish(Delivered message) {
        if (message.retain()) {
            if (message.payload().length == 0) {
                retained.remove(message.topic());
            } else {
                retained.put(message.topic(), message);
            }
        }
        Map<String, List<GroupMember>> groups = new LinkedHashMap<>();
        for (Session s : sessions.values()) {
            Subscription best = null;
            for (Subscription subscription : s.subscriptions.values()) {
                if (!subscription.match().matches(message.topic())) {
                    continue;
                }
                if (subscription.group() != null) {
                    if (s.online()) {
                        groups.computeIfAbsent(
                                        subscription.group() + '\u0000' + subscription.match(), g -> new ArrayList<>())
                                .add(new GroupMember(s, subscription));
                    }
                    continue;
                }
                if (subscription.noLocal() && s.clientId.equals(message.sender())) {
                    continue;
                }
                if (best == null || subscription.qos() > best.qos()) {
                    best = subscription;
                }
            }
            if (best != null) {
                deliver(s, message, Math.min(best.qos(), message.qos()), best.retainAsPublished() && message.retain());
            }
        }
        groups.forEach((group, members) -> {
            int cursor = sharedCursor.merge(group, 1, Integer::sum);
            GroupMember chosen = members.get(Math.floorMod(cursor, members.size()));
            deliver(chosen.session(), message, Math.min(chosen.subscription().qos(), message.qos()), false);
        });
    }

    /** A connected member of a shared subscription group. */
    private record GroupMember(Session session, Subscription subscription) {}

    private void deliver(Session s, Delivered message, int qos, boolean retainFlag) {
        InFlight delivery = new InFlight(message, qos, retainFlag);
        if (qos == 0) {
            if (s.online()) {
                s.endpoint.publish(
                        message.topic(), Buffer.buffer(message.payload()), MqttQoS.AT_MOST_ONCE, false, retainFlag);
            }
            return;
        }
        if (!s.online() && !s.persistent) {
            return;
        }
        if (s.queue.size() >= maxQueued) {
            if (!s.overflowLogged) {
                s.overflowLogged = true;
                LOG.warnf(
                        "embedded broker: %d messages queued for %s; newer ones are dropped until it takes some",
                        maxQueued, s.clientId);
            }
            return;
        }
        s.overflowLogged = false;
        s.queue.add(delivery);
        pump(s);
    }

    /** Sends queued QoS 1/2 messages while the client's receive window has room. */
    private void pump(Session s) {
        while (s.online() && !s.queue.isEmpty() && s.inFlight.size() < s.maxInFlight) {
            InFlight next = s.queue.poll();
            int packetId = nextPacketId(s);
            s.inFlight.put(packetId, next);
            s.endpoint.publish(
                    next.message().topic(),
                    Buffer.buffer(next.message().payload()),
                    MqttQoS.valueOf(next.qos()),
                    false,
                    next.retainFlag(),
                    packetId);
        }
    }

    private static int nextPacketId(Session s) {
        while (true) {
            int id = s.nextPacketId;
            s.nextPacketId = id == 65535 ? 1 : id + 1;
            if (!s.inFlight.containsKey(id)) {
                return id;
            }
        }
    }

    private void emitClientEvent(String clientId, String event, JsonObject payload) {
        emit("$SYS/brokers/" + node + "/clients/" + topicLevel(clientId) + "/" + event, payload);
    }

    private void emit(String topic, JsonObject payload) {
        publish(new Delivered(newId(), topic, payload.encode().getBytes(StandardCharsets.UTF_8), 1, false, "", null));
    }

    private JsonObject base(String clientId, String username) {
        return new JsonObject()
                .put("clientid", clientId)
                .put("username", username)
                .put("ts", System.currentTimeMillis())
                .put("protocol", "mqtt")
                .put("node", node);
    }

    private String newId() {
        return HexFormat.of().withUpperCase().formatHex(ids.nextGuid());
    }

    /**
     * A client id as it appears in event topics: unchanged, slashes included (as EMQX does; decoders take
     * everything between {@code clients} and the event kind). Ids that cannot be part of a topic name are
     * refused at CONNECT (see {@link #nameableInTopics}).
     */
    private static String topicLevel(String clientId) {
        return clientId;
    }

    /** Whether a client id can be written into a topic name: no wildcards, no NUL, not empty. */
    static boolean nameableInTopics(String clientId) {
        return clientId != null
                && !clientId.isEmpty()
                && clientId.indexOf('+') < 0
                && clientId.indexOf('#') < 0
                && clientId.indexOf('\u0000') < 0;
    }

    private static int receiveMaximum(MqttEndpoint endpoint) {
        var property = endpoint.connectProperties() == null
                ? null
                : endpoint.connectProperties().getProperty(MqttProperties.MqttPropertyType.RECEIVE_MAXIMUM.value());
        return property == null ? 65535 : Math.max(1, (Integer) property.value());
    }

    /** The CONNECT's session expiry interval in seconds (an unsigned 32-bit number; 0 when absent). */
    private static long sessionExpiry(MqttEndpoint endpoint) {
        var property = endpoint.connectProperties() == null
                ? null
                : endpoint.connectProperties()
                        .getProperty(MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value());
        return property == null ? 0 : Integer.toUnsignedLong((Integer) property.value());
    }
}
