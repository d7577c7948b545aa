package io.mqttdynamo.store;

import static io.mqttdynamo.store.Tables.Attr;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

/**
 * Brings clients that an earlier version (or the EMQX plugin) wrote into the indexes and the counters,
 * once per table: pages through the mqtt_client items without {@code client_shard} and gives each its
 * shard (and {@code online_shard} when online) with a conditional update through the write pipeline, the
 * counters following as for a connect. An item that an event updated meanwhile fails the condition and
 * was counted by that event, so nothing counts twice, also with several replicas at work. When done, a
 * marker item in mqtt_dynamo_stats says so and later start-ups read that one item only. Tables the
 * service created get the marker at once: they hold nothing to bring in.
 */
@ApplicationScoped
public class ClientBackfill {

    /** The marker item's name in mqtt_dynamo_stats. */
    public static final String MARKER = "backfill#mqtt_client";

    private static final int PAGE = 500;

    private final DynamoDbAsyncClient dynamo;
    private final TableCreator tables;
    private final WritePipeline pipeline;
    private volatile long brought;

    public ClientBackfill(DynamoDbAsyncClient dynamo, TableCreator tables, WritePipeline pipeline) {
        this.dynamo = dynamo;
        this.tables = tables;
        this.pipeline = pipeline;
    }

    void onStart(@Observes StartupEvent event) {
        tables.active()
                .thenRun(() -> run().subscribe()
                        .with(
                                done -> {
                                    if (brought > 0) {
                                        Log.infof(
                                                "mqtt_client: %d clients brought into the indexes and counters",
                                                brought);
                                    }
                                },
                                failure -> Log.warnf(
                                        "mqtt_client backfill stopped, it goes on at the next start: %s",
                                        failure.getMessage())));
    }

    /** Runs the backfill unless its marker says it is done. */
    public Uni<Void> run() {
        return Uni.createFrom()
                .completionStage(() -> dynamo.getItem(
                        b -> b.tableName(Tables.STATS.tableName()).key(marker()).consistentRead(true)))
                .flatMap(response -> response.hasItem() && !response.item().isEmpty()
                        ? Uni.createFrom().voidItem()
                        : page(null)
                                .flatMap(done -> Uni.createFrom()
                                        .completionStage(() -> dynamo.putItem(b -> b.tableName(Tables.STATS.tableName())
                                                .item(Map.of(
                                                        Attr.NAME,
                                                        AttributeValue.fromS(MARKER),
                                                        "done_at",
                                                        AttributeValue.fromN(
                                                                Long.toString(System.currentTimeMillis())))))))
                                .replaceWithVoid());
    }

    private Uni<Void> page(Map<String, AttributeValue> start) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.scan(b -> {
                    b.tableName(Tables.CLIENT.tableName())
                            .limit(PAGE)
                            .filterExpression("attribute_not_exists(#cs)")
                            .projectionExpression("#c, #st")
                            .expressionAttributeNames(
                                    Map.of("#cs", Attr.CLIENT_SHARD, "#c", Attr.CLIENTID, "#st", Attr.CONNECT_STATE));
                    if (start != null) {
                        b.exclusiveStartKey(start);
                    }
                }))
                .flatMap(response -> bringIn(response).flatMap(done -> {
                    boolean more = response.hasLastEvaluatedKey()
                            && !response.lastEvaluatedKey().isEmpty();
                    return more
                            ? page(response.lastEvaluatedKey())
                            : Uni.createFrom().voidItem();
                }));
    }

    /** The conditional updates of one page, through the pipeline (back-pressure, retries, order). */
    private Uni<Void> bringIn(ScanResponse response) {
        List<ItemWrite> writes = new ArrayList<>();
        for (Map<String, AttributeValue> item : response.items()) {
            if (Indexes.indexable(item.get(Attr.CLIENTID).s())) {
                writes.add(update(item));
            }
        }
        brought += writes.size();
        CompletableFuture<Void> stored = pipeline.submitAll(writes)
                // a client refused (a key DynamoDB cannot hold) stays as it is; the others are in
                .exceptionally(failure -> null);
        return Uni.createFrom().completionStage(stored);
    }

    /** Gives an item its shards if it has none yet and its state is still the one read. */
    static ItemWrite update(Map<String, AttributeValue> item) {
        String clientId = item.get(Attr.CLIENTID).s();
        String shard = Indexes.shardOf(clientId);
        AttributeValue state = item.get(Attr.CONNECT_STATE);
        boolean online = state != null && "1".equals(state.n());
        Map<String, String> names = new java.util.HashMap<>(
                Map.of("#cs", Attr.CLIENT_SHARD, "#st", Attr.CONNECT_STATE, "#c", Attr.CLIENTID));
        Map<String, AttributeValue> values = new java.util.HashMap<>(Map.of(":shard", AttributeValue.fromS(shard)));
        String condition = "attribute_exists(#c) AND attribute_not_exists(#cs) AND ";
        if (state == null) {
            condition += "attribute_not_exists(#st)";
        } else {
            condition += "#st = :st";
            values.put(":st", state);
        }
        String update = "SET #cs = :shard";
        if (online) {
            names.put("#os", Attr.ONLINE_SHARD);
            update += ", #os = :shard";
        }
        return new ItemWrite.ConditionalUpdate(
                Tables.CLIENT,
                Map.of(Attr.CLIENTID, AttributeValue.fromS(clientId)),
                update,
                condition,
                names,
                values,
                new ItemWrite.Presence(online, shard));
    }

    private static Map<String, AttributeValue> marker() {
        return Map.of(Attr.NAME, AttributeValue.fromS(MARKER));
    }
}
