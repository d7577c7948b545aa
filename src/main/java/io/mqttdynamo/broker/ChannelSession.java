package io.mqttdynamo.broker;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.exceptions.MqttSessionExpiredException;
import com.hivemq.client.mqtt.lifecycle.MqttDisconnectSource;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
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
    private final Counter reconnects;

    ChannelSession(String channel, String topic, String clientId, ProtocolVersion version, BrokerSessions broker,
            int maxMessageSize, MeterRegistry registry) {
        this.channel = channel;
        this.topic = topic;
        this.clientId = clientId;
        this.version = version;
        this.reconnects = Counter.builder("mqtt_dynamo_broker_reconnects").tag("channel", channel)
                .description("Times the channel's MQTT connection was lost and made again").register(registry);
        Gauge.builder("mqtt_dynamo_unacknowledged_messages", unacknowledged, AtomicInteger::get).tag("channel", channel)
                .description("Messages received from the broker and not acknowledged yet").register(registry);
        var builder = broker.clientBuilder(clientId)
                .automaticReconnect()
                .initialDelay(200, TimeUnit.MILLISECONDS)
                .maxDelay(10, TimeUnit.SECONDS)
                .applyAutomaticReconnect()
                .addDisconnectedListener(context -> {
                    subscribed = false;
                    lastProblem = context.getCause().getMessage();
                    if (context.getSource() == MqttDisconnectSource.USER) {
                        Log.infof("MQTT channel %s (%s) closed", channel, clientId);
                        return;
                    }
                    reconnects.increment();
                    Log.warnf("MQTT channel %s (%s) disconnected: %s; reconnecting", channel, clientId, lastProblem);
                    // Subscriptions are made on every connect without a session (see onConnected).
                    context.getReconnector().resubscribeIfSessionExpired(false);
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
        // The buffer holds no more than the client would: what the broker sent and was not acknowledged,
        // which the receive window bounds; ingest's back-pressure is the pipeline's admission.
        // delayError: when the broker lost the session, what was received before is still stored, not dropped.
        Flowable<Message<byte[]>> publishes = client.publishes().map(this::message)
                .onBackpressureBuffer(Flowable.bufferSize(), true, true);
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
                    Log.warnf("MQTT channel %s (%s): first connect failed: %s; retrying", channel, clientId,
                            failure.getMessage());
                }
            });
        };
        // A broker that lost the session (restarted without persistence) ends the client's publish flow:
        // its unacknowledged messages can no longer be acknowledged. The session is new and subscribed
        // again on connect; the flow is taken up again here.
        // A session the service ended itself (leaving for good) ends the flow instead.
        return Multi.createFrom().publisher(subscribeThenConnect)
                .onFailure(MqttSessionExpiredException.class).recoverWithMulti(expired -> ending
                        ? Multi.createFrom().empty() : Multi.createFrom().failure(expired))
                .onFailure(MqttSessionExpiredException.class).invoke(expired -> Log.warnf(
                        "MQTT channel %s: the broker lost the session (%s); unacknowledged messages will not be"
                                + " redelivered by it", channel, expired.getMessage()))
                .onFailure(MqttSessionExpiredException.class).retry().indefinitely()
                .onTermination().invoke(this::close);
    }

    private void onConnected(boolean sessionPresent) {
        if (ending) {
            // MQTT 3.1.1 ends a session by connecting with a clean session: subscribe to nothing there.
            return;
        }
        lastProblem = null;
        Log.infof("MQTT channel %s connected as %s (%s, session %s)", channel, clientId, version,
                sessionPresent ? "resumed" : "new");
        if (sessionPresent) {
            subscribed = true;
            if (version != ProtocolVersion.MQTT_5) {
                // 3.1.1 would send the topic's retained messages again on a repeated SUBSCRIBE.
                return;
            }
            // The session keeps the subscriptions it was made with; the configured topic may have changed since.
            // Subscribing again is harmless with MQTT 5 (no retained messages are sent again).
        }
        client.subscribe(topic).whenComplete((ack, failure) -> {
            if (failure != null) {
                lastProblem = "subscribe to " + topic + " failed: " + failure.getMessage();
                Log.errorf("MQTT channel %s: %s", channel, lastProblem);
            } else {
                subscribed = true;
                Log.infof("MQTT channel %s subscribed to %s", channel, topic);
            }
        });
    }

    /** A channel message whose ack sends the broker its PUBACK. */
    private Message<byte[]> message(VersionedClient.Received received) {
        InboundMqttMetadata metadata = new InboundMqttMetadata(received.topic(), received.qos(), received.retain(),
                System.currentTimeMillis(), received.republishedOf(), version == ProtocolVersion.MQTT_5);
        unacknowledged.incrementAndGet();
        lastReceivedNanos = System.nanoTime();
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
        return client.unsubscribe(topic);
    }

    /** Leaves the broker and ends the session: the broker forgets it (nothing may be left unacknowledged). */
    CompletableFuture<Void> endSession() {
        if (client.state() != MqttClientState.CONNECTED) {
            return CompletableFuture.failedFuture(new IllegalStateException("not connected"));
        }
        ending = true;
        return client.endSession();
    }

    /** Leaves the broker cleanly; the persistent session stays with the broker. */
    void close() {
        if (client.state().isConnectedOrReconnect()) {
            client.disconnect();
        }
    }
}
