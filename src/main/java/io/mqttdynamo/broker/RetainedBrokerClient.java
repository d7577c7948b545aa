package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import jakarta.enterprise.context.ApplicationScoped;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.datatypes.MqttTopicFilter;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5MessageException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5RetainHandling;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5Subscribe;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5Subscription;
import com.hivemq.client.mqtt.mqtt5.message.unsubscribe.Mqtt5Unsubscribe;

import io.quarkus.logging.Log;
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

    /** Topics checked on the broker at once before their rows are republished. */
    static final int VERIFY_BATCH = 50;
    /** After the SUBACK, how long no retained delivery must come before a checked topic counts as absent. */
    static final Duration VERIFY_QUIET = Duration.ofMillis(300);
    /** Longest wait for the broker to take a connection, a subscription or a message. */
    static final Duration BROKER_TIMEOUT = Duration.ofSeconds(30);

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
            CompletableFuture<?> connected = client.connectWith()
                    .cleanStart(true)
                    .sessionExpiryInterval(0)
                    .restrictions().receiveMaximum(window).applyRestrictions()
                    .simpleAuth(Mqtt5Client.auth(sessions))
                    .send();
            connected
                    .thenCompose(ack -> ended.get() ? CompletableFuture.failedFuture(
                            new IllegalStateException("the run ended while connecting"))
                            // QoS 2: the broker delivers each retained message at its own QoS (up to the
                            // subscription's), which is what is stored.
                            : client.subscribeWith().topicFilter("#").qos(MqttQos.EXACTLY_ONCE)
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
                // Also when the run ended while connecting: the connection is closed once it is up.
                connected.whenComplete((ack, failure) -> {
                    if (failure == null) {
                        client.disconnect().exceptionally(ignored -> null);
                    }
                });
            });
        }, BackPressureStrategy.BUFFER);
    }

    /**
     * Publishes {@code messages} with the retain flag, one after the other, at most {@code perSecond}, each
     * marked ({@link Republisher#MARKER}) so that the service's ingest does not store it again. Before a group of
     * {@value #VERIFY_BATCH} is published the broker is asked for their topics (a subscription with retain
     * handling "send"): a topic it does retain is left alone, since the broker may have dropped it from the
     * collection (brokers discard what exceeds a session's queue) or it was retained meanwhile.
     * {@code sent} hears each once the broker has it (QoS 1 and 2) or it is written (QoS 0); {@code kept} each
     * one the broker turned out to hold or refused.
     */
    public Uni<Integer> republish(Multi<Retained> messages, int perSecond, Consumer<Retained> sent,
            Consumer<Retained> kept) {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client = sessions.clientBuilder(publisherId() + "-" + UUID.randomUUID().toString()
                    .substring(0, 8)).useMqttVersion5().buildAsync();
            Duration pause = Duration.ofNanos(1_000_000_000L / Math.max(1, perSecond));
            Set<String> onBroker = ConcurrentHashMap.newKeySet();
            AtomicLong lastArrival = new AtomicLong(System.nanoTime());
            client.publishes(MqttGlobalPublishFilter.ALL, publish -> {
                if (publish.isRetain()) {
                    onBroker.add(publish.getTopic().toString());
                    lastArrival.set(System.nanoTime());
                }
            });
            AtomicLong count = new AtomicLong();
            CompletableFuture<?> connected = client.connectWith().cleanStart(true).sessionExpiryInterval(0)
                    .simpleAuth(Mqtt5Client.auth(sessions)).send();
            return Uni.createFrom().completionStage(connected)
                    .ifNoItem().after(BROKER_TIMEOUT).fail()
                    .chain(() -> messages
                            .group().intoLists().of(VERIFY_BATCH)
                            .onItem().transformToUniAndConcatenate(group -> absent(client, group, onBroker, lastArrival)
                                    .invoke(absent -> group.stream().filter(m -> !absent.contains(m))
                                            .forEach(kept)))
                            .onItem().<Retained>disjoint()
                            .onItem().transformToUniAndConcatenate(m -> publish(client, m)
                                    .invoke(ok -> {
                                        if (ok) {
                                            count.incrementAndGet();
                                            sent.accept(m);
                                        } else {
                                            kept.accept(m);
                                        }
                                    })
                                    .chain(() -> Uni.createFrom().voidItem().onItem().delayIt().by(pause)))
                            .collect().last())
                    .map(last -> (int) count.get())
                    .onTermination().invoke(() -> connected.whenComplete((ack, failure) -> {
                        if (failure == null) {
                            client.disconnect().exceptionally(ignored -> null);
                        }
                    }));
        });
    }

    /** The messages of {@code group} whose topic the broker retains nothing for. */
    private static Uni<List<Retained>> absent(Mqtt5AsyncClient client, List<Retained> group, Set<String> onBroker,
            AtomicLong lastArrival) {
        List<Mqtt5Subscription> subscriptions = group.stream().map(m -> Mqtt5Subscription.builder()
                .topicFilter(m.topic()).qos(MqttQos.AT_MOST_ONCE).retainHandling(Mqtt5RetainHandling.SEND)
                .noLocal(true).build()).toList();
        List<String> topics = group.stream().map(Retained::topic).distinct().toList();
        long[] subscribedAt = {0};
        return Uni.createFrom().completionStage(() -> client.subscribe(Mqtt5Subscribe.builder()
                        .addSubscriptions(subscriptions).build()))
                .ifNoItem().after(BROKER_TIMEOUT).fail()
                .invoke(() -> subscribedAt[0] = System.nanoTime())
                // EMQX sends retained messages after the SUBACK, from another process: wait for a quiet spell.
                .chain(() -> Multi.createFrom().ticks().every(Duration.ofMillis(50))
                        .select().first(tick -> System.nanoTime() - Math.max(subscribedAt[0], lastArrival.get())
                                > VERIFY_QUIET.toNanos())
                        .toUni())
                .chain(() -> Uni.createFrom().completionStage(() -> client.unsubscribe(Mqtt5Unsubscribe.builder()
                        .addTopicFilters(topics.stream().map(MqttTopicFilter::of).toList()).build())))
                .ifNoItem().after(BROKER_TIMEOUT).fail()
                .map(unsubscribed -> {
                    List<Retained> absent = group.stream().filter(m -> !onBroker.contains(m.topic())).toList();
                    onBroker.removeAll(topics);
                    return absent;
                });
    }

    /** Publishes one message with the retain flag; false when the broker refused it (a reason code). */
    private static Uni<Boolean> publish(Mqtt5AsyncClient client, Retained m) {
        return Uni.createFrom().completionStage(() -> client.publishWith()
                        .topic(m.topic()).payload(m.payload()).qos(MqttQos.fromCode(m.qos())).retain(true)
                        .userProperties().add(Republisher.MARKER,
                                m.msgId() == null || m.msgId().isEmpty() ? "retained" : m.msgId())
                        .applyUserProperties()
                        .send())
                .ifNoItem().after(BROKER_TIMEOUT).fail()
                .replaceWith(Boolean.TRUE)
                .onFailure(Mqtt5MessageException.class).recoverWithItem(failure -> {
                    Log.warnf("the broker refused a retained message to put back: %s", failure.getMessage());
                    return Boolean.FALSE;
                });
    }

    private static boolean overranWindow(Throwable cause) {
        return cause instanceof Mqtt5DisconnectException disconnect
                && disconnect.getMqttMessage().getReasonCode() == Mqtt5DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED;
    }
}
