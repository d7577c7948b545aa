package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.s;
import static io.mqttdynamo.store.Attributes.str;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.mqttdynamo.store.Tables.Attr;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;

/**
 * Pages of a sharded mqtt_client index ({@link Indexes}), merged in DynamoDB's key order. Every shard is queried
 * at once from just after the cursor, each for a share of the page (its items are spread evenly over the
 * shards); items past the smallest key at which a shard stopped are not known to be next and wait. While that
 * leaves the page short, the shards that stopped are queried further, asking twice as many each round. So a
 * page reads about 1.5 times what it shows, not {@value Indexes#SHARDS} times. The cursor is the last client id
 * shown (or the key up to which all shards were read).
 */
final class ShardedIndexPages {

    /** Query rounds one merged page makes at most before it returns what it has (with a cursor). */
    private static final int MAX_ROUNDS = 4;

    private final Reads reads;

    ShardedIndexPages(Reads reads) {
        this.reads = reads;
    }

    /** One shard's answer: its items in key order, and the last key it looked at when there is more. */
    private record ShardPage(List<Map<String, AttributeValue>> items, String lastEvaluated) {}

    /**
     * A page of {@code index} (hash key {@code shardAttribute}): client ids starting with {@code prefix} (all
     * when null), on {@code node} (any when null), after the client id {@code after} (from the start when null).
     */
    Uni<Rows.Page<Map<String, AttributeValue>>> page(
            String index, String shardAttribute, String prefix, String node, String after, int limit) {
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

    private Uni<Rows.Page<Map<String, AttributeValue>>> round(
            String index,
            String shardAttribute,
            String prefix,
            String node,
            List<String> ask,
            Map<String, List<Map<String, AttributeValue>>> found,
            Map<String, String> from,
            int share,
            int limit,
            int round) {
        List<Uni<ShardPage>> queries = ask.stream()
                .map(shard -> queryShard(index, shardAttribute, shard, prefix, node, from.get(shard), share))
                .toList();
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
            List<Map<String, AttributeValue>> inOrder = found.values().stream()
                    .flatMap(List::stream)
                    .filter(item -> cut == null || Indexes.KEY_ORDER.compare(str(item, Attr.CLIENTID), cut) <= 0)
                    .sorted(Comparator.comparing(item -> str(item, Attr.CLIENTID), Indexes.KEY_ORDER))
                    .toList();
            if (inOrder.size() < limit && cut != null && round < MAX_ROUNDS) {
                // only shards that stopped before the page's last item as far as known can hold items of the page
                List<String> all = found.values().stream()
                        .flatMap(List::stream)
                        .map(item -> str(item, Attr.CLIENTID))
                        .sorted(Indexes.KEY_ORDER)
                        .toList();
                String bound = all.size() >= limit ? all.get(limit - 1) : null;
                List<String> further = from.entrySet().stream()
                        .filter(e -> bound == null || Indexes.KEY_ORDER.compare(e.getValue(), bound) < 0)
                        .map(Map.Entry::getKey)
                        .toList();
                return round(
                        index,
                        shardAttribute,
                        prefix,
                        node,
                        new ArrayList<>(further),
                        found,
                        from,
                        share * 2,
                        limit,
                        round + 1);
            }
            List<Map<String, AttributeValue>> shown = inOrder.subList(0, Math.min(limit, inOrder.size()));
            String next;
            if (shown.size() == limit && (inOrder.size() > limit || cut != null)) {
                next = str(shown.get(shown.size() - 1), Attr.CLIENTID);
            } else {
                next = cut;
            }
            return Uni.createFrom()
                    .item(new Rows.Page<>(shown, next == null ? null : Cursor.encode(Map.of(Attr.CLIENTID, s(next)))));
        });
    }

    private Uni<ShardPage> queryShard(
            String index, String shardAttribute, String shard, String prefix, String node, String after, int limit) {
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
        QueryRequest.Builder request = QueryRequest.builder()
                .tableName(Tables.CLIENT.tableName())
                .indexName(index)
                .keyConditionExpression(condition)
                .limit(limit);
        if (node != null) {
            names.put("#n", Attr.NODE);
            values.put(":n", s(node));
            request.filterExpression("#n = :n");
        }
        request.expressionAttributeNames(names).expressionAttributeValues(values);
        if (after != null) {
            request.exclusiveStartKey(Map.of(shardAttribute, s(shard), Attr.CLIENTID, s(after)));
        }
        return reads.query(request).map(response -> {
            boolean more = response.hasLastEvaluatedKey()
                    && !response.lastEvaluatedKey().isEmpty();
            return new ShardPage(
                    response.items(),
                    more ? response.lastEvaluatedKey().get(Attr.CLIENTID).s() : null);
        });
    }
}
