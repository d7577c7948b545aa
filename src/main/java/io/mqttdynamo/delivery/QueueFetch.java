package io.mqttdynamo.delivery;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.broker.embedded.EmbeddedBrokerHandle;
import io.mqttdynamo.broker.embedded.EmbeddedBrokerService;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.hooks.Republications;
import io.mqttdynamo.ingest.EventTaken;
import io.mqttdynamo.ingest.LogSafe;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.store.Tables.Attr;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import mutiny.zero.flow.adapters.AdaptersToFlow;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

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
    static final int READ_ATTEMPTS = 5;

    private final DynamoDbAsyncClient dynamo;
    private final HookRules rules;
    private final Optional<EmbeddedBrokerHandle> broker;
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

    public QueueFetch(DynamoDbAsyncClient dynamo, HookRules rules, MqttDynamoConfig config, BrokerSessions sessions,
            Instance<EmbeddedBrokerService> embedded, Republisher republisher, Republications republications,
            MeterRegistry registry) {
        this.dynamo = dynamo;
        this.rules = rules;
        this.republisher = republisher;
        this.republications = republications;
        this.sessions = sessions;
        this.broker = config.embeddedBroker().enabled() && embedded.isResolvable()
                ? embedded.get().broker() : Optional.empty();
        this.republish = config.queueFetch().republish();
        this.maxCount = config.queueFetch().maxCount();
        this.maxAge = config.queueFetch().maxAge();
        this.delivered = Counter.builder("mqtt_dynamo_queued_messages_fetched").tag("result", "delivered")
                .description("Stored unconsumed messages delivered to a new subscriber").register(registry);
        this.skipped = Counter.builder("mqtt_dynamo_queued_messages_fetched").tag("result", "skipped")
                .description("Stored unconsumed messages delivered to a new subscriber").register(registry);
        this.renewed = Counter.builder("mqtt_dynamo_queued_messages_fetches_skipped").tag("reason", "renewed")
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
                || subscribed.qos() == 0 || subscribed.topic().startsWith("$share/")
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
            Log.warnf("skipped fetching queued messages for %s: %d fetches are running",
                    LogSafe.of(subscribed.clientId()), MAX_IN_FLIGHT);
            return;
        }
        try {
            fetch(subscribed.clientId(), TopicFilter.parse(subscribed.topic()))
                    .onTermination().invoke(inFlight::decrementAndGet)
                    .subscribe().with(count -> Log.debugf("delivered %d queued messages to %s", count,
                            LogSafe.of(subscribed.clientId())),
                            failure -> Log.warnf("queued messages for %s not fetched: %s",
                                    LogSafe.of(subscribed.clientId()), LogSafe.of(failure.getMessage())));
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            Log.warnf("queued messages for %s not fetched: %s", LogSafe.of(subscribed.clientId()),
                    LogSafe.of(e.getMessage()));
        }
    }

    private Uni<Integer> fetch(String clientId, TopicFilter filter) {
        long oldestMicros = (System.currentTimeMillis() - maxAge.toMillis()) * 1000;
        return pendingTopics(filter)
                .onItem().transformToUniAndConcatenate(topic -> unacked(topic.topic(), clientId, topic.msgIds(),
                        oldestMicros))
                // Only the max-count oldest are kept while the topics are read: memory per fetch is bounded by
                // max-count, not by the pending ids of every topic a wildcard matches.
                .collect().in(() -> new OldestMsgIds<Pending>(maxCount),
                        (oldest, pending) -> pending.forEach(p -> oldest.offer(p.msgId(), p)))
                .map(OldestMsgIds::oldestFirst)
                .chain(pending -> deliver(clientId, read(pending)));
    }

    private record TopicIds(String topic, List<String> msgIds) {
    }

    private record Pending(String topic, String msgId) {
    }

    /** The topics the filter matches that have unconsumed messages. */
    private Multi<TopicIds> pendingTopics(TopicFilter filter) {
        if (!filter.hasWildcard()) {
            return Uni.createFrom().completionStage(() -> dynamo.getItem(b -> b.tableName(Tables.TOPIC_MSG_MAP.tableName())
                            .key(Map.of(Attr.TOPIC, AttributeValue.fromS(filter.value()))).consistentRead(true)))
                    .onItem().transformToMulti(response -> response.hasItem() && response.item().get(Attr.MSG_ID_SET) != null
                            ? Multi.createFrom().item(new TopicIds(filter.value(), response.item().get(Attr.MSG_ID_SET).ss()))
                            : Multi.createFrom().empty());
        }
        ScanRequest scan = ScanRequest.builder().tableName(Tables.TOPIC_MSG_MAP.tableName()).build();
        return Multi.createFrom().publisher(AdaptersToFlow.publisher(dynamo.scanPaginator(scan).items()))
                .select().first(MAX_TOPICS_SCANNED)
                .select().where(item -> item.get(Attr.MSG_ID_SET) != null && filter.matches(item.get(Attr.TOPIC).s()))
                .map(item -> new TopicIds(item.get(Attr.TOPIC).s(), item.get(Attr.MSG_ID_SET).ss()));
    }

    /** The msgids of a topic newer than the client's last ack on it and than {@code oldestMicros}. */
    private Uni<List<Pending>> unacked(String topic, String clientId, List<String> msgIds, long oldestMicros) {
        return Uni.createFrom().completionStage(() -> dynamo.getItem(b -> b.tableName(Tables.ACKED.tableName())
                        .key(Map.of(Attr.TOPIC, AttributeValue.fromS(topic), Attr.CLIENTID, AttributeValue.fromS(clientId)))
                        .consistentRead(true)))
                .map(response -> {
                    String lastAcked = response.hasItem() && response.item().get(Attr.MSGID) != null
                            ? response.item().get(Attr.MSGID).s() : null;
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
        return Multi.createFrom().iterable(chunks(pending))
                .onItem().transformToUniAndConcatenate(chunk -> readItems(chunk.stream()
                        .map(p -> Map.of(Attr.MSGID, AttributeValue.fromS(p.msgId()))).toList(), READ_ATTEMPTS)
                        .map(items -> {
                            Map<String, Map<String, AttributeValue>> byId = new HashMap<>();
                            items.forEach(item -> byId.put(item.get(Attr.MSGID).s(), item));
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
                .onItem().disjoint();
    }

    private static List<List<Pending>> chunks(List<Pending> pending) {
        List<List<Pending>> chunks = new ArrayList<>();
        for (int i = 0; i < pending.size(); i += KEYS_PER_READ) {
            chunks.add(pending.subList(i, Math.min(pending.size(), i + KEYS_PER_READ)));
        }
        return chunks;
    }

    /** The items of {@code keys}; keys DynamoDB left unprocessed (throttling) are asked again, a few times. */
    private Uni<List<Map<String, AttributeValue>>> readItems(List<Map<String, AttributeValue>> keys, int attempts) {
        String table = Tables.MSG.tableName();
        return Uni.createFrom().completionStage(() -> dynamo.batchGetItem(b -> b.requestItems(
                        Map.of(table, KeysAndAttributes.builder().keys(keys).build()))))
                .chain(response -> {
                    List<Map<String, AttributeValue>> items = new ArrayList<>(response.responses().getOrDefault(table,
                            List.of()));
                    KeysAndAttributes left = response.unprocessedKeys().get(table);
                    if (left == null || left.keys().isEmpty()) {
                        return Uni.createFrom().item(items);
                    }
                    if (attempts <= 1) {
                        return Uni.createFrom().failure(new IllegalStateException(left.keys().size()
                                + " stored messages left unread by DynamoDB (throttled, or past 16 MB)"));
                    }
                    return Uni.createFrom().voidItem()
                            .onItem().delayIt().by(Duration.ofMillis(100L * (READ_ATTEMPTS - attempts + 1)))
                            .chain(() -> readItems(left.keys(), attempts - 1))
                            .map(more -> {
                                items.addAll(more);
                                return items;
                            });
                });
    }

    /** The stored message to deliver again; null when it is gone or was stored without its payload. */
    private static Republisher.Copy copyOf(Pending pending, Map<String, AttributeValue> item) {
        if (item == null) {
            return null;
        }
        AttributeValue payload = item.get(Attr.PAYLOAD);
        byte[] bytes = payload == null ? null : payload.b() != null ? payload.b().asByteArray()
                : payload.s() != null ? payload.s().getBytes(StandardCharsets.UTF_8) : null;
        if (bytes == null) {
            return null;
        }
        int qos = 1;
        if (item.get(Attr.QOS) != null) {
            try {
                qos = Math.max(1, Math.min(2, Integer.parseInt(item.get(Attr.QOS).n())));
            } catch (NumberFormatException e) {
                qos = 1;
            }
        }
        AttributeValue sender = item.get(Attr.SENDER);
        return new Republisher.Copy(pending.msgId(), pending.topic(), bytes, qos,
                sender == null || sender.s() == null ? "" : sender.s());
    }

    private Uni<Integer> deliver(String clientId, Multi<Republisher.Copy> copies) {
        if (broker.isPresent()) {
            return copies.collect().with(java.util.stream.Collectors.summingInt(
                    copy -> deliverEmbedded(clientId, copy) ? 1 : 0));
        }
        return republisher.publish(copies, copy -> republications.expect(copy.topic(), copy.payload(),
                        copy.originalMsgId(), System.currentTimeMillis()))
                .invoke(count -> delivered.increment(count));
    }

    private boolean deliverEmbedded(String clientId, Republisher.Copy copy) {
        BigInteger guid;
        try {
            guid = EmqxMsgId.decode(copy.originalMsgId());
        } catch (RuntimeException e) {
            skipped.increment();
            return false;
        }
        boolean ok = broker.orElseThrow().deliverStored(clientId, String.format("%032X", guid), copy.topic(),
                copy.payload(), copy.qos(), copy.sender());
        (ok ? delivered : skipped).increment();
        return ok;
    }
}
