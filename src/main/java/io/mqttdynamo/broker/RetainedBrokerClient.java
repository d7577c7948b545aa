package io.mqttdynamo.broker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

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
import com.hivemq.client.mqtt.mqtt5.message.subscribe.suback.Mqtt5SubAckReasonCode;
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
    public record Arrival(Retained message, Runnable done) {}

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

    /** This replica's name: the base of its client ids. */
    public String replica() {
        return sessions.clientIdBase();
    }

    /** The client id of the republishing connection: messages from it are the service's own. */
    public String publisherId() {
        return sessions.clientIdBase() + "-retained";
    }

    /** True when the broker speaks MQTT 5 (needed: retain handling and retain-as-published). */
    public Uni<Boolean> mqtt5() {
        return sessions.protocolVersion().map(v -> v == ProtocolVersion.MQTT_5);
    }

    /**
     * Whether the broker still holds the persistent session of {@link #publisherId()}: connects with clean
     * start off and the configured expiry, reads the CONNACK's session-present flag, and leaves (the session,
     * without subscriptions, stays as the witness for the next start).
     */
    public Uni<Boolean> sessionKept() {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client =
                    sessions.clientBuilder(publisherId()).useMqttVersion5().buildAsync();
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
    public Multi<Arrival> retained(
            Duration quiet, Duration max, int window, int maxQueued, Consumer<String> everyTopic) {
        return Multi.createFrom()
                .<Arrival>emitter(
                        emitter -> {
                            String id = sessions.clientIdBase()
                                    + SCAN_ID_INFIX
                                    + UUID.randomUUID().toString().substring(0, 8);
                            AtomicBoolean ended = new AtomicBoolean();
                            AtomicBoolean subscribed = new AtomicBoolean();
                            Mqtt5AsyncClient client = sessions.clientBuilder(id)
                                    .addDisconnectedListener(context -> {
                                        if (ended.get()) {
                                            return;
                                        }
                                        // Ends the run before it republishes anything: the rest of the set never came.
                                        Throwable cause = context.getCause();
                                        emitter.fail(
                                                overranWindow(cause)
                                                        ? new WindowOverrunException(
                                                                "the broker sent more unacknowledged retained messages"
                                                                        + " than the receive maximum of " + window
                                                                        + " allowed")
                                                        : new IllegalStateException(
                                                                "the connection reading the broker's retained messages"
                                                                        + " was lost: " + cause.getMessage(),
                                                                cause));
                                    })
                                    .useMqttVersion5()
                                    .buildAsync();
                            AtomicInteger waiting = new AtomicInteger();
                            AtomicInteger queuedQos0 = new AtomicInteger();
                            AtomicLong lastArrival = new AtomicLong(System.nanoTime());
                            long started = System.nanoTime();
                            client.publishes(
                                    MqttGlobalPublishFilter.ALL,
                                    publish -> {
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
                                            // Acknowledged all the same: the client sends acknowledgements in order of
                                            // arrival.
                                            publish.acknowledge();
                                            return;
                                        }
                                        (qos0 ? queuedQos0 : waiting).incrementAndGet();
                                        AtomicBoolean once = new AtomicBoolean();
                                        emitter.emit(new Arrival(
                                                new Retained(
                                                        topic,
                                                        publish.getPayloadAsBytes(),
                                                        publish.getQos().getCode()),
                                                () -> {
                                                    if (once.compareAndSet(false, true)) {
                                                        lastArrival.set(System.nanoTime());
                                                        (qos0 ? queuedQos0 : waiting).decrementAndGet();
                                                        publish.acknowledge();
                                                    }
                                                }));
                                    },
                                    true);
                            Cancellable ticks = Multi.createFrom()
                                    .ticks()
                                    .every(Duration.ofMillis(100))
                                    .subscribe()
                                    .with(tick -> {
                                        long now = System.nanoTime();
                                        // Quiet counts from the SUBACK on: a slow connect must not look like an empty
                                        // retained store.
                                        if (subscribed.get()
                                                && waiting.get() == 0
                                                && queuedQos0.get() == 0
                                                && now - lastArrival.get() > quiet.toNanos()) {
                                            emitter.complete();
                                        } else if (now - started > max.toNanos()) {
                                            emitter.fail(new CutShortException(
                                                    "the broker's retained messages did not all arrive within " + max));
                                        }
                                    });
                            CompletableFuture<?> connected = client.connectWith()
                                    .cleanStart(true)
                                    .sessionExpiryInterval(0)
                                    .restrictions()
                                    .receiveMaximum(window)
                                    .applyRestrictions()
                                    .simpleAuth(Mqtt5Client.auth(sessions))
                                    .send();
                            connected
                                    .thenCompose(ack -> ended.get()
                                            ? CompletableFuture.failedFuture(
                                                    new IllegalStateException("the run ended while connecting"))
                                            // QoS 2: the broker delivers each retained message at its own QoS (up to
                                            // the
                                            // subscription's), which is what is stored.
                                            : client.subscribeWith()
                                                    .topicFilter("#")
                                                    .qos(MqttQos.EXACTLY_ONCE)
                                                    .retainHandling(Mqtt5RetainHandling.SEND)
                                                    .retainAsPublished(false)
                                                    .noLocal(true)
                                                    .send())
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
                        },
                        BackPressureStrategy.BUFFER);
    }

    /**
     * Publishes {@code messages} with the retain flag, one after the other, at most {@code perSecond}, each
     * marked ({@link Republisher#MARKER}) so that the service's ingest does not store it again. Each group of
     * {@code groupSize} is checked first: a subscription to exactly its topics (retain handling "send"), held
     * while the group is published. A topic the broker delivers anything on — a retained message (the
     * collection may have missed it: brokers drop what exceeds a session's queue), a live publish or a clear
     * — is left alone, also when it comes after the quiet spell; so is one whose subscription the broker
     * refuses, or that cannot be a plain topic filter. {@code stillStored} reads the group's rows again just
     * before they are published (a row cleared meanwhile is not put back). {@code sent} hears each published
     * message, {@code kept} each one left alone.
     */
    public Uni<Integer> republish(
            Multi<Retained> messages,
            int perSecond,
            int groupSize,
            Function<List<Retained>, Uni<List<Retained>>> stillStored,
            Consumer<Retained> sent,
            Consumer<Retained> kept) {
        return Uni.createFrom().deferred(() -> {
            Mqtt5AsyncClient client = sessions.clientBuilder(
                            publisherId() + "-" + UUID.randomUUID().toString().substring(0, 8))
                    .useMqttVersion5()
                    .buildAsync();
            Duration pause = Duration.ofNanos(1_000_000_000L / Math.max(1, perSecond));
            Set<String> answered = ConcurrentHashMap.newKeySet();
            AtomicLong lastArrival = new AtomicLong(System.nanoTime());
            // Only the checking subscriptions deliver here (no-local: not the connection's own publishes).
            client.publishes(MqttGlobalPublishFilter.ALL, publish -> {
                answered.add(publish.getTopic().toString());
                lastArrival.set(System.nanoTime());
            });
            AtomicLong count = new AtomicLong();
            CompletableFuture<?> connected = client.connectWith()
                    .cleanStart(true)
                    .sessionExpiryInterval(0)
                    .simpleAuth(Mqtt5Client.auth(sessions))
                    .send();
            return Uni.createFrom()
                    .completionStage(connected)
                    .ifNoItem()
                    .after(BROKER_TIMEOUT)
                    .fail()
                    .chain(() -> messages.group()
                            .intoLists()
                            .of(groupSize)
                            .onItem()
                            .transformToUniAndConcatenate(group -> republishGroup(
                                    client,
                                    group,
                                    answered,
                                    lastArrival,
                                    pause,
                                    stillStored,
                                    m -> {
                                        count.incrementAndGet();
                                        sent.accept(m);
                                    },
                                    kept))
                            .collect()
                            .last())
                    .map(last -> (int) count.get())
                    .onTermination()
                    .invoke(() -> connected.whenComplete((ack, failure) -> {
                        if (failure == null) {
                            client.disconnect().exceptionally(ignored -> null);
                        }
                    }));
        });
    }

    /** Checks one group on the broker, publishes the rows it lacks, then ends the group's subscription. */
    private static Uni<Void> republishGroup(
            Mqtt5AsyncClient client,
            List<Retained> group,
            Set<String> answered,
            AtomicLong lastArrival,
            Duration pause,
            Function<List<Retained>, Uni<List<Retained>>> stillStored,
            Consumer<Retained> sent,
            Consumer<Retained> kept) {
        List<Retained> checkable = new ArrayList<>();
        for (Retained m : group) {
            if (plainTopic(m.topic())) {
                checkable.add(m);
            } else {
                kept.accept(m);
            }
        }
        List<String> topics = checkable.stream().map(Retained::topic).distinct().toList();
        if (topics.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        Set<String> refused = new HashSet<>();
        long[] subscribedAt = {0};
        return Uni.createFrom()
                .completionStage(() -> client.subscribe(Mqtt5Subscribe.builder()
                        .addSubscriptions(topics.stream()
                                .map(topic -> Mqtt5Subscription.builder()
                                        .topicFilter(topic)
                                        .qos(MqttQos.AT_MOST_ONCE)
                                        .retainHandling(Mqtt5RetainHandling.SEND)
                                        .noLocal(true)
                                        .build())
                                .toList())
                        .build()))
                .ifNoItem()
                .after(BROKER_TIMEOUT)
                .fail()
                .invoke(subAck -> {
                    subscribedAt[0] = System.nanoTime();
                    List<Mqtt5SubAckReasonCode> codes = subAck.getReasonCodes();
                    for (int i = 0; i < codes.size() && i < topics.size(); i++) {
                        if (codes.get(i).isError()) {
                            refused.add(topics.get(i));
                        }
                    }
                })
                // EMQX sends retained messages after the SUBACK, from another process: a quiet spell, or all
                // topics answered.
                .chain(() -> Multi.createFrom()
                        .ticks()
                        .every(Duration.ofMillis(20))
                        .select()
                        .where(tick -> answered.containsAll(topics)
                                || System.nanoTime() - Math.max(subscribedAt[0], lastArrival.get())
                                        > VERIFY_QUIET.toNanos())
                        .toUni())
                .chain(() -> {
                    List<Retained> absent = new ArrayList<>();
                    for (Retained m : checkable) {
                        (answered.contains(m.topic()) || refused.contains(m.topic())
                                        ? kept
                                        : (Consumer<Retained>) absent::add)
                                .accept(m);
                    }
                    return absent.isEmpty() ? Uni.createFrom().item(List.<Retained>of()) : stillStored.apply(absent);
                })
                .chain(absent -> Multi.createFrom()
                        .iterable(absent)
                        .onItem()
                        .transformToUniAndConcatenate(m -> {
                            if (answered.contains(m.topic())) {
                                // Something came on the topic meanwhile: the broker's now.
                                kept.accept(m);
                                return Uni.createFrom().voidItem();
                            }
                            return publish(client, m)
                                    .invoke(ok -> (ok ? sent : kept).accept(m))
                                    .chain(() -> Uni.createFrom()
                                            .voidItem()
                                            .onItem()
                                            .delayIt()
                                            .by(pause));
                        })
                        .collect()
                        .last())
                .chain(() -> Uni.createFrom()
                        .completionStage(() -> client.unsubscribe(Mqtt5Unsubscribe.builder()
                                .addTopicFilters(
                                        topics.stream().map(MqttTopicFilter::of).toList())
                                .build())))
                .ifNoItem()
                .after(BROKER_TIMEOUT)
                .fail()
                .invoke(() -> answered.removeAll(topics))
                .replaceWithVoid();
    }

    /** True for a topic that, as a filter, matches only itself and may be subscribed to with no-local. */
    static boolean plainTopic(String topic) {
        if (topic.isEmpty()
                || topic.indexOf('+') >= 0
                || topic.indexOf('#') >= 0
                || topic.indexOf('\0') >= 0
                || topic.startsWith("$share/")
                || topic.startsWith("$queue/")) {
            return false;
        }
        try {
            MqttTopicFilter.of(topic);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Publishes one message with the retain flag; false when the broker refused it (a reason code). */
    private static Uni<Boolean> publish(Mqtt5AsyncClient client, Retained m) {
        return Uni.createFrom()
                .completionStage(() -> client.publishWith()
                        .topic(m.topic())
                        .payload(m.payload())
                        .qos(MqttQos.fromCode(m.qos()))
                        .retain(true)
                        .userProperties()
                        .add(Republisher.MARKER, m.msgId() == null || m.msgId().isEmpty() ? "retained" : m.msgId())
                        .applyUserProperties()
                        .send())
                .ifNoItem()
                .after(BROKER_TIMEOUT)
                .fail()
                .replaceWith(Boolean.TRUE)
                // A reason code refuses this one message; a DISCONNECT ends the connection, and the run.
                .onFailure(failure ->
                        failure instanceof Mqtt5MessageException && !(failure instanceof Mqtt5DisconnectException))
                .recoverWithItem(failure -> {
                    Log.warnf("the broker refused a retained message to put back: %s", failure.getMessage());
                    return Boolean.FALSE;
                });
    }

    private static boolean overranWindow(Throwable cause) {
        return cause instanceof Mqtt5DisconnectException disconnect
                && disconnect.getMqttMessage().getReasonCode() == Mqtt5DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED;
    }
}
