package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Publishes stored messages again on their own topics (on_message_fetch_for_queue beside an external
 * broker), from a short-lived connection {@value #ID_PREFIX}…: the same prefix for every replica, so that
 * each recognises the others' copies. With MQTT 5 each copy carries the user property {@value #MARKER}:
 * the original's msgid, by which ingest and the broker's ack envelopes recognise it.
 */
@ApplicationScoped
public class Republisher {

    /** The user property naming the stored message a publication copies. */
    public static final String MARKER = "mqtt-dynamo-republished";
    /** The start of every replica's republishing client ids. */
    public static final String ID_PREFIX = "mqtt-dynamo-republisher-";
    /** Longest wait for the broker to take the connection or one message. */
    static final Duration BROKER_TIMEOUT = Duration.ofSeconds(30);

    /** A stored message to publish again. */
    public record Copy(String originalMsgId, String topic, byte[] payload, int qos, String sender) {}

    private final BrokerSessions sessions;

    public Republisher(BrokerSessions sessions) {
        this.sessions = sessions;
    }

    /** True for the client id of a republishing connection (of any replica). */
    public static boolean isRepublisher(String clientId) {
        return clientId.startsWith(ID_PREFIX);
    }

    /**
     * Publishes {@code copies} one after the other (the next once the broker took the previous: their order
     * is kept, and only one is held at a time), calling {@code before} ahead of each; the number published.
     */
    public Uni<Integer> publish(Multi<Copy> copies, Consumer<Copy> before) {
        String clientId =
                ID_PREFIX + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        return sessions.protocolVersion()
                .chain(version -> version == ProtocolVersion.MQTT_5
                        ? publish5(clientId, copies, before)
                        : publish3(clientId, copies, before));
    }

    private Uni<Integer> publish5(String clientId, Multi<Copy> copies, Consumer<Copy> before) {
        Mqtt5AsyncClient client =
                sessions.clientBuilder(clientId).useMqttVersion5().buildAsync();
        return each(
                () -> client.connectWith()
                        .cleanStart(true)
                        .sessionExpiryInterval(0)
                        .simpleAuth(Mqtt5Client.auth(sessions))
                        .send()
                        .thenApply(ack -> null),
                copies,
                before,
                copy -> client.publishWith()
                        .topic(copy.topic())
                        .payload(copy.payload())
                        .qos(MqttQos.fromCode(copy.qos()))
                        .userProperties()
                        .add(MARKER, copy.originalMsgId())
                        .applyUserProperties()
                        .send()
                        .thenApply(result -> null),
                client::disconnect);
    }

    private Uni<Integer> publish3(String clientId, Multi<Copy> copies, Consumer<Copy> before) {
        Mqtt3AsyncClient client =
                sessions.clientBuilder(clientId).useMqttVersion3().buildAsync();
        return each(
                () -> client.connectWith()
                        .cleanSession(true)
                        .simpleAuth(Mqtt3Client.auth(sessions))
                        .send()
                        .thenApply(ack -> null),
                copies,
                before,
                copy -> client.publishWith()
                        .topic(copy.topic())
                        .payload(copy.payload())
                        .qos(MqttQos.fromCode(copy.qos()))
                        .send()
                        .thenApply(result -> null),
                client::disconnect);
    }

    private static Uni<Integer> each(
            Supplier<CompletableFuture<Void>> connect,
            Multi<Copy> copies,
            Consumer<Copy> before,
            Function<Copy, CompletableFuture<Void>> send,
            Supplier<CompletableFuture<Void>> leave) {
        int[] sent = {0};
        CompletableFuture<Void> connected = connect.get();
        return Uni.createFrom()
                .completionStage(connected)
                .ifNoItem()
                .after(BROKER_TIMEOUT)
                .fail()
                .chain(() -> copies.onItem()
                        .transformToUniAndConcatenate(copy -> Uni.createFrom()
                                .completionStage(() -> {
                                    before.accept(copy);
                                    return send.apply(copy);
                                })
                                .ifNoItem()
                                .after(BROKER_TIMEOUT)
                                .fail()
                                .invoke(() -> sent[0]++))
                        .collect()
                        .last())
                .map(last -> sent[0])
                // Also after a failure or a time-out: a connection that comes up late must not stay open.
                .onTermination()
                .invoke(() -> connected.whenComplete((ok, failure) -> {
                    if (failure == null) {
                        leave.get();
                    }
                }));
    }
}
