package io.mqttdynamo.broker;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.exceptions.MqttSessionExpiredException;
import com.hivemq.client.mqtt.lifecycle.MqttDisconnectSource;
import com.hivemq.client.mqtt.mqtt3.Mqtt3RxClient;
import com.hivemq.client.mqtt.mqtt3.lifecycle.Mqtt3ClientConnectedContext;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import com.hivemq.client.mqtt.mqtt5.Mqtt5RxClient;
import com.hivemq.client.mqtt.mqtt5.lifecycle.Mqtt5ClientConnectedContext;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5SimpleAuth;
import com.hivemq.client.mqtt.mqtt3.message.auth.Mqtt3SimpleAuth;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5RetainHandling;

import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.lifecycle.Mqtt5ClientDisconnectedContext;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;

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
 * the service went away.
 */
public final class ChannelSession {

    private final String channel;
    private final String topic;
    private final String clientId;
    private final ProtocolVersion version;
    private final Mqtt5RxClient client5;
    private final Mqtt3RxClient client3;
    private final java.util.function.Supplier<CompletableFuture<Void>> connect;
    private volatile String lastProblem;
    /** Connected and subscribed (or resumed a session that is). */
    private volatile boolean subscribed;
    /** Messages received and not acknowledged yet: what the client holds for the service. */
    private final AtomicInteger unacknowledged = new AtomicInteger();
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
                    if (context instanceof Mqtt5ClientDisconnectedContext v5 && overranWindow(v5.getCause())) {
                        widenWindow(v5);
                    }
                });
        if (version == ProtocolVersion.MQTT_5) {
            this.client3 = null;
            this.client5 = builder.useMqttVersion5()
                    .addConnectedListener(context -> onConnected(
                            ((Mqtt5ClientConnectedContext) context).getConnAck().isSessionPresent()))
                    .buildRx();
            var connect = client5.toAsync().connectWith()
                    .cleanStart(false)
                    .sessionExpiryInterval(broker.sessionExpiry().toSeconds())
                    .restrictions()
                    .receiveMaximum(broker.receiveMaximum())
                    .maximumPacketSize(maxMessageSize)
                    .applyRestrictions();
            var ready = connect.simpleAuth(auth5(broker));
            this.connect = () -> ready.send().thenApply(ack -> null);
        } else {
            this.client5 = null;
            this.client3 = builder.useMqttVersion3()
                    .addConnectedListener(context -> onConnected(
                            ((Mqtt3ClientConnectedContext) context).getConnAck().isSessionPresent()))
                    .buildRx();
            var ready = client3.toAsync().connectWith().cleanSession(false).simpleAuth(auth3(broker));
            this.connect = () -> ready.send().thenApply(ack -> null);
        }
    }


    /** True when the broker sent more unacknowledged messages than the receive maximum allowed. */
    private static boolean overranWindow(Throwable cause) {
        return cause instanceof Mqtt5DisconnectException disconnect
                && disconnect.getMqttMessage().getReasonCode() == Mqtt5DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED;
    }

    /**
     * A broker that overran the window resends all it has in flight on resume, again more than the window
     * (Mosquitto 2.0.x does): without a wider window the channel would reconnect for good.
     */
    private void widenWindow(Mqtt5ClientDisconnectedContext context) {
        Log.warnf("MQTT channel %s: the broker sent more unacknowledged messages than the receive maximum (a broker"
                + " fault; Mosquitto 2.0.x does so under bursts); reconnecting with the widest window, 65535."
                + " Set mqtt-dynamo.broker.receive-maximum=65535 to avoid the reconnect.", channel);
        context.getReconnector().connectWith().restrictions().receiveMaximum(65535).applyRestrictions().applyConnect();
    }

    /** The MQTT 5 credentials, or null without any. */
    static Mqtt5SimpleAuth auth5(BrokerSessions broker) {
        if (broker.username().isEmpty() && broker.password().isEmpty()) {
            return null;
        }
        byte[] password = broker.password().map(p -> p.getBytes(StandardCharsets.UTF_8)).orElse(null);
        if (broker.username().isEmpty()) {
            return Mqtt5SimpleAuth.builder().password(password).build();
        }
        var auth = Mqtt5SimpleAuth.builder().username(broker.username().get());
        return password == null ? auth.build() : auth.password(password).build();
    }

    /** The MQTT 3.1.1 credentials (a password needs a user name there), or null. */
    static Mqtt3SimpleAuth auth3(BrokerSessions broker) {
        if (broker.username().isEmpty()) {
            return null;
        }
        var auth = Mqtt3SimpleAuth.builder().username(broker.username().get());
        if (broker.password().isPresent()) {
            return auth.password(broker.password().get().getBytes(StandardCharsets.UTF_8)).build();
        }
        return auth.build();
    }

    /**
     * The channel's messages. Subscribing connects; the broker's publishes flow only as fast as they
     * are requested and acknowledged.
     */
    public Multi<Message<byte[]>> messages() {
        // ALL, not SUBSCRIBED: a resumed session delivers for subscriptions an earlier process made.
        // Taken from the client as they come: the client walks its queue of messages not yet taken on every
        // publish that arrives, which costs more the more wait there (it was most of the CPU under a burst).
        // The buffer holds no more than the client would: what the broker sent and was not acknowledged,
        // which the receive window bounds; ingest's back-pressure is the pipeline's admission.
        Flowable<Message<byte[]>> publishes = (version == ProtocolVersion.MQTT_5
                ? client5.publishes(MqttGlobalPublishFilter.ALL, true).map(this::message5)
                : client3.publishes(MqttGlobalPublishFilter.ALL, true).map(this::message3))
                .onBackpressureBuffer();
        // Connect only once the subscription to the client's publishes has returned: the client has then
        // registered the flow, and a resumed session's redeliveries, which arrive right after CONNACK,
        // find it (connecting from inside onSubscribe raced with that registration).
        Flow.Publisher<Message<byte[]>> subscribeThenConnect = subscriber -> {
            AdaptersToFlow.publisher(publishes).subscribe(subscriber);
            if (state() != MqttClientState.DISCONNECTED) {
                return;
            }
            connect.get().whenComplete((ok, failure) -> {
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
        return Multi.createFrom().publisher(subscribeThenConnect)
                .onFailure(MqttSessionExpiredException.class).invoke(expired -> Log.warnf(
                        "MQTT channel %s: the broker lost the session (%s); unacknowledged messages will not be"
                                + " redelivered by it", channel, expired.getMessage()))
                .onFailure(MqttSessionExpiredException.class).retry().indefinitely()
                .onTermination().invoke(this::close);
    }

    private void onConnected(boolean sessionPresent) {
        lastProblem = null;
        Log.infof("MQTT channel %s connected as %s (%s, session %s)", channel, clientId, version,
                sessionPresent ? "resumed" : "new");
        if (sessionPresent) {
            subscribed = true;
            return;
        }
        CompletableFuture<?> subscription;
        if (version == ProtocolVersion.MQTT_5) {
            subscription = client5.toAsync().subscribeWith()
                    .topicFilter(topic)
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .retainAsPublished(true)
                    .retainHandling(Mqtt5RetainHandling.DO_NOT_SEND)
                    .send();
        } else {
            subscription = client3.toAsync().subscribeWith().topicFilter(topic).qos(MqttQos.AT_LEAST_ONCE).send();
        }
        subscription.whenComplete((ack, failure) -> {
            if (failure != null) {
                lastProblem = "subscribe to " + topic + " failed: " + failure.getMessage();
                Log.errorf("MQTT channel %s: %s", channel, lastProblem);
            } else {
                subscribed = true;
                Log.infof("MQTT channel %s subscribed to %s", channel, topic);
            }
        });
    }

    private Message<byte[]> message5(Mqtt5Publish publish) {
        return message(publish.getTopic().toString(), publish.getQos(), publish.isRetain(),
                publish.getPayloadAsBytes(), publish::acknowledge);
    }

    private Message<byte[]> message3(Mqtt3Publish publish) {
        return message(publish.getTopic().toString(), publish.getQos(), publish.isRetain(),
                publish.getPayloadAsBytes(), publish::acknowledge);
    }

    /** A channel message whose ack sends the broker its PUBACK. */
    private Message<byte[]> message(String topic, MqttQos qos, boolean retain, byte[] payload, Runnable puback) {
        InboundMqttMetadata metadata = new InboundMqttMetadata(topic, qos.getCode(), retain,
                System.currentTimeMillis());
        unacknowledged.incrementAndGet();
        return Message.of(payload, Metadata.of(metadata), () -> {
            acknowledge(puback);
            return ACKED;
        });
    }

    private static final CompletableFuture<Void> ACKED = CompletableFuture.completedFuture(null);

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
        return state() == MqttClientState.CONNECTED && subscribed;
    }

    private MqttClientState state() {
        return version == ProtocolVersion.MQTT_5 ? client5.getState() : client3.getState();
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

    /** Leaves the broker cleanly; the persistent session stays with the broker. */
    void close() {
        if (!state().isConnectedOrReconnect()) {
            return;
        }
        if (version == ProtocolVersion.MQTT_5) {
            client5.toAsync().disconnect();
        } else {
            client3.toAsync().disconnect();
        }
    }
}
