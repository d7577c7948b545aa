package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import jakarta.enterprise.context.ApplicationScoped;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5RetainHandling;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.BackPressureStrategy;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * The broker's retained messages, through short-lived MQTT 5 connections of the service's own: whether the
 * broker kept the service's session, what it retains, and republishing retained messages it lacks.
 */
@ApplicationScoped
public class RetainedBrokerClient {

    /** The user property that marks the service's own republished messages; its value is the row's msgid. */
    public static final String REPUBLISHED_PROPERTY = "mqtt-dynamo-republished";

    /**
     * A retained message as the broker delivered it from its store, or a row to republish.
     *
     * @param msgId the row's msgid when republishing one, else null
     */
    public record Retained(String topic, byte[] payload, int qos, String msgId) {
        public Retained(String topic, byte[] payload, int qos) {
            this(topic, payload, qos, null);
        }
    }

    /** A retained message and what to call once it has been dealt with (acknowledges a QoS 1 or 2 one). */
    public record Arrival(Retained message, Runnable done) {
    }

    /** The broker's retained set did not arrive in the time allowed: what rows it lacks is unknown. */
    public static final class CutShortException extends RuntimeException {
        public CutShortException(String message) {
            super(message);
        }
    }

    /** In the client ids of the short-lived subscriptions that read the broker's retained messages. */
    public static final String SCAN_ID_INFIX = "-retained-scan-";

    /**
     * The broker overran the receive maximum (Mosquitto 2.0.x does under bursts): the connection is gone; a
     * run asks again with the widest window.
     */
    public static final class WindowOverrunException extends RuntimeException {
        public WindowOverrunException(String message) {
            super(message);
        }
    }

    /** The largest receive maximum MQTT allows. */
    public static final int WIDEST_WINDOW = 65_535;

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
     * The retained messages of every topic {@code #} matches, as they arrive: a clean, non-shared QoS 1
     * subscription whose retained deliveries (retain flag set, as retain-as-published is off) are passed on
     * with their acknowledgement. What is in memory is bounded: QoS 1 and 2 messages by the receive maximum
     * {@code window} (the broker sends no more until {@link Arrival#done} acknowledges some), QoS 0 ones,
     * which MQTT does not hold back, by {@code maxQueued}: past it they are passed over (not passed on).
     * {@code everyTopic} hears every retained delivery's topic, passed over or not, on the MQTT thread, in
     * order. Completes when none came for {@code quiet} while none was waiting to be done; fails with
     * {@link CutShortException} after {@code max}.
     */
    public Multi<Arrival> retained(Duration quiet, Duration max, int window, int maxQueued,
            Consumer<String> everyTopic) {
        return Multi.createFrom().<Arrival>emitter(emitter -> {
            String id = sessions.clientIdBase() + SCAN_ID_INFIX + UUID.randomUUID().toString().substring(0, 8);
            AtomicBoolean ended = new AtomicBoolean();
            AtomicBoolean subscribed = new AtomicBoolean();
            Mqtt5AsyncClient client = sessions.clientBuilder(id)
                    .addDisconnectedListener(context -> {
                        if (ended.get()) {
                            return;
                        }
                        // Ends the run before it republishes anything: the rest of the set never came.
                        Throwable cause = context.getCause();
                        emitter.fail(overranWindow(cause)
                                ? new WindowOverrunException("the broker sent more unacknowledged retained messages"
                                        + " than the receive maximum of " + window + " allowed")
                                : new IllegalStateException("the connection reading the broker's retained messages"
                                        + " was lost: " + cause.getMessage(), cause));
                    })
                    .useMqttVersion5().buildAsync();
            AtomicInteger waiting = new AtomicInteger();
            AtomicInteger queuedQos0 = new AtomicInteger();
            AtomicLong lastArrival = new AtomicLong(System.nanoTime());
            long started = System.nanoTime();
            client.publishes(MqttGlobalPublishFilter.ALL, publish -> {
                if (!publish.isRetain()) {
                    // Live traffic (retain-as-published is off): not part of the retained set.
                    publish.acknowledge();
                    return;
                }
                lastArrival.set(System.nanoTime());
                String topic = publish.getTopic().toString();
                everyTopic.accept(topic);
                boolean qos0 = publish.getQos() == MqttQos.AT_MOST_ONCE;
                if (qos0 && queuedQos0.get() >= maxQueued) {
                    // Acknowledged all the same: the client sends acknowledgements in order of arrival.
                    publish.acknowledge();
                    return;
                }
                (qos0 ? queuedQos0 : waiting).incrementAndGet();
                AtomicBoolean once = new AtomicBoolean();
                emitter.emit(new Arrival(new Retained(topic, publish.getPayloadAsBytes(), publish.getQos().getCode()),
                        () -> {
                            if (once.compareAndSet(false, true)) {
                                lastArrival.set(System.nanoTime());
                                (qos0 ? queuedQos0 : waiting).decrementAndGet();
                                publish.acknowledge();
                            }
                        }));
            }, true);
            Cancellable ticks = Multi.createFrom().ticks().every(Duration.ofMillis(100)).subscribe().with(tick -> {
                long now = System.nanoTime();
                // Quiet counts from the SUBACK on: a slow connect must not look like an empty retained store.
                if (subscribed.get() && waiting.get() == 0 && queuedQos0.get() == 0
                        && now - lastArrival.get() > quiet.toNanos()) {
                    emitter.complete();
                } else if (now - started > max.toNanos()) {
                    emitter.fail(new CutShortException("the broker's retained messages did not all arrive within "
                            + max));
                }
            });
            client.connectWith()
                    .cleanStart(true)
                    .sessionExpiryInterval(0)
                    .restrictions().receiveMaximum(window).applyRestrictions()
                    .simpleAuth(Mqtt5Client.auth(sessions))
                    .send()
                    .thenCompose(ack -> client.subscribeWith().topicFilter("#").qos(MqttQos.AT_LEAST_ONCE)
                            .retainHandling(Mqtt5RetainHandling.SEND).retainAsPublished(false).noLocal(true).send())
                    .whenComplete((subAck, failure) -> {
                        if (failure != null) {
                            emitter.fail(failure);
                        } else {
                            lastArrival.set(System.nanoTime());
                            subscribed.set(true);
                        }
                    });
            emitter.onTermination(() -> {
                ended.set(true);
                ticks.cancel();
                if (client.getState().isConnected()) {
                    client.disconnect().exceptionally(failure -> null);
                }
            });
        }, BackPressureStrategy.BUFFER);
    }

    /**
     * Publishes {@code messages} with the retain flag, one after the other, at most {@code perSecond};
     * {@code sent} hears each once the broker has it (QoS 1 and 2) or it is written (QoS 0).
     */
    public Uni<Integer> republish(Multi<Retained> messages, int perSecond, Consumer<Retained> sent) {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client = sessions.clientBuilder(publisherId() + "-" + UUID.randomUUID().toString()
                    .substring(0, 8)).useMqttVersion5().buildAsync();
            Duration pause = Duration.ofNanos(1_000_000_000L / Math.max(1, perSecond));
            AtomicLong count = new AtomicLong();
            return Uni.createFrom().completionStage(client.connectWith().cleanStart(true).sessionExpiryInterval(0)
                            .simpleAuth(Mqtt5Client.auth(sessions)).send())
                    .chain(() -> messages
                            .onItem().call(m -> Uni.createFrom().completionStage(client.publishWith()
                                    .topic(m.topic()).payload(m.payload()).qos(MqttQos.fromCode(m.qos()))
                                    .retain(true)
                                    // Ingest sessions on MQTT 5 recognise the service's own messages by it.
                                    .userProperties().add(REPUBLISHED_PROPERTY,
                                            m.msgId() == null || m.msgId().isEmpty() ? "retained" : m.msgId())
                                    .applyUserProperties()
                                    .send()))
                            .onItem().invoke(m -> {
                                count.incrementAndGet();
                                sent.accept(m);
                            })
                            .onItem().call(m -> Uni.createFrom().voidItem().onItem().delayIt().by(pause))
                            .collect().last()
                            .replaceWith(0))
                    .map(last -> (int) count.get())
                    .onTermination().call(() -> Uni.createFrom().completionStage(
                            client.getState().isConnected() ? client.disconnect() : CompletableFuture.completedFuture(null))
                            .onFailure().recoverWithNull());
        });
    }

    private static boolean overranWindow(Throwable cause) {
        return cause instanceof Mqtt5DisconnectException disconnect
                && disconnect.getMqttMessage().getReasonCode() == Mqtt5DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED;
    }
}
