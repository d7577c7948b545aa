package io.mqttdynamo.store;

import static io.mqttdynamo.store.Tables.Attr;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * Reads of the six tables for the dashboard and the API, each bounded: single items by key, queries by
 * hash key, and listings one page at a time ({@code Limit} and a cursor made from
 * {@code LastEvaluatedKey}), so that no view scans a whole table.
 */
@ApplicationScoped
public class TableQueries {

    /** Scan requests one listing page may make to fill itself when a filter drops items. */
    private static final int MAX_SCANS_PER_PAGE = 4;

    private final DynamoDbAsyncClient dynamo;
    private final TimeUnitSetting timeUnit;

    public TableQueries(DynamoDbAsyncClient dynamo, MqttDynamoConfig config) {
        this.dynamo = dynamo;
        this.timeUnit = config.timeUnit();
    }

    public Uni<Optional<Rows.Client>> client(String clientId) {
        return get(Tables.CLIENT, Map.of(Attr.CLIENTID, s(clientId))).map(item -> item.map(this::client));
    }

    /** Clients, optionally only online ones and only those whose id starts with {@code prefix}. */
    public Uni<Rows.Page<Rows.Client>> clients(boolean onlineOnly, String prefix, String cursor, int limit) {
        Predicate<Map<String, AttributeValue>> keep = item -> (!onlineOnly || "1".equals(n(item, Attr.CONNECT_STATE)))
                && (prefix == null || prefix.isEmpty() || str(item, Attr.CLIENTID).startsWith(prefix));
        return page(Tables.CLIENT, keep, this::client, cursor, limit);
    }

    /** How many clients mqtt_client holds and which of them are online. */
    public record ClientCensus(long known, List<String> online) {
    }

    /**
     * Counts mqtt_client and collects the online clients: a paged scan reading only two attributes, run
     * once at start-up to seed the counts (events keep them current afterwards); stops after {@code max}.
     */
    public Uni<ClientCensus> clientCensus(int max) {
        return clientCensus(null, new long[1], new ArrayList<>(), max);
    }

    private Uni<ClientCensus> clientCensus(Map<String, AttributeValue> start, long[] known, List<String> online,
            int max) {
        ScanRequest.Builder request = ScanRequest.builder().tableName(Tables.CLIENT.tableName())
                .projectionExpression("#c, #s")
                .expressionAttributeNames(Map.of("#c", Attr.CLIENTID, "#s", Attr.CONNECT_STATE));
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return Uni.createFrom().completionStage(() -> dynamo.scan(request.build())).flatMap(response -> {
            for (Map<String, AttributeValue> item : response.items()) {
                known[0]++;
                if ("1".equals(n(item, Attr.CONNECT_STATE))) {
                    online.add(str(item, Attr.CLIENTID));
                }
            }
            boolean more = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty();
            return more && known[0] < max ? clientCensus(response.lastEvaluatedKey(), known, online, max)
                    : Uni.createFrom().item(new ClientCensus(known[0], online));
        });
    }

    /** A client's subscriptions (a query on the hash key). */
    public Uni<List<Rows.Subscription>> subscriptionsOf(String clientId) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.query(b -> b.tableName(Tables.SUB.tableName())
                        .keyConditionExpression("#c = :c")
                        .expressionAttributeNames(Map.of("#c", Attr.CLIENTID))
                        .expressionAttributeValues(Map.of(":c", s(clientId)))
                        .limit(500)))
                .map(response -> response.items().stream().map(TableQueries::subscription).toList());
    }

    /** Subscriptions whose filter passes {@code keep}. */
    public Uni<Rows.Page<Rows.Subscription>> subscriptions(Predicate<Rows.Subscription> keep, String cursor, int limit) {
        return page(Tables.SUB, item -> keep.test(subscription(item)), TableQueries::subscription, cursor, limit);
    }

    /** Retained messages whose topic passes {@code keep}. */
    public Uni<Rows.Page<Rows.Message>> retained(Predicate<String> topicFilter, String cursor, int limit) {
        return page(Tables.RETAIN, item -> topicFilter.test(str(item, Attr.TOPIC)), this::message, cursor, limit);
    }

    public Uni<Optional<Rows.Message>> retainedOf(String topic) {
        return get(Tables.RETAIN, Map.of(Attr.TOPIC, s(topic))).map(item -> item.map(this::message));
    }

    public Uni<Optional<Rows.Message>> message(String msgId) {
        return get(Tables.MSG, Map.of(Attr.MSGID, s(msgId))).map(item -> item.map(this::message));
    }

    /** The msgids of a topic that no subscriber acked yet (mqtt_topic_msg_map). */
    public Uni<List<String>> pendingIds(String topic) {
        return get(Tables.TOPIC_MSG_MAP, Map.of(Attr.TOPIC, s(topic)))
                .map(item -> item.map(i -> i.get(Attr.MSG_ID_SET)).filter(AttributeValue::hasSs)
                        .map(AttributeValue::ss).orElse(List.of()));
    }

    /** Messages by id (one BatchGetItem, at most 100 ids), in the order of {@code msgIds}. */
    public Uni<List<Rows.Message>> messages(List<String> msgIds) {
        if (msgIds.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        List<Map<String, AttributeValue>> keys = msgIds.stream().distinct().limit(100)
                .map(id -> Map.of(Attr.MSGID, s(id))).toList();
        return Uni.createFrom()
                .completionStage(() -> dynamo.batchGetItem(b -> b.requestItems(
                        Map.of(Tables.MSG.tableName(), KeysAndAttributes.builder().keys(keys).build()))))
                .map(response -> {
                    Map<String, Rows.Message> byId = new HashMap<>();
                    response.responses().getOrDefault(Tables.MSG.tableName(), List.of())
                            .forEach(item -> byId.put(str(item, Attr.MSGID), message(item)));
                    return msgIds.stream().map(byId::get).filter(m -> m != null).toList();
                });
    }

    /** Acks of one client (mqtt_acked is keyed by topic, so this is a filtered listing). */
    public Uni<Rows.Page<Rows.Ack>> acksOf(String clientId, String cursor, int limit) {
        return page(Tables.ACKED, item -> clientId.equals(str(item, Attr.CLIENTID)), TableQueries::ack, cursor, limit);
    }

    private Uni<Optional<Map<String, AttributeValue>>> get(Tables table, Map<String, AttributeValue> key) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.getItem(b -> b.tableName(table.tableName()).key(key)))
                .map(response -> response.hasItem() && !response.item().isEmpty()
                        ? Optional.of(response.item()) : Optional.empty());
    }

    /**
     * One page of a table: scans {@code limit} items at a time from the cursor, keeps those that pass,
     * and scans again (a few times at most) while the page is not full.
     */
    private <T> Uni<Rows.Page<T>> page(Tables table, Predicate<Map<String, AttributeValue>> keep,
            Function<Map<String, AttributeValue>, T> map, String cursor, int limit) {
        Map<String, AttributeValue> start = Cursor.decode(table, cursor);
        return scanPage(table, keep, start, limit, new ArrayList<>(), MAX_SCANS_PER_PAGE)
                .map(page -> new Rows.Page<>(page.items().stream().map(map).toList(), page.next()));
    }

    private Uni<Rows.Page<Map<String, AttributeValue>>> scanPage(Tables table,
            Predicate<Map<String, AttributeValue>> keep, Map<String, AttributeValue> start, int limit,
            List<Map<String, AttributeValue>> found, int scansLeft) {
        ScanRequest.Builder request = ScanRequest.builder().tableName(table.tableName()).limit(limit);
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return Uni.createFrom().completionStage(() -> dynamo.scan(request.build())).flatMap(response -> {
            for (Map<String, AttributeValue> item : response.items()) {
                if (found.size() < limit && keep.test(item)) {
                    found.add(item);
                }
            }
            Map<String, AttributeValue> last = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty()
                    ? response.lastEvaluatedKey() : null;
            if (found.size() >= limit || last == null || scansLeft <= 1) {
                Map<String, AttributeValue> next = found.size() >= limit
                        ? table.keyOf(found.get(found.size() - 1)) : last;
                return Uni.createFrom().item(new Rows.Page<>(found, next == null ? null : Cursor.encode(next)));
            }
            return scanPage(table, keep, last, limit, found, scansLeft - 1);
        });
    }

    private Rows.Client client(Map<String, AttributeValue> item) {
        return new Rows.Client(str(item, Attr.CLIENTID), str(item, Attr.NODE), "1".equals(n(item, Attr.CONNECT_STATE)),
                millis(item, Attr.ONLINE_AT), millis(item, Attr.OFFLINE_AT));
    }

    private static Rows.Subscription subscription(Map<String, AttributeValue> item) {
        return new Rows.Subscription(str(item, Attr.CLIENTID), str(item, Attr.TOPIC), (int) num(item, Attr.QOS));
    }

    private static Rows.Ack ack(Map<String, AttributeValue> item) {
        return new Rows.Ack(str(item, Attr.TOPIC), str(item, Attr.CLIENTID), str(item, Attr.MSGID));
    }

    private Rows.Message message(Map<String, AttributeValue> item) {
        AttributeValue payload = item.get(Attr.PAYLOAD);
        byte[] bytes = null;
        boolean binary = false;
        if (payload != null && payload.s() != null) {
            bytes = payload.s().getBytes(StandardCharsets.UTF_8);
        } else if (payload != null && payload.b() != null) {
            bytes = payload.b().asByteArray();
            binary = true;
        }
        int size = bytes != null ? bytes.length : (int) num(item, Attr.PAYLOAD_SIZE);
        return new Rows.Message(str(item, Attr.MSGID), str(item, Attr.TOPIC), (int) num(item, Attr.QOS),
                str(item, Attr.SENDER), num(item, Attr.RETAIN) == 1, millis(item, Attr.ARRIVED), bytes, binary, size,
                bytes == null || num(item, Attr.PAYLOAD_TRUNCATED) == 1);
    }

    private long millis(Map<String, AttributeValue> item, String attribute) {
        long value = num(item, attribute);
        return timeUnit == TimeUnitSetting.SECONDS ? value * 1000 : value;
    }

    private static String str(Map<String, AttributeValue> item, String attribute) {
        AttributeValue value = item.get(attribute);
        return value == null || value.s() == null ? "" : value.s();
    }

    private static String n(Map<String, AttributeValue> item, String attribute) {
        AttributeValue value = item.get(attribute);
        return value == null ? null : value.n();
    }

    private static long num(Map<String, AttributeValue> item, String attribute) {
        String value = n(item, attribute);
        try {
            return value == null ? 0 : Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    /**
     * Listing cursors: the JSON of a key's string attributes ({@code {"clientid":"…","topic":"…"}}) in
     * URL-safe base64, so that any key value (control characters, separators, any Unicode) comes back
     * exactly as it was.
     */
    static final class Cursor {

        private static final ObjectMapper MAPPER = new ObjectMapper();
        private static final String INVALID = "invalid cursor: use the 'next' value of the previous page";

        private Cursor() {
        }

        static String encode(Map<String, AttributeValue> key) {
            ObjectNode json = MAPPER.createObjectNode();
            new TreeMap<>(key).forEach((name, value) -> json.put(name, value.s()));
            try {
                return Base64.getUrlEncoder().withoutPadding().encodeToString(MAPPER.writeValueAsBytes(json));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The key a cursor stands for; null for none; IllegalArgumentException for one not of this table. */
        static Map<String, AttributeValue> decode(Tables table, String cursor) {
            if (cursor == null || cursor.isEmpty()) {
                return null;
            }
            JsonNode json;
            try {
                json = MAPPER.readTree(Base64.getUrlDecoder().decode(cursor));
            } catch (IllegalArgumentException | IOException e) {
                throw new IllegalArgumentException(INVALID);
            }
            if (json == null || !json.isObject() || json.size() != (table.rangeKey() == null ? 1 : 2)) {
                throw new IllegalArgumentException(INVALID);
            }
            Map<String, AttributeValue> key = new LinkedHashMap<>();
            key.put(table.hashKey(), AttributeValue.fromS(keyValue(json, table.hashKey(),
                    KeyLimits.PARTITION_KEY_MAX_BYTES)));
            if (table.rangeKey() != null) {
                key.put(table.rangeKey(), AttributeValue.fromS(keyValue(json, table.rangeKey(),
                        KeyLimits.SORT_KEY_MAX_BYTES)));
            }
            return key;
        }

        private static String keyValue(JsonNode json, String attribute, int maxBytes) {
            JsonNode value = json.get(attribute);
            if (value == null || !value.isTextual() || !KeyLimits.fits(value.textValue(), maxBytes)) {
                throw new IllegalArgumentException(INVALID);
            }
            return value.textValue();
        }
    }
}
