package io.mqttdynamo.bench;

import static io.mqttdynamo.bench.BenchSupport.log;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.mqttdynamo.domain.EmqxMsgId;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The write ceiling of a DynamoDB server: the benchmark's messages as mqtt_msg items, written with concurrent
 * 25-item BatchWriteItem requests straight from this JVM, in items per second.
 */
final class CeilingWriter {

    private final BenchSettings settings;
    private final DynamoDbAsyncClient db;

    CeilingWriter(BenchSettings settings, DynamoDbAsyncClient db) {
        this.settings = settings;
        this.db = db;
    }

    /** An unmeasured first pass, so that neither this JVM nor the server measures its own warm-up. */
    void warmUp() {
        double rate = ceiling(8, "bench_warmup", Math.min(settings.messages(), 5000));
        log("ceiling warm-up: %.0f items/s", rate);
    }

    /** Items per second with {@code concurrency} requests at a time. */
    double ceiling(int concurrency) {
        return ceiling(concurrency, "bench_ceiling_" + concurrency, settings.messages());
    }

    private double ceiling(int concurrency, String table, int messages) {
        BenchSupport.createTable(db, table, "msgid");
        List<WriteRequest> all = new ArrayList<>(messages);
        long arrived = System.currentTimeMillis() / 1000;
        EmqxMsgId ids = new EmqxMsgId();
        for (int i = 0; i < messages; i++) {
            Map<String, AttributeValue> item = new HashMap<>();
            item.put("msgid", AttributeValue.fromS(ids.next()));
            item.put("topic", AttributeValue.fromS(settings.topic(i)));
            item.put("qos", AttributeValue.fromN("1"));
            item.put("sender", AttributeValue.fromS("bench-pub"));
            item.put("retain", AttributeValue.fromN("0"));
            item.put("arrived", AttributeValue.fromN(Long.toString(arrived)));
            item.put("payload", AttributeValue.fromS(settings.payload(i)));
            all.add(WriteRequest.builder()
                    .putRequest(PutRequest.builder().item(item).build())
                    .build());
        }
        Semaphore permits = new Semaphore(concurrency);
        AtomicInteger written = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        long start = System.nanoTime();
        long deadline = start + settings.maxWait().toNanos();
        for (int from = 0; from < all.size() && System.nanoTime() < deadline; from += 25) {
            List<WriteRequest> batch = all.subList(from, Math.min(all.size(), from + 25));
            permits.acquireUninterruptibly();
            writeBatch(table, batch, 0).whenComplete((n, failure) -> {
                if (failure != null) {
                    failures.incrementAndGet();
                } else {
                    written.addAndGet(n);
                }
                permits.release();
            });
        }
        try {
            if (!permits.tryAcquire(concurrency, settings.stall().toSeconds(), TimeUnit.SECONDS)) {
                log("ceiling: writes still running after %d s", settings.stall().toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failures.get() > 0) {
            log("ceiling: %d batches failed", failures.get());
        }
        db.deleteTable(b -> b.tableName(table)).exceptionally(e -> null).join();
        return written.get() / seconds;
    }

    /** Writes a batch, retrying its unprocessed items with a short back-off; completes with the count written. */
    private CompletableFuture<Integer> writeBatch(String table, List<WriteRequest> batch, int attempt) {
        return db.batchWriteItem(b -> b.requestItems(Map.of(table, batch))).thenCompose(response -> {
            List<WriteRequest> left = response.unprocessedItems().getOrDefault(table, List.of());
            int done = batch.size() - left.size();
            if (left.isEmpty() || attempt >= 50) {
                return CompletableFuture.completedFuture(done);
            }
            return CompletableFuture.supplyAsync(
                            () -> null,
                            CompletableFuture.delayedExecutor(
                                    Math.min(500, 10L << Math.min(attempt, 5)), TimeUnit.MILLISECONDS))
                    .thenCompose(x -> writeBatch(table, left, attempt + 1))
                    .thenApply(n -> done + n);
        });
    }
}
