package io.mqttdynamo.broker;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5RxClient;
import com.hivemq.client.mqtt.mqtt5.datatypes.Mqtt5UserProperty;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.lifecycle.Mqtt5ClientConnectedContext;
import com.hivemq.client.mqtt.mqtt5.lifecycle.Mqtt5ClientDisconnectedContext;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5SimpleAuth;
import com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5Connect;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5RetainHandling;

import io.quarkus.logging.Log;
import io.reactivex.Flowable;

/**
 * The MQTT 5 session of a channel: session expiry, the receive window, the largest packet; subscribed
 * with retain-as-published (raw mode keeps the publisher's retain flag) and without the retained messages
 * that exist at subscription time.
 */
final class Mqtt5Client implements VersionedClient {

    /** MQTT 5's widest receive window. */
    static final int WIDEST_WINDOW = 65535;

    private final String channel;
    private final Mqtt5RxClient client;
    private final Mqtt5Connect connect;

    Mqtt5Client(
            String channel,
            MqttClientBuilder builder,
            BrokerSessions broker,
            int maxMessageSize,
            Consumer<Boolean> onConnected) {
        this.channel = channel;
        this.client = builder.useMqttVersion5()
                .addConnectedListener(context -> onConnected.accept(
                        ((Mqtt5ClientConnectedContext) context).getConnAck().isSessionPresent()))
                .addDisconnectedListener(context -> {
                    if (context instanceof Mqtt5ClientDisconnectedContext v5 && overranWindow(v5.getCause())) {
                        widenWindow(v5);
                    }
                })
                .buildRx();
        this.connect = Mqtt5Connect.builder()
                .cleanStart(false)
                .sessionExpiryInterval(broker.sessionExpiry().toSeconds())
                .restrictions()
                .receiveMaximum(broker.receiveMaximum())
                .maximumPacketSize(maxMessageSize)
                .applyRestrictions()
                .simpleAuth(auth(broker))
                .build();
    }

    /** The credentials, or null without any. */
    static Mqtt5SimpleAuth auth(BrokerSessions broker) {
        if (broker.username().isEmpty() && broker.password().isEmpty()) {
            return null;
        }
        byte[] password =
                broker.password().map(p -> p.getBytes(StandardCharsets.UTF_8)).orElse(null);
        if (broker.username().isEmpty()) {
            return Mqtt5SimpleAuth.builder().password(password).build();
        }
        var auth = Mqtt5SimpleAuth.builder().username(broker.username().get());
        return password == null ? auth.build() : auth.password(password).build();
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
        Log.warnf(
                "MQTT channel %s: the broker sent more unacknowledged messages than the receive maximum (a broker"
                        + " fault; Mosquitto 2.0.x does so under bursts); reconnecting with the widest window, %d."
                        + " Set mqtt-dynamo.broker.receive-maximum=%d to avoid the reconnect.",
                channel, WIDEST_WINDOW, WIDEST_WINDOW);
        context.getReconnector()
                .connectWith()
                .restrictions()
                .receiveMaximum(WIDEST_WINDOW)
                .applyRestrictions()
                .applyConnect();
    }

    @Override
    public CompletableFuture<Void> connect() {
        return client.toAsync().connect(connect).thenApply(ack -> null);
    }

    @Override
    public CompletableFuture<Void> subscribe(String topic) {
        return client.toAsync()
                .subscribeWith()
                .topicFilter(topic)
                .qos(MqttQos.AT_LEAST_ONCE)
                .retainAsPublished(true)
                .retainHandling(Mqtt5RetainHandling.DO_NOT_SEND)
                .send()
                .thenApply(ack -> null);
    }

    @Override
    public Flowable<Received> publishes() {
        // ALL, not SUBSCRIBED: a resumed session delivers for subscriptions an earlier process made.
        return client.publishes(MqttGlobalPublishFilter.ALL, true)
                .map(p -> new Received(
                        p.getTopic().toString(),
                        p.getQos().getCode(),
                        p.isRetain(),
                        p.getPayloadAsBytes(),
                        marker(p),
                        p::acknowledge));
    }

    /** The service's own mark on a message it published again, or null (most messages have no properties). */
    private static String marker(Mqtt5Publish publish) {
        List<? extends Mqtt5UserProperty> properties =
                publish.getUserProperties().asList();
        for (int i = 0; i < properties.size(); i++) {
            Mqtt5UserProperty property = properties.get(i);
            if (property.getName().toString().equals(Republisher.MARKER)) {
                return property.getValue().toString();
            }
        }
        return null;
    }

    @Override
    public MqttClientState state() {
        return client.getState();
    }

    @Override
    public void disconnect() {
        client.toAsync().disconnect();
    }

    @Override
    public CompletableFuture<Void> unsubscribe(String topic) {
        return client.toAsync().unsubscribeWith().topicFilter(topic).send().thenApply(ack -> null);
    }

    @Override
    public CompletableFuture<Void> endSession() {
        // Session expiry 0 in the DISCONNECT: the broker drops the session at once.
        return client.toAsync().disconnectWith().sessionExpiryInterval(0).send();
    }
}
