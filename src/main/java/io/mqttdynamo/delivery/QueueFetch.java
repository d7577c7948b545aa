package io.mqttdynamo.delivery;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
import io.mqttdynamo.broker.embedded.EmbeddedBroker;
import io.mqttdynamo.broker.embedded.EmbeddedBrokerService;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRules;
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
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * on_message_fetch_for_queue on the embedded broker: when a client subscribes with QoS 1 or 2, the
 * unconsumed messages of the topics its filter matches (their msgids in mqtt_topic_msg_map, newer than what
 * the client last acked on that topic) are delivered to that client only, oldest first, under their stored
 * ids, so that its acknowledgements consume them (ack envelopes carry the stored id). Wildcard filters scan
 * mqtt_topic_msg_map (at most {@value #MAX_TOPICS_SCANNED} topics); at most {@value #MAX_MESSAGES} messages per
 * subscription, {@value #MAX_IN_FLIGHT} subscriptions at once. Other brokers cannot deliver to one client
 * from outside: the function does nothing there.
 */
@ApplicationScoped
public class QueueFetch {

    static final int MAX_MESSAGES = 100;
    static final int MAX_TOPICS_SCANNED = 10_000;
    static final int MAX_IN_FLIGHT = 16;

    private final DynamoDbAsyncClient dynamo;
    private final HookRules rules;
    private final Optional<EmbeddedBroker> broker;
    private final String ownClientIds;
    private final Counter delivered;
    private final Counter skipped;
    private final AtomicInteger inFlight = new AtomicInteger();

    public QueueFetch(DynamoDbAsyncClient dynamo, HookRules rules, MqttDynamoConfig config, BrokerSessions sessions,
            Instance<EmbeddedBrokerService> embedded, MeterRegistry registry) {
        this.dynamo = dynamo;
        this.rules = rules;
        this.ownClientIds = sessions.clientIdBase() + "-";
        this.broker = config.embeddedBroker().enabled() && embedded.isResolvable()
                ? embedded.get().broker() : Optional.empty();
        this.delivered = Counter.builder("mqtt_dynamo_queued_messages_fetched").tag("result", "delivered")
                .description("Stored unconsumed messages delivered to a new subscriber").register(registry);
        this.skipped = Counter.builder("mqtt_dynamo_queued_messages_fetched").tag("result", "skipped")
                .description("Stored unconsumed messages delivered to a new subscriber").register(registry);
    }

    void taken(@Observes EventTaken taken) {
        if (!(taken.event() instanceof BrokerEvent.ClientSubscribed subscribed) || broker.isEmpty()
                || subscribed.qos() == 0 || subscribed.topic().startsWith("$share/")
                || subscribed.clientId().startsWith(ownClientIds)
                || !rules.applies(HookFunction.ON_MESSAGE_FETCH_FOR_QUEUE, subscribed.topic())) {
            return;
        }
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
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
        return pendingTopics(filter)
                .onItem().transformToUniAndConcatenate(topic -> unacked(topic.topic(), clientId, topic.msgIds()))
                .collect().in(ArrayList<Pending>::new, List::addAll)
                .map(all -> {
                    all.sort((a, b) -> EmqxMsgId.OLDEST_FIRST.compare(a.msgId(), b.msgId()));
                    return all.subList(0, Math.min(all.size(), MAX_MESSAGES));
                })
                .onItem().transformToMulti(list -> Multi.createFrom().iterable(list))
                .onItem().transformToUniAndConcatenate(pending -> deliver(clientId, pending))
                .collect().with(java.util.stream.Collectors.summingInt(ok -> ok ? 1 : 0));
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

    /** The msgids of a topic newer than the client's last ack on it. */
    private Uni<List<Pending>> unacked(String topic, String clientId, List<String> msgIds) {
        return Uni.createFrom().completionStage(() -> dynamo.getItem(b -> b.tableName(Tables.ACKED.tableName())
                        .key(Map.of(Attr.TOPIC, AttributeValue.fromS(topic), Attr.CLIENTID, AttributeValue.fromS(clientId)))
                        .consistentRead(true)))
                .map(response -> {
                    String lastAcked = response.hasItem() && response.item().get(Attr.MSGID) != null
                            ? response.item().get(Attr.MSGID).s() : null;
                    List<Pending> pending = new ArrayList<>();
                    for (String msgId : msgIds) {
                        if (lastAcked == null || EmqxMsgId.OLDEST_FIRST.compare(msgId, lastAcked) > 0) {
                            pending.add(new Pending(topic, msgId));
                        }
                    }
                    return pending;
                });
    }

    private Uni<Boolean> deliver(String clientId, Pending pending) {
        return Uni.createFrom().completionStage(() -> dynamo.getItem(b -> b.tableName(Tables.MSG.tableName())
                        .key(Map.of(Attr.MSGID, AttributeValue.fromS(pending.msgId())))))
                .map(response -> {
                    Map<String, AttributeValue> item = response.hasItem() ? response.item() : Map.of();
                    AttributeValue payload = item.get(Attr.PAYLOAD);
                    byte[] bytes = payload == null ? null : payload.b() != null ? payload.b().asByteArray()
                            : payload.s() != null ? payload.s().getBytes(StandardCharsets.UTF_8) : null;
                    BigInteger guid;
                    try {
                        guid = EmqxMsgId.decode(pending.msgId());
                    } catch (RuntimeException e) {
                        guid = null;
                    }
                    if (bytes == null || guid == null) {
                        skipped.increment();
                        return false;
                    }
                    int qos = item.get(Attr.QOS) == null ? 1 : Math.max(1, Math.min(2, Integer.parseInt(item.get(Attr.QOS).n())));
                    String sender = item.get(Attr.SENDER) == null ? "" : item.get(Attr.SENDER).s();
                    boolean ok = broker.orElseThrow().deliverStored(clientId, String.format("%032X", guid),
                            pending.topic(), bytes, qos, sender);
                    (ok ? delivered : skipped).increment();
                    return ok;
                });
    }
}
