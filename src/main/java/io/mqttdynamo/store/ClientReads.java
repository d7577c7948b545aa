package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.num;
import static io.mqttdynamo.store.Attributes.s;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.mqttdynamo.store.Tables.Attr;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Reads of mqtt_client and of the client counters in mqtt_dynamo_stats, for the dashboard and the API: a
 * client by id, listings one page at a time (the sharded indexes for online clients and id prefixes), the
 * counts of known and online clients.
 */
@ApplicationScoped
public class ClientReads {

    /** Clients known and online, from the counters in mqtt_dynamo_stats. */
    public record ClientCounts(long known, long online) {}

    private final Reads reads;
    private final ShardedIndexPages indexPages;
    private final TimeUnitSetting timeUnit;

    public ClientReads(DynamoDbAsyncClient dynamo, ReadCost cost, MqttDynamoConfig config) {
        this.reads = Reads.metered(dynamo, cost);
        this.indexPages = new ShardedIndexPages(reads);
        this.timeUnit = config.timeUnit();
    }

    public Uni<Optional<Rows.Client>> client(String clientId) {
        return reads.get(Tables.CLIENT, Map.of(Attr.CLIENTID, s(clientId)), false)
                .map(item -> item.map(this::client));
    }

    /**
     * Clients, optionally only online ones (on {@code node}), only those whose id starts with
     * {@code prefix}. Online clients and prefixes are Queries of the sharded indexes, merged in client id
     * order: they read about what they show. All clients without a prefix: a Scan page.
     */
    public Uni<Rows.Page<Rows.Client>> clients(
            boolean onlineOnly, String prefix, String node, String cursor, int limit) {
        boolean hasPrefix = prefix != null && !prefix.isEmpty();
        if (!onlineOnly && !hasPrefix) {
            return reads.listing(Tables.CLIENT, item -> true, cursor, limit).map(this::clients);
        }
        Map<String, AttributeValue> start = Cursor.decode(Tables.CLIENT, cursor);
        String after = start == null ? null : start.get(Attr.CLIENTID).s();
        if (after != null && !Indexes.indexable(after)) {
            // index pages end at client ids that fit an index sort key
            throw new IllegalArgumentException(Cursor.INVALID);
        }
        if (onlineOnly) {
            return indexPages
                    .page(Indexes.ONLINE, Attr.ONLINE_SHARD, hasPrefix ? prefix : null, node, after, limit)
                    .map(this::clients);
        }
        // The client id index holds keys only: the items are read by key.
        return indexPages
                .page(Indexes.CLIENT_IDS, Attr.CLIENT_SHARD, prefix, null, after, limit)
                .flatMap(page -> inOrder(page.items().stream()
                                .map(item -> Map.of(Attr.CLIENTID, item.get(Attr.CLIENTID)))
                                .toList())
                        .map(found ->
                                new Rows.Page<>(found.stream().map(this::client).toList(), page.next())));
    }

    /** The items of {@code keys} in their order; missing ones left out. */
    private Uni<List<Map<String, AttributeValue>>> inOrder(List<Map<String, AttributeValue>> keys) {
        return reads.batchGet(Tables.CLIENT, keys, false).map(found -> {
            Map<String, Map<String, AttributeValue>> byKey = new HashMap<>();
            found.forEach(item -> byKey.put(Tables.CLIENT.identity(Tables.CLIENT.keyOf(item)), item));
            return keys.stream()
                    .map(key -> byKey.get(Tables.CLIENT.identity(key)))
                    .filter(item -> item != null)
                    .toList();
        });
    }

    /** The client counters (one consistent BatchGetItem of the shards' counter items). */
    public Uni<ClientCounts> clientCounts() {
        List<Map<String, AttributeValue>> keys =
                Indexes.shards().stream().map(ItemWrite.Count::counterKey).toList();
        return reads.batchGet(Tables.STATS, keys, true).map(items -> {
            long known = 0;
            long online = 0;
            for (Map<String, AttributeValue> item : items) {
                known += num(item, Attr.KNOWN);
                online += num(item, Attr.ONLINE);
            }
            return new ClientCounts(known, online);
        });
    }

    private Rows.Page<Rows.Client> clients(Rows.Page<Map<String, AttributeValue>> page) {
        return new Rows.Page<>(page.items().stream().map(this::client).toList(), page.next());
    }

    private Rows.Client client(Map<String, AttributeValue> item) {
        return Rows.Client.from(item, timeUnit);
    }
}
