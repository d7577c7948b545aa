package io.mqttdynamo.broker;

import java.util.concurrent.CompletableFuture;

import com.hivemq.client.mqtt.MqttClientState;

import io.reactivex.Flowable;

/**
 * What a channel's session asks of the HiveMQ client, the same for MQTT 5 ({@link Mqtt5Client}) and
 * 3.1.1 ({@link Mqtt3Client}): connect to a persistent session, subscribe at QoS 1, take publishes that
 * are acknowledged by hand.
 */
interface VersionedClient {

    /** Connects with clean start off (a persistent session). */
    CompletableFuture<Void> connect();

    /** Subscribes to {@code topic} at QoS 1. */
    CompletableFuture<Void> subscribe(String topic);

    /** Every publish the session receives, each to be acknowledged by calling its {@code ack}. */
    Flowable<Received> publishes();

    MqttClientState state();

    /** Leaves the broker; the session stays with it. */
    void disconnect();

    /** Unsubscribes from {@code topic}: the broker sends no new messages, only what it queued already. */
    CompletableFuture<Void> unsubscribe(String topic);

    /** Leaves the broker and ends the session, so that the broker forgets it (and its subscriptions). */
    CompletableFuture<Void> endSession();

    /**
     * A publish taken from the broker; {@code ack} sends its PUBACK. {@code republishedOf}: the value of the
     * service's {@link Republisher#MARKER} user property (MQTT 5), else null.
     */
    record Received(String topic, int qos, boolean retain, byte[] payload, String republishedOf, Runnable ack) {}
}
