package io.mqttdynamo.store;

import static io.mqttdynamo.store.Tables.Attr;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
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

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnConsumedCapacity;
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

    private final Counter readUnits;
    private final Counter itemsRead;

    public TableQueries(DynamoDbAsyncClient dynamo, MqttDynamoConfig config, MeterRegistry registry) {
        this.dynamo = dynamo;
        this.timeUnit = config.timeUnit();
        this.readUnits = Counter.builder("mqtt_dynamo_read_capacity_units")
                .description("Read capacity units consumed by the dashboard's and the API's reads").register(registry);
        this.itemsRead = Counter.builder("mqtt_dynamo_items_read")
                .description("Items DynamoDB read for the dashboard and the API (scanned or fetched)")
                .register(registry);
    }

    public Uni<Optional<Rows.Client>> client(String clientId) {
        return get(Tables.CLIENT, Map.of(Attr.CLIENTID, s(clientId))).map(item -> item.map(this::client));
    }

    /**
     * Clients, optionally only online ones (on {@code node}), only those whose id starts with
     * {@code prefix}. Online clients and prefixes are Queries of the sharded indexes, merged in client id
     * order: they read about what they show. All clients without a prefix: a Scan page.
     */
    public Uni<Rows.Page<Rows.Client>> clients(boolean onlineOnly, String prefix, String node, String cursor,
            int limit) {
        boolean hasPrefix = prefix != null && !prefix.isEmpty();
        if (!onlineOnly && !hasPrefix) {
            return page(Tables.CLIENT, item -> true, this::client, cursor, limit);
        }
        Map<String, AttributeValue> start = Cursor.decode(Tables.CLIENT, cursor);
        String after = start == null ? null : start.get(Attr.CLIENTID).s();
        if (after != null && !Indexes.indexable(after)) {
            // index pages end at client ids that fit an index sort key
            throw new IllegalArgumentException("invalid cursor: use the 'next' value of the previous page");
        }
        if (onlineOnly) {
            return merged(Indexes.ONLINE, Attr.ONLINE_SHARD, hasPrefix ? prefix : null, node, after, limit)
                    .map(page -> new Rows.Page<>(page.items().stream().map(this::client).toList(), page.next()));
        }
        return merged(Indexes.CLIENT_IDS, Attr.CLIENT_SHARD, prefix, null, after, limit)
                .flatMap(page -> items(Tables.CLIENT, page.items().stream()
                        .map(item -> Map.of(Attr.CLIENTID, item.get(Attr.CLIENTID))).toList())
                        .map(found -> new Rows.Page<>(found.stream().map(this::client).toList(), page.next())));
    }

    /** One shard's answer: its items in key order, and the last key it looked at when there is more. */
    private record ShardPage(List<Map<String, AttributeValue>> items, String lastEvaluated) {
    }

    /** Query rounds one merged page makes at most before it returns what it has (with a cursor). */
    private static final int MAX_ROUNDS = 4;

    /**
     * A page of a sharded mqtt_client index, merged in DynamoDB's key order. Every shard is queried at once
     * from just after {@code after}, each for a share of the page (its items are spread evenly over the
     * shards); items past the smallest key at which a shard stopped are not known to be next and wait. While
     * that leaves the page short, the shards that stopped are queried further, asking twice as many each
     * round. So a page reads about 1.5 times what it shows, not {@value Indexes#SHARDS} times. The cursor is
     * the last client id shown (or the key up to which all shards were read).
     */
    private Uni<Rows.Page<Map<String, AttributeValue>>> merged(String index, String shardAttribute, String prefix,
            String node, String after, int limit) {
        List<String> shards = Indexes.shards();
        Map<String, List<Map<String, AttributeValue>>> found = new HashMap<>();
        Map<String, String> from = new HashMap<>();
        for (String shard : shards) {
            found.put(shard, new ArrayList<>());
            from.put(shard, after);
        }
        int share = Math.max(2, (int) Math.ceil(limit * 1.5 / Indexes.SHARDS));
        return round(index, shardAttribute, prefix, node, new ArrayList<>(shards), found, from, share, limit, 1);
    }

    private Uni<Rows.Page<Map<String, AttributeValue>>> round(String index, String shardAttribute, String prefix,
            String node, List<String> ask, Map<String, List<Map<String, AttributeValue>>> found,
            Map<String, String> from, int share, int limit, int round) {
        List<Uni<ShardPage>> queries = ask.stream()
                .map(shard -> queryShard(index, shardAttribute, shard, prefix, node, from.get(shard), share)).toList();
        return Uni.join().all(queries).andFailFast().flatMap(pages -> {
            // from: where each shard goes on; a shard read to its end is no longer in it
            for (int i = 0; i < ask.size(); i++) {
                String shard = ask.get(i);
                found.get(shard).addAll(pages.get(i).items());
                if (pages.get(i).lastEvaluated() == null) {
                    from.remove(shard);
                } else {
                    from.put(shard, pages.get(i).lastEvaluated());
                }
            }
            String cut = from.values().stream().min(Indexes.KEY_ORDER).orElse(null);
            List<Map<String, AttributeValue>> inOrder = found.values().stream().flatMap(List::stream)
                    .filter(item -> cut == null || Indexes.KEY_ORDER.compare(str(item, Attr.CLIENTID), cut) <= 0)
                    .sorted(Comparator.comparing(item -> str(item, Attr.CLIENTID), Indexes.KEY_ORDER))
                    .toList();
            if (inOrder.size() < limit && cut != null && round < MAX_ROUNDS) {
                // only shards that stopped before the page's last item as far as known can hold items of the page
                List<String> all = found.values().stream().flatMap(List::stream).map(item -> str(item, Attr.CLIENTID))
                        .sorted(Indexes.KEY_ORDER).toList();
                String bound = all.size() >= limit ? all.get(limit - 1) : null;
                List<String> further = from.entrySet().stream()
                        .filter(e -> bound == null || Indexes.KEY_ORDER.compare(e.getValue(), bound) < 0)
                        .map(Map.Entry::getKey).toList();
                return round(index, shardAttribute, prefix, node, new ArrayList<>(further), found, from,
                        share * 2, limit, round + 1);
            }
            List<Map<String, AttributeValue>> shown = inOrder.subList(0, Math.min(limit, inOrder.size()));
            String next;
            if (shown.size() == limit && (inOrder.size() > limit || cut != null)) {
                next = str(shown.get(shown.size() - 1), Attr.CLIENTID);
            } else {
                next = cut;
            }
            return Uni.createFrom().item(new Rows.Page<>(shown,
                    next == null ? null : Cursor.encode(Map.of(Attr.CLIENTID, s(next)))));
        });
    }

    private Uni<ShardPage> queryShard(String index, String shardAttribute, String shard, String prefix, String node,
            String after, int limit) {
        Map<String, String> names = new HashMap<>();
        Map<String, AttributeValue> values = new HashMap<>();
        names.put("#s", shardAttribute);
        values.put(":s", s(shard));
        String condition = "#s = :s";
        if (prefix != null) {
            names.put("#c", Attr.CLIENTID);
            values.put(":p", s(prefix));
            condition += " AND begins_with(#c, :p)";
        }
        QueryRequest.Builder request = QueryRequest.builder().tableName(Tables.CLIENT.tableName()).indexName(index)
                .keyConditionExpression(condition).limit(limit)
                .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        if (node != null) {
            names.put("#n", Attr.NODE);
            values.put(":n", s(node));
            request.filterExpression("#n = :n");
        }
        request.expressionAttributeNames(names).expressionAttributeValues(values);
        if (after != null) {
            request.exclusiveStartKey(Map.of(shardAttribute, s(shard), Attr.CLIENTID, s(after)));
        }
        return Uni.createFrom().completionStage(() -> dynamo.query(request.build())).map(response -> {
            readCapacity(response.consumedCapacity());
            itemsRead(response.scannedCount());
            boolean more = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty();
            return new ShardPage(response.items(),
                    more ? response.lastEvaluatedKey().get(Attr.CLIENTID).s() : null);
        });
    }

    /** Items by key (BatchGetItem, 100 keys a request), in the order of {@code keys}; missing ones left out. */
    private Uni<List<Map<String, AttributeValue>>> items(Tables table, List<Map<String, AttributeValue>> keys) {
        if (keys.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        List<Uni<List<Map<String, AttributeValue>>>> batches = new ArrayList<>();
        for (int i = 0; i < keys.size(); i += 100) {
            batches.add(batchGet(table, keys.subList(i, Math.min(keys.size(), i + 100)), new ArrayList<>(), 0));
        }
        return Uni.join().all(batches).andFailFast().map(found -> {
            Map<String, Map<String, AttributeValue>> byKey = new HashMap<>();
            found.forEach(list -> list.forEach(item -> byKey.put(table.identity(table.keyOf(item)), item)));
            return keys.stream().map(key -> byKey.get(table.identity(key))).filter(item -> item != null).toList();
        });
    }

    private Uni<List<Map<String, AttributeValue>>> batchGet(Tables table, List<Map<String, AttributeValue>> keys,
            List<Map<String, AttributeValue>> found, int round) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.batchGetItem(b -> b.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                        .requestItems(Map.of(table.tableName(), KeysAndAttributes.builder().keys(keys).build()))))
                .flatMap(response -> {
                    if (response.hasConsumedCapacity()) {
                        response.consumedCapacity().forEach(this::readCapacity);
                    }
                    List<Map<String, AttributeValue>> got = response.responses().getOrDefault(table.tableName(), List.of());
                    itemsRead(got.size());
                    found.addAll(got);
                    KeysAndAttributes left = response.hasUnprocessedKeys()
                            ? response.unprocessedKeys().get(table.tableName()) : null;
                    if (left == null || left.keys().isEmpty()) {
                        return Uni.createFrom().item(found);
                    }
                    if (round >= 5) {
                        return Uni.createFrom().failure(new IllegalStateException(
                                "DynamoDB left keys of " + table.tableName() + " unprocessed, try again"));
                    }
                    return batchGet(table, left.keys(), found, round + 1);
                });
    }

    /** Clients known and online, from the counters in mqtt_dynamo_stats (one BatchGetItem of the shards). */
    public record ClientCounts(long known, long online) {
    }

    public Uni<ClientCounts> clientCounts() {
        List<Map<String, AttributeValue>> keys = Indexes.shards().stream().map(ItemWrite.Count::counterKey).toList();
        return Uni.createFrom()
                .completionStage(() -> dynamo.batchGetItem(b -> b.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                        .requestItems(Map.of(Tables.STATS.tableName(),
                                KeysAndAttributes.builder().keys(keys).consistentRead(true).build()))))
                .map(response -> {
                    if (response.hasUnprocessedKeys() && !response.unprocessedKeys().isEmpty()) {
                        throw new IllegalStateException("DynamoDB left counters unprocessed");
                    }
                    if (response.hasConsumedCapacity()) {
                        response.consumedCapacity().forEach(this::readCapacity);
                    }
                    itemsRead(response.responses().getOrDefault(Tables.STATS.tableName(), List.of()).size());
                    long known = 0;
                    long online = 0;
                    for (Map<String, AttributeValue> item : response.responses().getOrDefault(
                            Tables.STATS.tableName(), List.of())) {
                        known += num(item, Attr.KNOWN);
                        online += num(item, Attr.ONLINE);
                    }
                    return new ClientCounts(known, online);
                });
    }

    /** Counts what the dashboard's and the API's reads cost: read capacity units and items read. */
    private void readCapacity(software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity consumed) {
        if (consumed != null && consumed.capacityUnits() != null) {
            readUnits.increment(consumed.capacityUnits());
        }
    }

    private void itemsRead(Integer items) {
        if (items != null) {
            itemsRead.increment(items);
        }
    }

    /** A client's subscriptions (a query on the hash key). */
    public Uni<List<Rows.Subscription>> subscriptionsOf(String clientId) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.query(b -> b.tableName(Tables.SUB.tableName())
                        .keyConditionExpression("#c = :c")
                        .expressionAttributeNames(Map.of("#c", Attr.CLIENTID))
                        .expressionAttributeValues(Map.of(":c", s(clientId)))
                        .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                        .limit(500)))
                .invoke(response -> {
                    readCapacity(response.consumedCapacity());
                    itemsRead(response.scannedCount());
                })
                .map(response -> response.items().stream().map(TableQueries::subscription).toList());
    }

    /**
     * Subscriptions of the client {@code q} (a Query of mqtt_sub), then those to the filter {@code q} (a
     * Query of the topic index): what is read is what is shown. The cursor says which of the two it is in.
     */
    public Uni<Rows.Page<Rows.Subscription>> subscriptionsLookup(String q, String cursor, int limit) {
        boolean byTopic = cursor != null && cursor.startsWith("t");
        Map<String, AttributeValue> start = null;
        if (cursor != null && !cursor.isEmpty()) {
            if (!(cursor.startsWith("c.") || cursor.startsWith("t.") || cursor.equals("t"))) {
                throw new IllegalArgumentException("invalid cursor: use the 'next' value of the previous page");
            }
            start = cursor.length() > 2 ? Cursor.decode(Tables.SUB, cursor.substring(2)) : null;
        }
        if (byTopic) {
            return subscribersOf(q, start, limit);
        }
        Map<String, AttributeValue> from = start;
        return Uni.createFrom()
                .completionStage(() -> dynamo.query(b -> {
                    b.tableName(Tables.SUB.tableName()).keyConditionExpression("#c = :c")
                            .expressionAttributeNames(Map.of("#c", Attr.CLIENTID))
                            .expressionAttributeValues(Map.of(":c", s(q))).limit(limit);
                    if (from != null) {
                        b.exclusiveStartKey(from);
                    }
                }))
                .flatMap(response -> {
                    List<Rows.Subscription> items = response.items().stream().map(TableQueries::subscription).toList();
                    boolean more = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty();
                    if (more) {
                        return Uni.createFrom().item(new Rows.Page<>(items,
                                "c." + Cursor.encode(response.lastEvaluatedKey())));
                    }
                    if (items.size() >= limit) {
                        return Uni.createFrom().item(new Rows.Page<>(items, "t"));
                    }
                    return subscribersOf(q, null, limit - items.size()).map(rest -> {
                        List<Rows.Subscription> all = new ArrayList<>(items);
                        all.addAll(rest.items());
                        return new Rows.Page<>(all, rest.next());
                    });
                });
    }

    /** Subscriptions to exactly the filter {@code topic} by other clients than one named {@code topic}. */
    private Uni<Rows.Page<Rows.Subscription>> subscribersOf(String topic, Map<String, AttributeValue> start,
            int limit) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.query(b -> {
                    b.tableName(Tables.SUB.tableName()).indexName(Indexes.SUB_BY_TOPIC)
                            .keyConditionExpression("#t = :t")
                            .expressionAttributeNames(Map.of("#t", Attr.TOPIC))
                            .expressionAttributeValues(Map.of(":t", s(topic))).limit(limit);
                    if (start != null) {
                        b.exclusiveStartKey(start);
                    }
                }))
                .map(response -> new Rows.Page<>(
                        // the client's own subscription to it was listed with the client's (a query may not
                        // filter on key attributes, so it is left out here)
                        response.items().stream().map(TableQueries::subscription)
                                .filter(sub -> !sub.clientId().equals(topic)).toList(),
                        response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty()
                                ? "t." + Cursor.encode(response.lastEvaluatedKey()) : null));
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
                .completionStage(() -> dynamo.getItem(b -> b.tableName(table.tableName()).key(key)
                        .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)))
                .invoke(response -> {
                    readCapacity(response.consumedCapacity());
                    itemsRead(response.hasItem() && !response.item().isEmpty() ? 1 : 0);
                })
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
        ScanRequest.Builder request = ScanRequest.builder().tableName(table.tableName()).limit(limit)
                .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return Uni.createFrom().completionStage(() -> dynamo.scan(request.build())).flatMap(response -> {
            readCapacity(response.consumedCapacity());
            itemsRead(response.scannedCount());
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
