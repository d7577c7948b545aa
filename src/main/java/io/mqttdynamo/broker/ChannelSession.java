package io.mqttdynamo.broker;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;
import org.jboss.logging.Logger.Level;

import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.exceptions.MqttSessionExpiredException;
import com.hivemq.client.mqtt.lifecycle.MqttDisconnectSource;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.config.LogFields;
import io.quarkus.logging.Log;
import io.reactivex.Flowable;
import io.smallrye.mutiny.Multi;

import mutiny.zero.flow.adapters.AdaptersToFlow;

/**
 * One channel's MQTT session: a persistent session (clean start off, session expiry set) subscribed at
 * QoS 1 to the channel's topic, whose messages are acknowledged to the broker only when the service
 * acks them, that is after they are stored. The broker redelivers whatever was not acknowledged when
 * the service went away. The MQTT version's details are in {@link Mqtt5Client} and {@link Mqtt3Client}.
 */
public final class ChannelSession {

    private static final CompletableFuture<Void> ACKED = CompletableFuture.completedFuture(null);
    /** Shortest time between two warnings about dropped QoS 0 messages. */
    private static final long DROP_WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final String channel;
    private final String topic;
    private final String clientId;
    private final ProtocolVersion version;
    private final VersionedClient client;
    private volatile String lastProblem;
    /** Connected and subscribed (or resumed a session that is). */
    private volatile boolean subscribed;
    /** Messages received and not acknowledged yet: what the client holds for the service. */
    private final AtomicInteger unacknowledged = new AtomicInteger();
    /** Set once the session is being ended for good. */
    private volatile boolean ending;
    /** When the last message arrived (System.nanoTime). */
    private volatile long lastReceivedNanos = System.nanoTime();
    /**
     * The client holds the channel's subscription: from the SUBSCRIBE until the broker refuses it or it is
     * unsubscribed. After a session the broker lost, the client then subscribes again by itself.
     */
    private volatile boolean clientHoldsSubscription;
    /** Unsubscribed for good ({@link #leave()}): a new session is not subscribed again. */
    private volatile boolean left;
    /** Closed by the service: the client's publish flow ends with it. */
    private volatile boolean closed;

    private final Counter reconnects;
    /** QoS 0 messages received and not yet taken by ingest, at most {@link #maxQueuedQos0}. */
    private final AtomicInteger queuedQos0 = new AtomicInteger();

    private final int maxQueuedQos0;
    private final BrokerSessions broker;
    private final Counter qos0Dropped;
    /** When the last warning about dropped QoS 0 messages was logged (System.nanoTime). */
    private final AtomicLong lastDropWarning = new AtomicLong(System.nanoTime() - DROP_WARNING_INTERVAL_NANOS);

    ChannelSession(
            String channel,
            String topic,
            String clientId,
            ProtocolVersion version,
            BrokerSessions broker,
            int maxMessageSize,
            MeterRegistry registry) {
        this.channel = channel;
        this.topic = topic;
        this.clientId = clientId;
        this.version = version;
        this.reconnects = Counter.builder("mqtt_dynamo_broker_reconnects")
                .tag("channel", channel)
                .description("Times the channel's MQTT connection was lost and made again")
                .register(registry);
        Gauge.builder("mqtt_dynamo_unacknowledged_messages", unacknowledged, AtomicInteger::get)
                .tag("channel", channel)
                .description("Messages received from the broker and not acknowledged yet")
                .register(registry);
        this.maxQueuedQos0 = broker.maxQueuedQos0();
        this.broker = broker;
        Gauge.builder("mqtt_dynamo_queued_qos0_messages", queuedQos0, AtomicInteger::get)
                .tag("channel", channel)
                .description("QoS 0 messages received and not yet taken by ingest (at most"
                        + " mqtt-dynamo.broker.max-queued-qos0)")
                .register(registry);
        this.qos0Dropped = Counter.builder("mqtt_dynamo_qos0_dropped")
                .tag("channel", channel)
                .description("QoS 0 messages dropped because mqtt-dynamo.broker.max-queued-qos0 were waiting")
                .register(registry);
        var builder = broker.clientBuilder(clientId)
                .automaticReconnect()
                .initialDelay(200, TimeUnit.MILLISECONDS)
                .maxDelay(10, TimeUnit.SECONDS)
                .applyAutomaticReconnect()
                .addDisconnectedListener(context -> {
                    subscribed = false;
                    lastProblem = context.getCause().getMessage();
                    if (context.getSource() == MqttDisconnectSource.USER) {
                        log(Level.INFO, "MQTT channel %s (%s) closed", channel, clientId);
                        return;
                    }
                    reconnects.increment();
                    log(
                            Level.WARN,
                            "MQTT channel %s (%s) disconnected: %s; reconnecting",
                            channel,
                            clientId,
                            lastProblem);
                    // Should the broker have lost the session, the client keeps its publish flows and subscribes
                    // again to what it was subscribed to: MqttSubscriptionHandler.onSessionEnd returns before
                    // MqttIncomingPublishFlows.clear when this is set and the client is not DISCONNECTED, and
                    // onSessionStartOrResume queues the SUBSCRIBEs again. Cleared flows would cost messages: a
                    // publish that finds no flow is acknowledged by the client itself, unstored
                    // (MqttIncomingPublishService.onPublishQos1Or2), and a new flow could only be registered once
                    // the old one ended, which is once every message it delivered was acknowledged
                    // (MqttIncomingPublishFlow.setDone), that is once the backlog is stored.
                    context.getReconnector().resubscribeIfSessionExpired(true);
                });
        this.client = version == ProtocolVersion.MQTT_5
                ? new Mqtt5Client(channel, builder, broker, maxMessageSize, this::onConnected)
                : new Mqtt3Client(builder, broker, this::onConnected);
    }

    /**
     * The channel's messages. Subscribing connects; the broker's publishes flow only as fast as they
     * are acknowledged.
     */
    public Multi<Message<byte[]>> messages() {
        // Taken from the client as they come: the client walks its queue of messages not yet taken on every
        // publish that arrives, which costs more the more wait there (it was most of the CPU under a burst).
        // The buffer is bounded all the same. QoS 1 and 2 messages stay unacknowledged in the client until they
        // are stored, and the client holds no more of those than its receive maximum (it disconnects when the
        // broker sends more: MqttIncomingPublishService.onPublishQos1Or2; 65535 with MQTT 3.1.1, whose packet ids
        // allow no more). QoS 0 messages, which no window holds back, are let in up to max-queued-qos0 (take).
        // Ingest's back-pressure is the pipeline's admission.
        // delayError: should the client's flow end, what was received before is still handed over and stored.
        Flowable<Message<byte[]>> publishes = client.publishes()
                .filter(this::take)
                .onBackpressureBuffer(Flowable.bufferSize(), true, true)
                .map(this::handOver);
        // Connect only once the subscription to the client's publishes has returned: the client has then
        // registered the flow, and a resumed session's redeliveries, which arrive right after CONNACK,
        // find it (connecting from inside onSubscribe raced with that registration).
        Flow.Publisher<Message<byte[]>> subscribeThenConnect = subscriber -> {
            AdaptersToFlow.publisher(publishes).subscribe(subscriber);
            if (ending || client.state() != MqttClientState.DISCONNECTED) {
                return;
            }
            client.connect().whenComplete((ok, failure) -> {
                if (failure != null) {
                    lastProblem = failure.getMessage();
                    log(
                            Level.WARN,
                            "MQTT channel %s (%s): first connect failed: %s; retrying",
                            channel,
                            clientId,
                            failure.getMessage());
                }
            });
        };
        // The client's publish flow outlives a session the broker lost (see the disconnected listener); it ends
        // when the service ended the session (leaving for good) or closed the client, and the channel with it.
        // Should the client end it otherwise, the flow is taken up again.
        return Multi.createFrom()
                .publisher(subscribeThenConnect)
                .onFailure(MqttSessionExpiredException.class)
                .recoverWithMulti(expired -> ending || closed
                        ? Multi.createFrom().empty()
                        : Multi.createFrom().failure(expired))
                .onFailure(MqttSessionExpiredException.class)
                .invoke(expired -> log(
                        Level.WARN,
                        "MQTT channel %s: the client ended its publish flow (%s); taking it up again",
                        channel,
                        expired.getMessage()))
                .onFailure(MqttSessionExpiredException.class)
                .retry()
                .indefinitely()
                .onTermination()
                .invoke(this::close);
    }

    private void onConnected(boolean sessionPresent) {
        if (ending) {
            // MQTT 3.1.1 ends a session by connecting with a clean session: subscribe to nothing there.
            return;
        }
        lastProblem = null;
        log(
                Level.INFO,
                "MQTT channel %s connected as %s (%s, session %s)",
                channel,
                clientId,
                version,
                sessionPresent ? "resumed" : "new");
        if (left) {
            return;
        }
        if (clientHoldsSubscription) {
            // Resumed: the broker keeps the subscription. New (the broker lost the session): the client has queued
            // the SUBSCRIBE again already (MqttSession.startOrResume runs before MqttConnectHandler.readConnAck
            // calls this listener), to go out before anything else; subscribing here too would make a 3.1.1
            // broker send the topic's retained messages twice.
            subscribed = true;
            if (!sessionPresent) {
                log(
                        Level.WARN,
                        "MQTT channel %s: the broker lost the session (restarted without persistence, or"
                                + " expired it); what it held for the service is gone, what the service received is stored; the"
                                + " client subscribes to %s again",
                        channel,
                        topic);
                broker.sessionLost(channel);
            }
            return;
        }
        if (sessionPresent && version != ProtocolVersion.MQTT_5) {
            // A session of an earlier process keeps its subscriptions; 3.1.1 would send the topic's retained
            // messages again on a repeated SUBSCRIBE.
            subscribed = true;
            return;
        }
        // A new session; or a session of an earlier process, whose configured topic may have changed since
        // (subscribing again is harmless with MQTT 5: no retained messages are sent again).
        subscribe();
    }

    private void subscribe() {
        clientHoldsSubscription = true;
        client.subscribe(topic).whenComplete((ack, failure) -> {
            if (failure != null) {
                // The client forgets a refused subscription (MqttIncomingPublishFlows.subAck with an error code).
                clientHoldsSubscription = false;
                lastProblem = "subscribe to " + topic + " failed: " + failure.getMessage();
                log(Level.ERROR, "MQTT channel %s: %s", channel, lastProblem);
            } else {
                subscribed = true;
                log(Level.INFO, "MQTT channel %s subscribed to %s", channel, topic);
            }
        });
    }

    /**
     * Whether a publish the client delivers is kept: a QoS 0 one only while fewer than max-queued-qos0 wait.
     * Called for one publish at a time (the client hands them over through observeOn: MqttRxClient.publishes).
     */
    private boolean take(VersionedClient.Received received) {
        lastReceivedNanos = System.nanoTime();
        if (received.qos() == 0) {
            if (queuedQos0.get() >= maxQueuedQos0) {
                // A dropped QoS 0 publish needs no acknowledgement: the client counts none for it
                // (MqttStatefulPublishWithFlows.add), and the broker expects none.
                dropped();
                return false;
            }
            queuedQos0.incrementAndGet();
        }
        unacknowledged.incrementAndGet();
        return true;
    }

    private void dropped() {
        qos0Dropped.increment();
        long now = System.nanoTime();
        long last = lastDropWarning.get();
        if (now - last >= DROP_WARNING_INTERVAL_NANOS && lastDropWarning.compareAndSet(last, now)) {
            log(
                    Level.WARN,
                    "MQTT channel %s: %d QoS 0 messages wait to be stored (mqtt-dynamo.broker.max-queued-qos0);"
                            + " further QoS 0 messages are dropped until there is room, %d so far"
                            + " (mqtt_dynamo_qos0_dropped_total)",
                    channel,
                    maxQueuedQos0,
                    (long) qos0Dropped.count());
        }
    }

    /** A kept publish leaves the buffer for ingest: as a channel message whose ack sends the broker its PUBACK. */
    private Message<byte[]> handOver(VersionedClient.Received received) {
        if (received.qos() == 0) {
            queuedQos0.decrementAndGet();
        }
        InboundMqttMetadata metadata = new InboundMqttMetadata(
                received.topic(),
                received.qos(),
                received.retain(),
                System.currentTimeMillis(),
                received.republishedOf(),
                version == ProtocolVersion.MQTT_5);
        return Message.of(received.payload(), Metadata.of(metadata), () -> {
            acknowledge(received.ack());
            return ACKED;
        });
    }

    private void acknowledge(Runnable ack) {
        unacknowledged.decrementAndGet();
        try {
            ack.run();
        } catch (RuntimeException e) {
            // Already acknowledged, or the connection that carried it is gone: the broker redelivers.
            Log.debugf("MQTT channel %s: acknowledgement not sent: %s", channel, e.getMessage());
        }
    }

    /** Logs with the channel and its client id as fields of the line ({@link LogFields}). */
    private void log(Level level, String format, Object... args) {
        try (LogFields fields = LogFields.of(LogFields.CHANNEL, channel, LogFields.CLIENT_ID, clientId)) {
            Log.logf(level, format, args);
        }
    }

    /** True while connected to the broker and subscribed. */
    public boolean connected() {
        return client.state() == MqttClientState.CONNECTED && subscribed;
    }

    /** Times the connection was lost and made again since start. */
    public long reconnects() {
        return (long) reconnects.count();
    }

    /** Messages received and not acknowledged yet. */
    public int unacknowledged() {
        return unacknowledged.get();
    }

    /** QoS 0 messages received and not yet taken by ingest. */
    public int queuedQos0() {
        return queuedQos0.get();
    }

    /** QoS 0 messages dropped since start because max-queued-qos0 were waiting. */
    public long qos0Dropped() {
        return (long) qos0Dropped.count();
    }

    /** Why the session is not connected, or null. */
    public String lastProblem() {
        return lastProblem;
    }

    public String topic() {
        return topic;
    }

    public String clientId() {
        return clientId;
    }

    public ProtocolVersion version() {
        return version;
    }

    /** Nanoseconds since the last message arrived. */
    public long quietNanos() {
        return System.nanoTime() - lastReceivedNanos;
    }

    /**
     * Unsubscribes: a shared subscription's group gets no new messages to this session (they go to the
     * other members), and what the broker queued for it still arrives, to be stored and acknowledged.
     */
    CompletableFuture<Void> leave() {
        if (client.state() != MqttClientState.CONNECTED) {
            return CompletableFuture.failedFuture(new IllegalStateException("not connected"));
        }
        left = true;
        return client.unsubscribe(topic).thenRun(() -> clientHoldsSubscription = false);
    }

    /** Leaves the broker and ends the session: the broker forgets it (nothing may be left unacknowledged). */
    CompletableFuture<Void> endSession() {
        if (client.state() != MqttClientState.CONNECTED) {
            return CompletableFuture.failedFuture(new IllegalStateException("not connected"));
        }
        if (clientHoldsSubscription) {
            // MQTT 3.1.1 ends the session with a clean-session connect, on which the client subscribes again to
            // what it still holds (see the disconnected listener): leave() must have unsubscribed first.
            return CompletableFuture.failedFuture(new IllegalStateException("still subscribed"));
        }
        ending = true;
        return client.endSession();
    }

    /** Leaves the broker cleanly; the persistent session stays with the broker. */
    void close() {
        closed = true;
        if (client.state().isConnectedOrReconnect()) {
            client.disconnect();
        }
    }
}
