package io.mqttdynamo.store;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.logging.Log;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteRequest;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The single way into DynamoDB for ingest: queues item writes, coalesces writes to the same item,
 * packs puts and deletes into BatchWriteItem requests, keeps a bounded number of requests in flight,
 * retries until DynamoDB takes the write, and pushes back on ingest when too much is waiting.
 *
 * <p>Order: writes to one item are applied in the order they were submitted; an item never has two
 * requests in flight, and a write that waits behind another to the same item replaces it (put, delete)
 * or joins it (set additions and removals). The future of a write completes once DynamoDB has stored
 * it or a later write to the same item, or exceptionally with {@link RejectedWriteException} when
 * DynamoDB refuses it for good (for example an item over 400 KB).
 */
@ApplicationScoped
public class WritePipeline {

    private static final Duration FIRST_RETRY_DELAY = Duration.ofMillis(50);
    private static final int RECENTLY_REMOVED_LIMIT = 20_000;

    private final DynamoDbAsyncClient dynamo;
    private final StoreMetrics metrics;
    private final int batchSize;
    private final int maxInFlight;
    private final int maxPending;
    private final long maxRetryDelayMillis;

    private final Object lock = new Object();
    /** Queued writes in submission order (by sequence number). */
    private final TreeMap<Long, Pending> queue = new TreeMap<>();
    /** Queued writes by what they coalesce on. */
    private final Map<String, Pending> byMergeKey = new HashMap<>();
    /** Items with a request in flight. */
    private final Set<String> busyItems = new HashSet<>();
    private final ArrayDeque<CompletableFuture<Void>> admissionWaiters = new ArrayDeque<>();
    /** Set members removed lately, so that an addition arriving after its removal is not made. */
    private final Map<String, Boolean> recentlyRemoved = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > RECENTLY_REMOVED_LIMIT;
        }
    };
    private final List<CompletableFuture<Void>> idleWaiters = new ArrayList<>();
    private boolean draining;
    private long sequence;
    private int requestsInFlight;
    private int writesInFlight;
    private boolean retryTimerSet;
    private final Map<Tables, Long> created = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile String lastError;
    private volatile long lastErrorAtMillis;

    public WritePipeline(DynamoDbAsyncClient dynamo, StoreMetrics metrics, MqttDynamoConfig config) {
        this.dynamo = dynamo;
        this.metrics = metrics;
        MqttDynamoConfig.Store store = config.store();
        this.batchSize = Math.max(1, Math.min(25, store.batchSize()));
        this.maxInFlight = Math.max(1, store.maxInFlight());
        this.maxPending = Math.max(1, store.maxPending());
        this.maxRetryDelayMillis = store.maxRetryDelay().toMillis();
        metrics.pendingGauge(this::pending);
    }

    /** Items that conditional updates created in {@code table} since start (new clients in mqtt_client). */
    public long created(Tables table) {
        return created.getOrDefault(table, 0L);
    }

    /** The last DynamoDB failure, or null. */
    public String lastError() {
        return lastError;
    }

    /** When the last failure happened (epoch millis), 0 if none. */
    public long lastErrorAtMillis() {
        return lastErrorAtMillis;
    }

    /** Writes queued or in flight. */
    public int pending() {
        synchronized (lock) {
            return queue.size() + writesInFlight;
        }
    }

    /**
     * Completes when the pipeline takes more writes: at once while fewer than {@code max-pending} wait,
     * later otherwise. Ingest waits on it before taking the next message, which is its back-pressure.
     */
    public CompletionStage<Void> admission() {
        synchronized (lock) {
            if (draining) {
                // Shutting down: what is not taken now stays unacknowledged and the broker redelivers it.
                return new CompletableFuture<>();
            }
            if (queue.size() + writesInFlight < maxPending) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> waiter = new CompletableFuture<>();
            admissionWaiters.add(waiter);
            return waiter;
        }
    }

    /**
     * Stops taking writes and completes when all taken ones are stored (or refused). Used on shutdown,
     * so that acknowledged work is finished and the rest is left to the broker.
     */
    public CompletableFuture<Void> drain() {
        synchronized (lock) {
            draining = true;
            admissionWaiters.clear();
            if (queue.isEmpty() && writesInFlight == 0) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> idle = new CompletableFuture<>();
            idleWaiters.add(idle);
            return idle;
        }
    }

    /** Queues all writes; the result completes when every one is stored (or refused, see class doc). */
    public CompletableFuture<Void> submitAll(List<ItemWrite> writes) {
        if (writes.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<Void>> futures = new ArrayList<>(writes.size());
        synchronized (lock) {
            for (ItemWrite write : writes) {
                futures.add(enqueue(write));
            }
        }
        sendReady();
        return futures.size() == 1 ? futures.get(0)
                : CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
    }

    /** Queues one write. */
    public CompletableFuture<Void> submit(ItemWrite write) {
        return submitAll(List.of(write));
    }

    private CompletableFuture<Void> enqueue(ItemWrite write) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        String item = write.table().identity(write.key());
        if (write instanceof ItemWrite.AddToSet add) {
            // A removal can overtake its addition (acks and messages come on different channels).
            add.values().removeIf(value -> recentlyRemoved.remove(item + '\u0000' + value) != null);
            if (add.values().isEmpty()) {
                done.complete(null);
                return done;
            }
        }
        if (write instanceof ItemWrite.RemoveFromSet remove) {
            for (String value : remove.values()) {
                recentlyRemoved.put(item + '\u0000' + value, Boolean.TRUE);
            }
            // An id removed before its addition was sent never needs to be added.
            Pending add = byMergeKey.get(mergeKey(item, new ItemWrite.AddToSet(remove.table(), remove.key(),
                    remove.attribute(), Set.of())));
            if (add != null) {
                ItemWrite.AddToSet adding = (ItemWrite.AddToSet) add.write;
                Set<String> left = new HashSet<>(remove.values());
                left.removeAll(adding.values());
                adding.values().removeAll(remove.values());
                if (left.isEmpty()) {
                    done.complete(null);
                    return done;
                }
                write = new ItemWrite.RemoveFromSet(remove.table(), remove.key(), remove.attribute(), left);
            }
        }
        String mergeKey = mergeKey(item, write);
        Pending existing = byMergeKey.get(mergeKey);
        if (existing != null) {
            existing.write = merge(existing.write, write);
            existing.waiters.add(done);
        } else {
            Pending pending = new Pending(sequence++, item, mergeKey, write);
            pending.waiters.add(done);
            queue.put(pending.sequence, pending);
            byMergeKey.put(mergeKey, pending);
        }
        return done;
    }

    private String mergeKey(String item, ItemWrite write) {
        if (write instanceof ItemWrite.AddToSet add) {
            return item + "\u0000add\u0000" + add.attribute();
        }
        if (write instanceof ItemWrite.RemoveFromSet remove) {
            return item + "\u0000remove\u0000" + remove.attribute();
        }
        if (write instanceof ItemWrite.ConditionalUpdate) {
            return item + "\u0000update\u0000" + sequence;
        }
        return item + "\u0000item";
    }

    /** The write that has the effect of {@code older} followed by {@code newer} (same merge key). */
    private static ItemWrite merge(ItemWrite older, ItemWrite newer) {
        if (older instanceof ItemWrite.AddToSet a && newer instanceof ItemWrite.AddToSet b) {
            a.values().addAll(b.values());
            return a;
        }
        if (older instanceof ItemWrite.RemoveFromSet a && newer instanceof ItemWrite.RemoveFromSet b) {
            a.values().addAll(b.values());
            return a;
        }
        return newer;
    }

    /** Sends what may be sent now: as many requests as free slots allow, oldest writes first. */
    private void sendReady() {
        List<Runnable> sends = new ArrayList<>();
        synchronized (lock) {
            long now = System.nanoTime();
            int slots = maxInFlight - requestsInFlight;
            List<Pending> batch = null;
            long earliestRetry = Long.MAX_VALUE;
            Iterator<Pending> it = queue.values().iterator();
            while (it.hasNext() && (slots > 0 || batch != null)) {
                Pending p = it.next();
                if (busyItems.contains(p.item)) {
                    continue;
                }
                if (p.notBefore - now > 0) {
                    earliestRetry = Math.min(earliestRetry, p.notBefore);
                    continue;
                }
                boolean batchable = !p.alone
                        && (p.write instanceof ItemWrite.Put || p.write instanceof ItemWrite.Delete);
                if (batchable) {
                    if (batch == null) {
                        if (slots <= 0) {
                            continue;
                        }
                        batch = new ArrayList<>(batchSize);
                        slots--;
                    }
                    take(it, p);
                    batch.add(p);
                    if (batch.size() == batchSize) {
                        List<Pending> full = batch;
                        sends.add(() -> sendBatch(full));
                        batch = null;
                    }
                } else if (slots > 0) {
                    slots--;
                    take(it, p);
                    sends.add(() -> sendSingle(p));
                }
            }
            if (batch != null) {
                List<Pending> last = batch;
                sends.add(() -> sendBatch(last));
            }
            requestsInFlight += sends.size();
            if (earliestRetry != Long.MAX_VALUE && !retryTimerSet) {
                retryTimerSet = true;
                long delay = Math.max(1, TimeUnit.NANOSECONDS.toMillis(earliestRetry - now));
                CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS).execute(() -> {
                    synchronized (lock) {
                        retryTimerSet = false;
                    }
                    sendReady();
                });
            }
        }
        sends.forEach(Runnable::run);
    }

    private void take(Iterator<Pending> it, Pending p) {
        it.remove();
        byMergeKey.remove(p.mergeKey);
        busyItems.add(p.item);
        writesInFlight++;
    }

    private void sendBatch(List<Pending> batch) {
        Map<String, List<WriteRequest>> requests = new LinkedHashMap<>();
        for (Pending p : batch) {
            WriteRequest request;
            if (p.write instanceof ItemWrite.Put put) {
                request = WriteRequest.builder().putRequest(PutRequest.builder().item(put.item()).build()).build();
            } else if (p.write instanceof ItemWrite.Delete delete) {
                request = WriteRequest.builder().deleteRequest(DeleteRequest.builder().key(delete.key()).build())
                        .build();
            } else {
                throw new IllegalStateException("not batchable: " + p.write);
            }
            requests.computeIfAbsent(p.write.table().tableName(), t -> new ArrayList<>()).add(request);
        }
        metrics.batch(batch.size());
        long started = System.nanoTime();
        call(() -> dynamo.batchWriteItem(BatchWriteItemRequest.builder().requestItems(requests).build()))
                .whenComplete((response, failure) -> {
                    metrics.latency(System.nanoTime() - started);
                    if (failure == null) {
                        batchDone(batch, response);
                    } else {
                        failed(batch, unwrap(failure));
                    }
                });
    }

    private void batchDone(List<Pending> batch, BatchWriteItemResponse response) {
        Set<String> unprocessed = new HashSet<>();
        if (response.hasUnprocessedItems()) {
            response.unprocessedItems().forEach((tableName, requests) -> {
                Tables table = Tables.byName(tableName);
                for (WriteRequest r : requests) {
                    Map<String, AttributeValue> key = r.putRequest() != null
                            ? table.keyOf(r.putRequest().item()) : r.deleteRequest().key();
                    unprocessed.add(table.identity(key));
                }
            });
        }
        List<Pending> retry = new ArrayList<>();
        List<Pending> stored = new ArrayList<>();
        for (Pending p : batch) {
            (unprocessed.contains(p.item) ? retry : stored).add(p);
        }
        finish(stored, retry, List.of(), null);
    }

    private void sendSingle(Pending p) {
        UpdateItemRequest request = updateRequest(p.write);
        if (request == null) {
            // A put or delete sent alone, to find which item of a refused batch DynamoDB refuses.
            sendBatch(List.of(p));
            return;
        }
        if (request.updateExpression() == null) {
            finish(List.of(p), List.of(), List.of(), null);
            return;
        }
        long started = System.nanoTime();
        call(() -> dynamo.updateItem(request)).whenComplete((response, failure) -> {
            metrics.latency(System.nanoTime() - started);
            Throwable cause = failure == null ? null : unwrap(failure);
            if (cause == null) {
                if (p.write instanceof ItemWrite.AddToSet add) {
                    trimIfOverfilled(add, response);
                } else if (p.write instanceof ItemWrite.ConditionalUpdate && !response.hasAttributes()) {
                    // No old values: the update created the item.
                    created.merge(p.write.table(), 1L, Long::sum);
                }
                finish(List.of(p), List.of(), List.of(), null);
            } else if (cause instanceof ConditionalCheckFailedException) {
                metrics.stale();
                Log.debugf("%s %s: a newer state is stored, update dropped", p.write.table().tableName(), p.item);
                finish(List.of(p), List.of(), List.of(), null);
            } else {
                failed(List.of(p), cause);
            }
        });
    }

    /** The UpdateItem request of a set change or conditional update; null for a put or delete. */
    private static UpdateItemRequest updateRequest(ItemWrite write) {
        if (write instanceof ItemWrite.AddToSet add) {
            UpdateItemRequest addition = setUpdate(add.table(), add.key(), "ADD", add.attribute(), add.values());
            return add.cap() > 0 && addition.updateExpression() != null
                    ? addition.toBuilder().returnValues(ReturnValue.UPDATED_NEW).build()
                    : addition;
        }
        if (write instanceof ItemWrite.RemoveFromSet remove) {
            return setUpdate(remove.table(), remove.key(), "DELETE", remove.attribute(), remove.values());
        }
        if (write instanceof ItemWrite.ConditionalUpdate update) {
            return UpdateItemRequest.builder()
                    .tableName(update.table().tableName())
                    .key(update.key())
                    .updateExpression(update.updateExpression())
                    .conditionExpression(update.conditionExpression())
                    .expressionAttributeNames(update.names())
                    .expressionAttributeValues(update.values())
                    .returnValues(ReturnValue.UPDATED_OLD)
                    .build();
        }
        return null;
    }

    /** After an addition that took a capped set over its cap, removes its oldest members. */
    private void trimIfOverfilled(ItemWrite.AddToSet add, UpdateItemResponse response) {
        AttributeValue set = response.attributes() == null ? null : response.attributes().get(add.attribute());
        if (add.cap() <= 0 || set == null || !set.hasSs() || set.ss().size() <= add.cap()) {
            return;
        }
        List<String> members = new ArrayList<>(set.ss());
        members.sort(add.order());
        Set<String> oldest = new LinkedHashSet<>(members.subList(0, members.size() - add.cap()));
        metrics.trimmed(add.table(), oldest.size());
        submit(new ItemWrite.RemoveFromSet(add.table(), add.key(), add.attribute(), oldest));
    }

    private static UpdateItemRequest setUpdate(Tables table, Map<String, AttributeValue> key, String action,
            String attribute, Set<String> values) {
        if (values.isEmpty()) {
            return UpdateItemRequest.builder().tableName(table.tableName()).key(key).build();
        }
        return UpdateItemRequest.builder()
                .tableName(table.tableName())
                .key(key)
                .updateExpression(action + " #set :values")
                .expressionAttributeNames(Map.of("#set", attribute))
                .expressionAttributeValues(Map.of(":values", AttributeValue.fromSs(List.copyOf(values))))
                .build();
    }

    private void failed(List<Pending> writes, Throwable cause) {
        lastError = errorCode(cause) + ": " + cause.getMessage();
        lastErrorAtMillis = System.currentTimeMillis();
        if (isRetryable(cause)) {
            Log.warnf("DynamoDB write of %d item(s) failed, will retry: %s", writes.size(), cause.toString());
            finish(List.of(), writes, List.of(), null);
        } else if (writes.size() > 1) {
            // One item spoils the batch: send each alone so that only the bad one is refused.
            for (Pending p : writes) {
                p.alone = true;
            }
            finish(List.of(), List.of(), writes, null);
        } else {
            Pending p = writes.get(0);
            metrics.failed(p.write.table(), errorCode(cause));
            Log.errorf("DynamoDB refused a write to %s (%s), dropped: %s", p.write.table().tableName(),
                    errorCode(cause), cause.getMessage());
            finish(List.of(), List.of(), List.of(), p);
        }
    }

    /**
     * Settles a finished request: {@code stored} writes complete, {@code retry} writes go back with a
     * delay, {@code again} go back at once, {@code refused} completes exceptionally.
     */
    private void finish(List<Pending> stored, List<Pending> retry, List<Pending> again, Pending refused) {
        List<CompletableFuture<Void>> admitted = new ArrayList<>();
        synchronized (lock) {
            requestsInFlight--;
            for (List<Pending> group : List.of(stored, retry, again)) {
                for (Pending p : group) {
                    busyItems.remove(p.item);
                    writesInFlight--;
                }
            }
            if (refused != null) {
                busyItems.remove(refused.item);
                writesInFlight--;
            }
            for (Pending p : retry) {
                p.attempts++;
                long delay = Math.min(maxRetryDelayMillis, FIRST_RETRY_DELAY.toMillis() << Math.min(p.attempts, 16));
                delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
                p.notBefore = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
                requeue(p);
            }
            if (!retry.isEmpty()) {
                metrics.retried(retry.size());
            }
            again.forEach(this::requeue);
            while (!admissionWaiters.isEmpty() && queue.size() + writesInFlight < maxPending) {
                admitted.add(admissionWaiters.poll());
            }
            if (queue.isEmpty() && writesInFlight == 0) {
                admitted.addAll(idleWaiters);
                idleWaiters.clear();
            }
        }
        for (Pending p : stored) {
            metrics.written(p.write.table(), 1);
            p.waiters.forEach(w -> w.complete(null));
        }
        if (refused != null) {
            RejectedWriteException error = new RejectedWriteException(refused.write.table(), refused.item);
            refused.waiters.forEach(w -> w.completeExceptionally(error));
        }
        admitted.forEach(w -> w.complete(null));
        sendReady();
    }

    /** Puts a write back in its place; a newer write queued meanwhile to the same item absorbs it. */
    private void requeue(Pending p) {
        Pending newer = byMergeKey.get(p.mergeKey);
        if (newer == null) {
            queue.put(p.sequence, p);
            byMergeKey.put(p.mergeKey, p);
            return;
        }
        newer.write = merge(p.write, newer.write);
        newer.waiters.addAll(p.waiters);
        queue.remove(newer.sequence);
        newer.sequence = p.sequence;
        newer.notBefore = Math.max(newer.notBefore, p.notBefore);
        queue.put(newer.sequence, newer);
    }

    private static <T> CompletableFuture<T> call(java.util.function.Supplier<CompletableFuture<T>> request) {
        try {
            return request.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The failure under CompletionException wrappers. */
    static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** Network trouble, throttling, server errors and missing tables pass; a refused request does not. */
    static boolean isRetryable(Throwable cause) {
        if (cause instanceof SdkClientException) {
            return true;
        }
        if (cause instanceof DynamoDbException e) {
            String code = errorCode(e);
            return e.statusCode() >= 500 || e.statusCode() == 0 || e.isThrottlingException()
                    || code.equals("ResourceNotFoundException") || code.equals("ProvisionedThroughputExceededException")
                    || code.equals("RequestLimitExceeded") || code.equals("ThrottlingException")
                    || code.equals("LimitExceededException") || code.equals("ResourceInUseException");
        }
        return !(cause instanceof IllegalArgumentException);
    }

    private static String errorCode(Throwable cause) {
        if (cause instanceof DynamoDbException e && e.awsErrorDetails() != null
                && e.awsErrorDetails().errorCode() != null) {
            return e.awsErrorDetails().errorCode();
        }
        return cause.getClass().getSimpleName();
    }

    /** A queued write with the futures of everyone waiting for it. */
    private static final class Pending {
        long sequence;
        final String item;
        final String mergeKey;
        ItemWrite write;
        final List<CompletableFuture<Void>> waiters = new ArrayList<>(1);
        int attempts;
        long notBefore = System.nanoTime();
        boolean alone;

        Pending(long sequence, String item, String mergeKey, ItemWrite write) {
            this.sequence = sequence;
            this.item = item;
            this.mergeKey = mergeKey;
            this.write = write;
        }
    }
}
