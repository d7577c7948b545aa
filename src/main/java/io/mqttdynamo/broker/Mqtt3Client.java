package io.mqttdynamo.broker;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3RxClient;
import com.hivemq.client.mqtt.mqtt3.lifecycle.Mqtt3ClientConnectedContext;
import com.hivemq.client.mqtt.mqtt3.message.auth.Mqtt3SimpleAuth;
import com.hivemq.client.mqtt.mqtt3.message.connect.Mqtt3Connect;

import io.reactivex.Flowable;

/**
 * The MQTT 3.1.1 session of a channel, for brokers that refuse version 5: {@code cleanSession=false}; no
 * receive window, no retain-as-published (a raw subscriber sees the retain flag only on messages from the
 * broker's retained store).
 */
final class Mqtt3Client implements VersionedClient {

    private final Mqtt3RxClient client;
    private final Mqtt3Connect connect;

    Mqtt3Client(MqttClientBuilder builder, BrokerSessions broker, Consumer<Boolean> onConnected) {
        this.client = builder.useMqttVersion3()
                .addConnectedListener(context -> onConnected.accept(
                        ((Mqtt3ClientConnectedContext) context).getConnAck().isSessionPresent()))
                .buildRx();
        this.connect = Mqtt3Connect.builder()
                .cleanSession(false)
                .simpleAuth(auth(broker))
                .build();
    }

    /** The credentials (a password needs a user name in 3.1.1), or null. */
    static Mqtt3SimpleAuth auth(BrokerSessions broker) {
        if (broker.username().isEmpty()) {
            return null;
        }
        var auth = Mqtt3SimpleAuth.builder().username(broker.username().get());
        if (broker.password().isPresent()) {
            return auth.password(broker.password().get().getBytes(StandardCharsets.UTF_8))
                    .build();
        }
        return auth.build();
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
                        null,
                        p::acknowledge));
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
        return client.toAsync().unsubscribeWith().topicFilter(topic).send();
    }

    @Override
    public CompletableFuture<Void> endSession() {
        // MQTT 3.1.1 has no session expiry: connecting with cleanSession=true discards the stored session.
        return client.toAsync()
                .disconnect()
                .thenCompose(v -> client.toAsync()
                        .connect(Mqtt3Connect.builder()
                                .cleanSession(true)
                                .simpleAuth(connect.getSimpleAuth().orElse(null))
                                .build()))
                .thenCompose(ack -> client.toAsync().disconnect());
    }
}
