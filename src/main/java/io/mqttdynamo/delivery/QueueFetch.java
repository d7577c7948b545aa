package io.mqttdynamo.delivery;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.InProcessBroker;
import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.hooks.Republications;
import io.mqttdynamo.ingest.EventTaken;
import io.mqttdynamo.ingest.LogSafe;
import io.mqttdynamo.store.MessageReads;
import io.mqttdynamo.store.Rows;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * on_message_fetch_for_queue: when a client subscribes with QoS 1 or 2, the unconsumed messages of the topics
 * its filter matches (their msgids in mqtt_topic_msg_map, newer than what the client last acked on that topic
 * and than {@code queue-fetch.max-age}) are delivered again, oldest first, at most {@code queue-fetch.max-count}.
 * The embedded broker delivers them to that client only, under their stored ids; beside an external broker,
 * with {@code queue-fetch.republish}, they are published again on their topics ({@link Republisher}), and
 * {@link Republications} keeps ingest from storing the copies and maps their acknowledgements to the
 * originals. Wildcard filters scan mqtt_topic_msg_map (at most {@value #MAX_TOPICS_SCANNED} topics); messages
 * are read and delivered {@value #KEYS_PER_READ} at a time, {@value #MAX_IN_FLIGHT} subscriptions at once.
 */
@ApplicationScoped
public class QueueFetch {

    static final int MAX_TOPICS_SCANNED = 10_000;
    static final int MAX_IN_FLIGHT = 8;
    /** Messages read (one BatchGetItem) and held at a time: 25 items of at most 400 KB. */
    static final int KEYS_PER_READ = 25;

    private final MessageReads messages;
    private final HookRules rules;
    private final Optional<InProcessBroker> broker;
    private final Republisher republisher;
    private final Republications republications;
    private final BrokerSessions sessions;
    private final int maxCount;
    private final Duration maxAge;
    private final Counter delivered;
    private final Counter skipped;
    private final Counter renewed;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** A subscription reported again within a minute, in the same connection, is not fetched again. */
    private final FetchedSubscriptions fetched = new FetchedSubscriptions(60_000, 100_000);

    private final boolean republish;

    public QueueFetch(
            MessageReads messages,
            HookRules rules,
            MqttDynamoConfig config,
            BrokerSessions sessions,
            Instance<InProcessBroker> inProcess,
            Republisher republisher,
            Republications republications,
            MeterRegistry registry) {
        this.messages = messages;
        this.rules = rules;
        this.republisher = republisher;
        this.republications = republications;
        this.sessions = sessions;
        this.broker = config.embeddedBroker().enabled()
                        && inProcess.isResolvable()
                        && inProcess.get().running()
                ? Optional.of(inProcess.get())
                : Optional.empty();
        this.republish = config.queueFetch().republish();
        this.maxCount = config.queueFetch().maxCount();
        this.maxAge = config.queueFetch().maxAge();
        this.delivered = Counter.builder("mqtt_dynamo_queued_messages_fetched")
                .tag("result", "delivered")
                .description("Stored unconsumed messages delivered to a new subscriber")
                .register(registry);
        this.skipped = Counter.builder("mqtt_dynamo_queued_messages_fetched")
                .tag("result", "skipped")
                .description("Stored unconsumed messages delivered to a new subscriber")
                .register(registry);
        this.renewed = Counter.builder("mqtt_dynamo_queued_messages_fetches_skipped")
                .tag("reason", "renewed")
                .description("Subscriptions the broker says the client held already: nothing fetched again")
                .register(registry);
    }

    void taken(@Observes EventTaken taken) {
        if (taken.event() instanceof BrokerEvent.ClientConnected connected) {
            fetched.connected(connected.clientId());
            return;
        }
        if (taken.event() instanceof BrokerEvent.ClientUnsubscribed unsubscribed) {
            fetched.unsubscribed(unsubscribed.clientId(), unsubscribed.topic());
            return;
        }
        if (!(taken.event() instanceof BrokerEvent.ClientSubscribed subscribed)) {
            return;
        }
        if (!subscribed.isNew()) {
            // Only a new subscription, as the EMQX plugin did: a renewed one (EMQX's is_new false, e.g. the
            // subscription restore putting back what the client had just made) would get the same messages again.
            renewed.increment();
            return;
        }
        if ((broker.isEmpty() && !republish)
                || subscribed.qos() == 0
                || subscribed.topic().startsWith("$share/")
                || sessions.isOwnClient(subscribed.clientId())
                || !rules.applies(HookFunction.ON_MESSAGE_FETCH_FOR_QUEUE, subscribed.topic())) {
            return;
        }
        if (!fetched.first(subscribed.clientId(), subscribed.topic(), System.currentTimeMillis())) {
            // The same subscription reported again where the broker does not say is_new (EMQX 4, EMQX 5's rule
            // engine): the restore made it again right after the client did.
            renewed.increment();
            return;
        }
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            fetched.unsubscribed(subscribed.clientId(), subscribed.topic());
            skipped.increment();
            Log.warnf(
                    "skipped fetching queued messages for %s: %d fetches are running",
                    LogSafe.of(subscribed.clientId()), MAX_IN_FLIGHT);
            return;
        }
        try {
            fetch(subscribed.clientId(), TopicFilter.parse(subscribed.topic()))
                    .onTermination()
                    .invoke(inFlight::decrementAndGet)
                    .subscribe()
                    .with(
                            count -> Log.debugf(
                                    "delivered %d queued messages to %s", count, LogSafe.of(subscribed.clientId())),
                            failure -> Log.warnf(
                                    "queued messages for %s not fetched: %s",
                                    LogSafe.of(subscribed.clientId()), LogSafe.of(failure.getMessage())));
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            Log.warnf(
                    "queued messages for %s not fetched: %s",
                    LogSafe.of(subscribed.clientId()), LogSafe.of(e.getMessage()));
        }
    }

    private Uni<Integer> fetch(String clientId, TopicFilter filter) {
        long oldestMicros = (System.currentTimeMillis() - maxAge.toMillis()) * 1000;
        return messages.pending(filter, MAX_TOPICS_SCANNED)
                .onItem()
                .transformToUniAndConcatenate(topic -> unacked(topic.topic(), clientId, topic.msgIds(), oldestMicros))
                // Only the max-count oldest are kept while the topics are read: memory per fetch is bounded by
                // max-count, not by the pending ids of every topic a wildcard matches.
                .collect()
                .in(
                        () -> new OldestMsgIds<Pending>(maxCount),
                        (oldest, pending) -> pending.forEach(p -> oldest.offer(p.msgId(), p)))
                .map(OldestMsgIds::oldestFirst)
                .chain(pending -> deliver(clientId, read(pending)));
    }

    private record Pending(String topic, String msgId) {}

    /** The msgids of a topic newer than the client's last ack on it and than {@code oldestMicros}. */
    private Uni<List<Pending>> unacked(String topic, String clientId, List<String> msgIds, long oldestMicros) {
        return messages.lastAcked(topic, clientId).map(acked -> {
            String lastAcked = acked.orElse(null);
            List<Pending> pending = new ArrayList<>();
            for (String msgId : msgIds) {
                if ((lastAcked == null || EmqxMsgId.OLDEST_FIRST.compare(msgId, lastAcked) > 0)
                        && newEnough(msgId, oldestMicros)) {
                    pending.add(new Pending(topic, msgId));
                }
            }
            return pending;
        });
    }

    private boolean newEnough(String msgId, long oldestMicros) {
        try {
            return EmqxMsgId.timestampMicros(msgId) >= oldestMicros;
        } catch (RuntimeException e) {
            // Not an EMQX id (written by something else): its age is unknown.
            skipped.increment();
            return false;
        }
    }

    /** The stored messages, in the order asked, read as they are taken ({@value #KEYS_PER_READ} at a time). */
    private Multi<Republisher.Copy> read(List<Pending> pending) {
        return Multi.createFrom()
                .iterable(chunks(pending))
                .onItem()
                .transformToUniAndConcatenate(chunk -> messages.stored(
                                chunk.stream().map(Pending::msgId).toList())
                        .map(byId -> {
                            List<Republisher.Copy> copies = new ArrayList<>();
                            for (Pending p : chunk) {
                                Republisher.Copy copy = copyOf(p, byId.get(p.msgId()));
                                if (copy == null) {
                                    skipped.increment();
                                } else {
                                    copies.add(copy);
                                }
                            }
                            return copies;
                        }))
                .onItem()
                .disjoint();
    }

    private static List<List<Pending>> chunks(List<Pending> pending) {
        List<List<Pending>> chunks = new ArrayList<>();
        for (int i = 0; i < pending.size(); i += KEYS_PER_READ) {
            chunks.add(pending.subList(i, Math.min(pending.size(), i + KEYS_PER_READ)));
        }
        return chunks;
    }

    /** The stored message to deliver again, at QoS 1 or 2; null when it is gone or was stored without its payload. */
    private static Republisher.Copy copyOf(Pending pending, Rows.Message message) {
        if (message == null || message.payload() == null) {
            return null;
        }
        return new Republisher.Copy(
                pending.msgId(),
                pending.topic(),
                message.payload(),
                Math.max(1, Math.min(2, message.qos())),
                message.sender());
    }

    private Uni<Integer> deliver(String clientId, Multi<Republisher.Copy> copies) {
        if (broker.isPresent()) {
            return copies.onItem()
                    .transformToUniAndConcatenate(copy -> deliverInProcess(clientId, copy))
                    .collect()
                    .with(Collectors.summingInt(ok -> ok ? 1 : 0));
        }
        return republisher
                .publish(
                        copies,
                        copy -> republications.expect(
                                copy.topic(), copy.payload(), copy.originalMsgId(), System.currentTimeMillis()))
                .invoke(count -> delivered.increment(count));
    }

    private Uni<Boolean> deliverInProcess(String clientId, Republisher.Copy copy) {
        BigInteger guid;
        try {
            guid = EmqxMsgId.decode(copy.originalMsgId());
        } catch (RuntimeException e) {
            skipped.increment();
            return Uni.createFrom().item(false);
        }
        return broker.orElseThrow()
                .deliverStored(
                        clientId, String.format("%032X", guid), copy.topic(), copy.payload(), copy.qos(), copy.sender())
                .invoke(ok -> (ok ? delivered : skipped).increment());
    }
}
