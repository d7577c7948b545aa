package io.mqttdynamo.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Predicate;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import mutiny.zero.flow.adapters.AdaptersToFlow;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.ReturnConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

/**
 * The store's reads as DynamoDB requests, each answered as a {@link Uni} (a paginated result as a
 * {@link Multi}): items by key, query and scan pages, whole paginated results, and BatchGetItem with the
 * service's one policy for the keys DynamoDB leaves unprocessed. The dashboard's and the API's reads are
 * metered (they ask for and count the capacity they use, {@link ReadCost}); the delivery functions' are not.
 */
final class Reads {

    /** BatchGetItem's limit of keys a request. */
    static final int BATCH_GET_KEYS = 100;
    /**
     * Requests one BatchGetItem makes at most, the first and those for keys left unprocessed, with a capped,
     * jittered, exponential pause between them: between half and all of 50 ms × 2^n, at most
     * {@link #BATCH_GET_MAX_PAUSE}, about 3 s in all. DynamoDB leaves keys unprocessed when a table or a
     * partition is throttled or the answer passes 16 MB, and AWS's guidance is to ask again after an
     * exponential back-off, as asking at once is likely throttled again
     * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html). The jitter keeps
     * concurrent reads and replicas from asking in step (the writes' {@link RetryPolicy} pauses alike); the
     * bound is there because someone waits for every read (a dashboard page, a new subscriber, a comparison
     * run), better told of a failure than kept waiting.
     */
    static final int BATCH_GET_ROUNDS = 8;

    static final Duration BATCH_GET_MAX_PAUSE = Duration.ofSeconds(1);
    /** Scan requests one listing page may make to fill itself when a filter drops items. */
    static final int SCANS_PER_PAGE = 4;

    private final DynamoDbAsyncClient dynamo;
    /** Null for reads not counted. */
    private final ReadCost cost;
    /** The dashboard's and the API's reads, whose cost is also counted apart. */
    private final boolean dashboard;

    private final RetryPolicy pauses = new RetryPolicy(BATCH_GET_MAX_PAUSE);

    private Reads(DynamoDbAsyncClient dynamo, ReadCost cost, boolean dashboard) {
        this.dynamo = dynamo;
        this.cost = cost;
        this.dashboard = dashboard;
    }

    /** Reads for the dashboard and the API, their cost also counted apart. */
    static Reads metered(DynamoDbAsyncClient dynamo, ReadCost cost) {
        return new Reads(dynamo, cost, true);
    }

    /** Reads of the delivery functions: their read units counted by table only. */
    static Reads unmetered(DynamoDbAsyncClient dynamo, ReadCost cost) {
        return new Reads(dynamo, cost, false);
    }

    /** The item with {@code key}, if there is one (GetItem). */
    Uni<Optional<Map<String, AttributeValue>>> get(Tables table, Map<String, AttributeValue> key, boolean consistent) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.getItem(b -> {
                    b.tableName(table.tableName()).key(key);
                    if (consistent) {
                        b.consistentRead(true);
                    }
                    b.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
                }))
                .map(response -> {
                    boolean found = response.hasItem() && !response.item().isEmpty();
                    cost.consumed(response.consumedCapacity());
                    if (dashboard) {
                        cost.capacity(response.consumedCapacity());
                        cost.items(found ? 1 : 0);
                    }
                    return found ? Optional.of(response.item()) : Optional.empty();
                });
    }

    /** One page of a query. */
    Uni<QueryResponse> query(QueryRequest.Builder request) {
        request.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        QueryRequest built = request.build();
        return Uni.createFrom().completionStage(() -> dynamo.query(built)).invoke(this::count);
    }

    /** One page of a scan. */
    Uni<ScanResponse> scan(ScanRequest.Builder request) {
        request.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        ScanRequest built = request.build();
        return Uni.createFrom().completionStage(() -> dynamo.scan(built)).invoke(this::count);
    }

    /** Every item a query finds, page by page as they are asked for. */
    Multi<Map<String, AttributeValue>> queryAll(QueryRequest.Builder request) {
        request.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        return Multi.createFrom()
                .publisher(AdaptersToFlow.publisher(dynamo.queryPaginator(request.build())))
                .invoke(this::count)
                .onItem()
                .transformToIterable(QueryResponse::items);
    }

    /** Every item a scan finds, page by page as they are asked for. */
    Multi<Map<String, AttributeValue>> scanAll(ScanRequest.Builder request) {
        request.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
        return Multi.createFrom()
                .publisher(AdaptersToFlow.publisher(dynamo.scanPaginator(request.build())))
                .invoke(this::count)
                .onItem()
                .transformToIterable(ScanResponse::items);
    }

    /**
     * The items of {@code keys} that exist, in no particular order (BatchGetItem, {@value #BATCH_GET_KEYS} keys a
     * request; no key twice); only the {@code attributes} named, all when none. Fails when DynamoDB still leaves
     * keys unprocessed after {@value #BATCH_GET_ROUNDS} requests.
     */
    Uni<List<Map<String, AttributeValue>>> batchGet(
            Tables table, List<Map<String, AttributeValue>> keys, boolean consistent, String... attributes) {
        if (keys.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        List<Uni<List<Map<String, AttributeValue>>>> batches = new ArrayList<>();
        for (int i = 0; i < keys.size(); i += BATCH_GET_KEYS) {
            KeysAndAttributes.Builder batch =
                    KeysAndAttributes.builder().keys(keys.subList(i, Math.min(keys.size(), i + BATCH_GET_KEYS)));
            if (consistent) {
                batch.consistentRead(true);
            }
            if (attributes.length > 0) {
                Map<String, String> names = new HashMap<>();
                for (int a = 0; a < attributes.length; a++) {
                    names.put("#p" + a, attributes[a]);
                }
                batch.projectionExpression(String.join(", ", new TreeSet<>(names.keySet())))
                        .expressionAttributeNames(names);
            }
            batches.add(batchGet(table, batch.build(), new ArrayList<>(), 0));
        }
        if (batches.size() == 1) {
            return batches.get(0);
        }
        return Uni.join()
                .all(batches)
                .andFailFast()
                .map(found -> found.stream().flatMap(List::stream).toList());
    }

    private Uni<List<Map<String, AttributeValue>>> batchGet(
            Tables table, KeysAndAttributes keys, List<Map<String, AttributeValue>> found, int round) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.batchGetItem(b -> {
                    b.requestItems(Map.of(table.tableName(), keys));
                    b.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL);
                }))
                .chain((BatchGetItemResponse response) -> {
                    List<Map<String, AttributeValue>> got =
                            response.responses().getOrDefault(table.tableName(), List.of());
                    if (response.hasConsumedCapacity()) {
                        response.consumedCapacity().forEach(cost::consumed);
                    }
                    if (dashboard) {
                        if (response.hasConsumedCapacity()) {
                            response.consumedCapacity().forEach(cost::capacity);
                        }
                        cost.items(got.size());
                    }
                    found.addAll(got);
                    // The unprocessed keys come back with the request's consistency and projection.
                    KeysAndAttributes left = response.hasUnprocessedKeys()
                            ? response.unprocessedKeys().get(table.tableName())
                            : null;
                    if (left == null || !left.hasKeys() || left.keys().isEmpty()) {
                        return Uni.createFrom().item(found);
                    }
                    if (round + 1 >= BATCH_GET_ROUNDS) {
                        return Uni.createFrom()
                                .failure(new IllegalStateException(
                                        "DynamoDB left " + left.keys().size()
                                                + " keys of " + table.tableName() + " unprocessed " + BATCH_GET_ROUNDS
                                                + " times (throttled, or past 16 MB)"));
                    }
                    return Uni.createFrom()
                            .voidItem()
                            .onItem()
                            .delayIt()
                            .by(Duration.ofMillis(pauses.delayMillis(round)))
                            .chain(() -> batchGet(table, left, found, round + 1));
                });
    }

    /**
     * One page of a table's listing: scans {@code limit} items at a time from the cursor, keeps those that pass,
     * and scans again ({@value #SCANS_PER_PAGE} times at most) while the page is not full; the cursor of the next
     * page is the key of the last item kept, or where the scans stopped.
     */
    Uni<Rows.Page<Map<String, AttributeValue>>> listing(
            Tables table, Predicate<Map<String, AttributeValue>> keep, String cursor, int limit) {
        return listing(table, keep, Cursor.decode(table, cursor), limit, new ArrayList<>(), SCANS_PER_PAGE);
    }

    private Uni<Rows.Page<Map<String, AttributeValue>>> listing(
            Tables table,
            Predicate<Map<String, AttributeValue>> keep,
            Map<String, AttributeValue> start,
            int limit,
            List<Map<String, AttributeValue>> found,
            int scansLeft) {
        ScanRequest.Builder request =
                ScanRequest.builder().tableName(table.tableName()).limit(limit);
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return scan(request).flatMap(response -> {
            for (Map<String, AttributeValue> item : response.items()) {
                if (found.size() < limit && keep.test(item)) {
                    found.add(item);
                }
            }
            Map<String, AttributeValue> last = response.hasLastEvaluatedKey()
                            && !response.lastEvaluatedKey().isEmpty()
                    ? response.lastEvaluatedKey()
                    : null;
            if (found.size() >= limit || last == null || scansLeft <= 1) {
                Map<String, AttributeValue> next =
                        found.size() >= limit ? table.keyOf(found.get(found.size() - 1)) : last;
                return Uni.createFrom().item(new Rows.Page<>(found, next == null ? null : Cursor.encode(next)));
            }
            return listing(table, keep, last, limit, found, scansLeft - 1);
        });
    }

    private void count(QueryResponse response) {
        cost.consumed(response.consumedCapacity());
        if (dashboard) {
            cost.capacity(response.consumedCapacity());
            cost.items(response.scannedCount());
        }
    }

    private void count(ScanResponse response) {
        cost.consumed(response.consumedCapacity());
        if (dashboard) {
            cost.capacity(response.consumedCapacity());
            cost.items(response.scannedCount());
        }
    }
}
