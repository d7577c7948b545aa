package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5RetainHandling;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * The broker's retained messages, through short-lived MQTT 5 connections of the service's own: whether the
 * broker kept the service's session, what it retains, and republishing retained messages it lacks.
 */
@ApplicationScoped
public class RetainedBrokerClient {

    /** A retained message as the broker delivered it from its store. */
    public record Retained(String topic, byte[] payload, int qos) {
    }

    /** The collection went past its bounds; nothing was compared. */
    public static final class TooManyRetainedException extends RuntimeException {
        public TooManyRetainedException(String message) {
            super(message);
        }
    }

    /** In the client ids of the short-lived subscriptions that read the broker's retained messages. */
    public static final String SCAN_ID_INFIX = "-retained-scan-";

    private final BrokerSessions sessions;

    public RetainedBrokerClient(BrokerSessions sessions) {
        this.sessions = sessions;
    }

    /** The client id of the republishing connection: messages from it are the service's own. */
    public String publisherId() {
        return sessions.clientIdBase() + "-retained";
    }

    /** True when the broker speaks MQTT 5 (needed: retain handling and retain-as-published). */
    public Uni<Boolean> mqtt5() {
        return sessions.version().map(v -> v == ProtocolVersion.MQTT_5);
    }

    /**
     * Whether the broker still holds the persistent session of {@link #publisherId()}: connects with clean
     * start off and the configured expiry, reads the CONNACK's session-present flag, and leaves (the session,
     * without subscriptions, stays as the witness for the next start).
     */
    public Uni<Boolean> sessionKept() {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client = sessions.clientBuilder(publisherId()).useMqttVersion5().buildAsync();
            CompletableFuture<Boolean> kept = client.connectWith()
                    .cleanStart(false)
                    .sessionExpiryInterval(sessions.sessionExpiry().toSeconds())
                    .simpleAuth(Mqtt5Client.auth(sessions))
                    .send()
                    .thenCompose(ack -> client.disconnect().thenApply(v -> ack.isSessionPresent()));
            return Uni.createFrom().completionStage(kept);
        });
    }

    /**
     * The retained messages of every topic {@code #} matches: a clean, non-shared subscription whose retained
     * deliveries (retain flag set, as retain-as-published is off) are gathered until none came for
     * {@code quiet}, at most {@code max} long; fails with {@link TooManyRetainedException} past
     * {@code maxCount} messages or {@code maxBytes} of payload.
     */
    public Uni<Map<String, Retained>> collect(Duration quiet, Duration max, int maxCount, long maxBytes) {
        return Uni.createFrom().deferred(() -> {
            String id = sessions.clientIdBase() + SCAN_ID_INFIX + UUID.randomUUID().toString().substring(0, 8);
            Mqtt5AsyncClient client = sessions.clientBuilder(id).useMqttVersion5().buildAsync();
            Map<String, Retained> retained = new LinkedHashMap<>();
            AtomicLong bytes = new AtomicLong();
            AtomicLong lastArrival = new AtomicLong(System.nanoTime());
            AtomicBoolean overflow = new AtomicBoolean();
            client.publishes(MqttGlobalPublishFilter.ALL, publish -> {
                if (!publish.isRetain() || overflow.get()) {
                    return;
                }
                lastArrival.set(System.nanoTime());
                byte[] payload = publish.getPayloadAsBytes();
                synchronized (retained) {
                    retained.put(publish.getTopic().toString(), new Retained(publish.getTopic().toString(), payload,
                            publish.getQos().getCode()));
                    if (retained.size() > maxCount || bytes.addAndGet(payload.length) > maxBytes) {
                        overflow.set(true);
                    }
                }
            });
            CompletableFuture<Void> subscribed = client.connectWith()
                    .cleanStart(true)
                    .sessionExpiryInterval(0)
                    .simpleAuth(Mqtt5Client.auth(sessions))
                    .send()
                    .thenCompose(ack -> client.subscribeWith().topicFilter("#").qos(MqttQos.AT_LEAST_ONCE)
                            .retainHandling(Mqtt5RetainHandling.SEND).retainAsPublished(false).noLocal(true).send())
                    .thenAccept(subAck -> lastArrival.set(System.nanoTime()));
            long started = System.nanoTime();
            return Uni.createFrom().completionStage(subscribed)
                    .chain(() -> Multi.createFrom().ticks().every(Duration.ofMillis(50))
                            .select().first(tick -> overflow.get()
                                    || System.nanoTime() - lastArrival.get() > quiet.toNanos()
                                    || System.nanoTime() - started > max.toNanos())
                            .toUni())
                    .map(tick -> {
                        if (overflow.get()) {
                            throw new TooManyRetainedException("the broker retains more than " + maxCount
                                    + " messages or " + maxBytes + " bytes");
                        }
                        synchronized (retained) {
                            return Map.copyOf(retained);
                        }
                    })
                    .onTermination().call(() -> Uni.createFrom().completionStage(
                            client.getState().isConnected() ? client.disconnect() : CompletableFuture.completedFuture(null))
                            .onFailure().recoverWithNull());
        });
    }

    /** Publishes {@code messages} with the retain flag, one after the other, at most {@code perSecond}. */
    public Uni<Integer> republish(Multi<Retained> messages, int perSecond) {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client = sessions.clientBuilder(publisherId() + "-" + UUID.randomUUID().toString()
                    .substring(0, 8)).useMqttVersion5().buildAsync();
            Duration pause = Duration.ofNanos(1_000_000_000L / Math.max(1, perSecond));
            AtomicLong sent = new AtomicLong();
            return Uni.createFrom().completionStage(client.connectWith().cleanStart(true).sessionExpiryInterval(0)
                            .simpleAuth(Mqtt5Client.auth(sessions)).send())
                    .chain(() -> messages
                            .onItem().call(m -> Uni.createFrom().completionStage(client.publishWith()
                                    .topic(m.topic()).payload(m.payload()).qos(MqttQos.fromCode(m.qos()))
                                    .retain(true).send()))
                            .onItem().invoke(m -> sent.incrementAndGet())
                            .onItem().call(m -> Uni.createFrom().voidItem().onItem().delayIt().by(pause))
                            .collect().last()
                            .replaceWith(0))
                    .map(last -> (int) sent.get())
                    .onTermination().call(() -> Uni.createFrom().completionStage(
                            client.getState().isConnected() ? client.disconnect() : CompletableFuture.completedFuture(null))
                            .onFailure().recoverWithNull());
        });
    }
}
