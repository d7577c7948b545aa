package io.mqttdynamo.broker;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Publishes stored messages again on their own topics (on_message_fetch_for_queue beside an external
 * broker), from a short-lived connection of the service's own ({@code <client-id>-republisher-…}). With
 * MQTT 5 each copy carries the user property {@value #MARKER}: the original's msgid, by which the
 * service's ingest and the broker's ack envelopes recognise it.
 */
@ApplicationScoped
public class Republisher {

    /** The user property naming the stored message a publication copies. */
    public static final String MARKER = "mqtt-dynamo-republished";

    /** A stored message to publish again. */
    public record Copy(String originalMsgId, String topic, byte[] payload, int qos) {
    }

    private final BrokerSessions sessions;

    public Republisher(BrokerSessions sessions) {
        this.sessions = sessions;
    }

    /** The start of the republishing connections' client ids (one of the service's own). */
    public String publisherIdPrefix() {
        return sessions.clientIdBase() + "-republisher-";
    }

    /**
     * Publishes {@code copies} one after the other (the next once the broker took the previous: their order
     * is kept), calling {@code before} ahead of each; the number published.
     */
    public Uni<Integer> publish(List<Copy> copies, Consumer<Copy> before) {
        if (copies.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        String clientId = publisherIdPrefix() + UUID.randomUUID().toString().substring(0, 8);
        return sessions.protocolVersion().chain(version -> version == ProtocolVersion.MQTT_5
                ? publish5(clientId, copies, before) : publish3(clientId, copies, before));
    }

    private Uni<Integer> publish5(String clientId, List<Copy> copies, Consumer<Copy> before) {
        Mqtt5AsyncClient client = sessions.clientBuilder(clientId).useMqttVersion5().buildAsync();
        return each(client.connectWith().cleanStart(true).sessionExpiryInterval(0)
                        .simpleAuth(Mqtt5Client.auth(sessions)).send().thenApply(ack -> null),
                copies, before,
                copy -> client.publishWith().topic(copy.topic()).payload(copy.payload())
                        .qos(MqttQos.fromCode(copy.qos())).userProperties().add(MARKER, copy.originalMsgId())
                        .applyUserProperties().send().thenApply(result -> null),
                () -> client.getState().isConnected() ? client.disconnect() : CompletableFuture.completedFuture(null));
    }

    private Uni<Integer> publish3(String clientId, List<Copy> copies, Consumer<Copy> before) {
        Mqtt3AsyncClient client = sessions.clientBuilder(clientId).useMqttVersion3().buildAsync();
        return each(client.connectWith().cleanSession(true).simpleAuth(Mqtt3Client.auth(sessions)).send()
                        .thenApply(ack -> null),
                copies, before,
                copy -> client.publishWith().topic(copy.topic()).payload(copy.payload())
                        .qos(MqttQos.fromCode(copy.qos())).send().thenApply(result -> null),
                () -> client.getState().isConnected() ? client.disconnect() : CompletableFuture.completedFuture(null));
    }

    private static Uni<Integer> each(CompletableFuture<Void> connected, List<Copy> copies, Consumer<Copy> before,
            Function<Copy, CompletableFuture<Void>> send, Supplier<CompletableFuture<Void>> leave) {
        return Uni.createFrom().completionStage(connected)
                .chain(() -> Multi.createFrom().iterable(copies)
                        .onItem().transformToUniAndConcatenate(copy -> Uni.createFrom().completionStage(() -> {
                            before.accept(copy);
                            return send.apply(copy);
                        }).replaceWith(1))
                        .collect().with(Collectors.summingInt(one -> one)))
                .onTermination().call(() -> Uni.createFrom().completionStage(leave).onFailure().recoverWithNull());
    }
}
