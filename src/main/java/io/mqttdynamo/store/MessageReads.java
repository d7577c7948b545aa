package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.s;
import static io.mqttdynamo.store.Attributes.str;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.store.Tables.Attr;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * Reads of the stored messages and their consumption (mqtt_msg, mqtt_topic_msg_map, mqtt_acked): for the dashboard
 * and the API, and for on_message_fetch_for_queue (which messages of a topic are pending, what a client last
 * acknowledged, the messages themselves).
 */
@ApplicationScoped
public class MessageReads {

    private final Reads reads;
    private final Reads deliveryReads;
    private final TimeUnitSetting timeUnit;

    public MessageReads(DynamoDbAsyncClient dynamo, ReadCost cost, MqttDynamoConfig config) {
        this.reads = Reads.metered(dynamo, cost);
        this.deliveryReads = Reads.unmetered(dynamo, cost);
        this.timeUnit = config.timeUnit();
    }

    public Uni<Optional<Rows.Message>> message(String msgId) {
        return reads.get(Tables.MSG, Map.of(Attr.MSGID, s(msgId)), false).map(item -> item.map(this::message));
    }

    /** Messages by id (at most 100 ids), in the order of {@code msgIds}; missing ones left out. */
    public Uni<List<Rows.Message>> messages(List<String> msgIds) {
        return byId(
                        reads,
                        msgIds.stream().distinct().limit(Reads.BATCH_GET_KEYS).toList())
                .map(byId ->
                        msgIds.stream().map(byId::get).filter(m -> m != null).toList());
    }

    /** The msgids of a topic that no subscriber acked yet (mqtt_topic_msg_map). */
    public Uni<List<String>> pendingIds(String topic) {
        return reads.get(Tables.TOPIC_MSG_MAP, Map.of(Attr.TOPIC, s(topic)), false)
                .map(item -> item.map(i -> i.get(Attr.MSG_ID_SET))
                        .filter(AttributeValue::hasSs)
                        .map(AttributeValue::ss)
                        .orElse(List.of()));
    }

    /** Acks of one client (mqtt_acked is keyed by topic, so this is a filtered listing). */
    public Uni<Rows.Page<Rows.Ack>> acksOf(String clientId, String cursor, int limit) {
        return reads.listing(Tables.ACKED, item -> clientId.equals(str(item, Attr.CLIENTID)), cursor, limit)
                .map(page -> new Rows.Page<>(
                        page.items().stream().map(Rows.Ack::from).toList(), page.next()));
    }

    /**
     * The topics {@code filter} matches that have pending msgids: the one topic's item (a consistent read), or for
     * a wildcard filter a Scan of mqtt_topic_msg_map, at most its first {@code maxScanned} items.
     */
    public Multi<Rows.PendingIds> pending(TopicFilter filter, int maxScanned) {
        if (!filter.hasWildcard()) {
            return deliveryReads
                    .get(Tables.TOPIC_MSG_MAP, Map.of(Attr.TOPIC, s(filter.value())), true)
                    .onItem()
                    .transformToMulti(item -> item.isPresent() && item.get().get(Attr.MSG_ID_SET) != null
                            ? Multi.createFrom()
                                    .item(new Rows.PendingIds(
                                            filter.value(),
                                            item.get().get(Attr.MSG_ID_SET).ss()))
                            : Multi.createFrom().empty());
        }
        return deliveryReads
                .scanAll(ScanRequest.builder().tableName(Tables.TOPIC_MSG_MAP.tableName()))
                .select()
                .first(maxScanned)
                .select()
                .where(item -> item.get(Attr.MSG_ID_SET) != null && filter.matches(str(item, Attr.TOPIC)))
                .map(item -> new Rows.PendingIds(
                        str(item, Attr.TOPIC), item.get(Attr.MSG_ID_SET).ss()));
    }

    /** The msgid the client last acknowledged on the topic (a consistent read of mqtt_acked), if any. */
    public Uni<Optional<String>> lastAcked(String topic, String clientId) {
        return deliveryReads
                .get(Tables.ACKED, Map.of(Attr.TOPIC, s(topic), Attr.CLIENTID, s(clientId)), true)
                .map(item -> item.map(i -> i.get(Attr.MSGID)).map(AttributeValue::s));
    }

    /** The stored messages of {@code msgIds} (no id twice) by msgid, for delivering them again. */
    public Uni<Map<String, Rows.Message>> stored(List<String> msgIds) {
        return byId(deliveryReads, msgIds);
    }

    private Uni<Map<String, Rows.Message>> byId(Reads with, List<String> msgIds) {
        return with.batchGet(
                        Tables.MSG,
                        msgIds.stream().map(id -> Map.of(Attr.MSGID, s(id))).toList(),
                        false)
                .map(items -> {
                    Map<String, Rows.Message> byId = new HashMap<>();
                    items.forEach(item -> byId.put(str(item, Attr.MSGID), message(item)));
                    return byId;
                });
    }

    private Rows.Message message(Map<String, AttributeValue> item) {
        return Rows.Message.from(item, timeUnit);
    }
}
