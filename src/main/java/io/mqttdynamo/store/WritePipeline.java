package io.mqttdynamo.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.config.LogFields;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.ReplicaIdentity;
import io.mqttdynamo.domain.ItemLimits;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/**
 * The single way into DynamoDB for ingest: takes item writes into the {@link WriteQueue} (per-item order,
 * folding), sends what the queue releases with at most {@code max-in-flight} requests at a time, retries
 * passing failures after the {@link RetryPolicy}'s delay, and pushes back on ingest while
 * {@code max-pending} writes wait.
 *
 * <p>The future of a write completes once DynamoDB has stored it or a later write to the same item that
 * replaced it, or exceptionally with {@link RejectedWriteException} when DynamoDB refuses that one item for
 * good (for example an item over 400 KB); the other writes of a refused batch are stored. A refusal that is not
 * about one item (permissions, credentials, a missing table: see {@link RetryPolicy}) fails no write: they are
 * retried for as long as it lasts, and {@link #admission()} takes no new work until DynamoDB accepts a write
 * again ({@link #refusal()} says why meanwhile).
 *
 * <p>Its timers (a batch's linger, a retry's delay) run on Mutiny's scheduler
 * ({@link Infrastructure#getDefaultWorkerPool()}), the one the service's delays all use (Mutiny's
 * {@code delayIt}, {@code ticks}, back-offs and time-outs schedule there): it needs no Vert.x context, so it works
 * alike in the service and in plain tests, and Quarkus runs its tasks on the managed worker pool.
 */
@ApplicationScoped
public class WritePipeline {

    private final DynamoDbAsyncClient dynamo;
    private final StoreMetrics metrics;
    private final RetryPolicy retryPolicy;
    private final int maxInFlight;
    private final int maxPending;
    /** This service's token attribute on the counter items (see {@link WriteRequests#writerAttribute}). */
    private final String writer;

    private final Object lock = new Object();
    /** Longest wait for a batch to fill while other requests are in flight. */
    private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private final WriteQueue queue;
    private boolean lingerSet;
    private final ArrayDeque<CompletableFuture<Void>> admissionWaiters = new ArrayDeque<>();
    private final List<CompletableFuture<Void>> idleWaiters = new ArrayList<>();
    private int requestsInFlight;
    private boolean draining;
    /** Due times (System.nanoTime) for which a retry timer is set. */
    private final Set<Long> timers = new LinkedHashSet<>();
    /** Why DynamoDB refuses every write right now, or null while it takes them. */
    private volatile Refusal refusal;
    /** The capped sets' members as far as known, so that a full set is trimmed without reading it. */
    private final KnownSetMembers knownSets = new KnownSetMembers(4096);
    /** Writes whose last answer was such a refusal: the refusal lasts until none is left. */
    private int refusedWrites;

    /** DynamoDB refusing writes for a reason outside the items: since when, and its answer. */
    public record Refusal(String code, String message, long sinceMillis) {

        /** One line for health data, logs and the dashboard. */
        public String describe() {
            return "DynamoDB refuses writes since " + java.time.Instant.ofEpochMilli(sinceMillis) + " (" + code + ": "
                    + message + "); retrying, no new message taken until it accepts them";
        }
    }

    public WritePipeline(DynamoDbAsyncClient dynamo, StoreMetrics metrics, MqttDynamoConfig config) {
        this.dynamo = dynamo;
        this.metrics = metrics;
        MqttDynamoConfig.Store store = config.store();
        this.queue = new WriteQueue(store.batchSize());
        this.maxInFlight = store.maxInFlight();
        this.maxPending = store.maxPending();
        this.retryPolicy = new RetryPolicy(store.maxRetryDelay());
        this.writer = WriteRequests.writerAttribute(ReplicaIdentity.clientIdBase(config));
        metrics.pendingGauge(this::pending);
        metrics.refusedGauge(() -> refusal == null ? 0 : 1);
    }

    /** Why DynamoDB refuses every write right now (nothing is lost; intake waits), if it does. */
    public Optional<Refusal> refusal() {
        return Optional.ofNullable(refusal);
    }

    /** Writes queued or in flight. */
    public int pending() {
        synchronized (lock) {
            return queue.size();
        }
    }

    /**
     * Completes when the pipeline takes more writes: at once while fewer than {@code max-pending} wait,
     * later otherwise (never once it drains for shutdown). Ingest waits on it before taking the next message,
     * which is its back-pressure.
     */
    public Uni<Void> admission() {
        return Uni.createFrom().completionStage(this::admitted);
    }

    /**
     * Queues all writes (at subscription); completes when every one is stored, fails when one is not (see the
     * class comment). Cancelling it does not take the writes back: they are stored all the same.
     */
    public Uni<Void> store(List<ItemWrite> writes) {
        // A copy for Mutiny, which cancels the stage it was given when its subscriber cancels
        // (UniCreateFromCompletionStage): the futures of the writes themselves are the queue's.
        return Uni.createFrom().completionStage(() -> submitAll(writes).copy());
    }

    /** {@link #admission()} as the pipeline keeps it. */
    CompletionStage<Void> admitted() {
        synchronized (lock) {
            if (draining) {
                // Shutting down: what is not taken now stays unacknowledged and the broker redelivers it.
                return new CompletableFuture<>();
            }
            if (queue.size() < maxPending && refusal == null) {
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
    public Uni<Void> drain() {
        return Uni.createFrom().completionStage(this::idle);
    }

    private CompletableFuture<Void> idle() {
        synchronized (lock) {
            draining = true;
            admissionWaiters.clear();
            if (queue.size() == 0) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> idle = new CompletableFuture<>();
            idleWaiters.add(idle);
            return idle;
        }
    }

    /** Queues all writes; the result completes when every one is stored (or refused, see class doc). */
    CompletableFuture<Void> submitAll(List<ItemWrite> writes) {
        if (writes.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] futures = new CompletableFuture[writes.size()];
        synchronized (lock) {
            for (int i = 0; i < futures.length; i++) {
                CompletableFuture<Void> done = new CompletableFuture<>();
                ItemWrite write = writes.get(i);
                Optional<String> keyProblem = KeyLimits.problem(write.table(), write.key());
                if (keyProblem.isPresent()) {
                    refuseUpFront(write, keyProblem.get(), done);
                } else {
                    queue.add(write, done);
                }
                futures[i] = done;
            }
        }
        sendReady();
        return futures.length == 1 ? futures[0] : all(futures);
    }

    /**
     * Completes when every write has: normally when all were stored, else with one failure, one that is not
     * a refusal when there is such ({@code allOf} would report any one, and a message whose write failed
     * inside the service must not be acknowledged because another write of it was refused).
     */
    private static CompletableFuture<Void> all(CompletableFuture<?>[] futures) {
        CompletableFuture<Void> all = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(futures.length);
        java.util.concurrent.atomic.AtomicReference<Throwable> worst =
                new java.util.concurrent.atomic.AtomicReference<>();
        for (CompletableFuture<?> future : futures) {
            future.whenComplete((ok, failure) -> {
                if (failure != null) {
                    Throwable cause = RetryPolicy.unwrap(failure);
                    worst.accumulateAndGet(
                            cause,
                            (seen, next) -> seen == null
                                            || seen instanceof RejectedWriteException
                                                    && !(next instanceof RejectedWriteException)
                                    ? next
                                    : seen);
                }
                if (left.decrementAndGet() == 0) {
                    Throwable failed = worst.get();
                    if (failed == null) {
                        all.complete(null);
                    } else {
                        all.completeExceptionally(failed);
                    }
                }
            });
        }
        return all;
    }

    /** A write DynamoDB would refuse by its documented limits is refused here, as DynamoDB would: counted, logged. */
    private void refuseUpFront(ItemWrite write, String problem, CompletableFuture<Void> done) {
        metrics.failed(write.table(), "KeyLimit");
        try (LogFields fields = LogFields.of(LogFields.TABLE, write.table().tableName())) {
            Log.errorf(
                    "a write to %s breaks DynamoDB's key limits (%s), dropped",
                    write.table().tableName(), problem);
        }
        done.completeExceptionally(new RejectedWriteException(write.table(), problem));
    }

    /** Sends what the queue releases, as many requests as free slots allow. */
    private void sendReady() {
        sendReady(false);
    }

    /**
     * While other requests are in flight, a batch that is not full waits a moment for more writes (the
     * next completion, new writes, or {@link #LINGER_NANOS} at most): fewer, fuller requests cost the
     * service and DynamoDB less per item. With nothing in flight, it goes at once.
     */
    private void sendReady(boolean lingered) {
        List<WriteQueue.Outgoing> outgoing;
        synchronized (lock) {
            int slots = maxInFlight - requestsInFlight;
            if (slots <= 0) {
                return;
            }
            boolean fullBatchesOnly = !lingered && requestsInFlight > 0;
            outgoing = queue.take(System.nanoTime(), slots, fullBatchesOnly);
            requestsInFlight += outgoing.size();
            scheduleRetryTimer();
            if (fullBatchesOnly && queue.batchWaiting() && !lingerSet) {
                lingerSet = true;
                Infrastructure.getDefaultWorkerPool()
                        .schedule(
                                () -> {
                                    synchronized (lock) {
                                        lingerSet = false;
                                    }
                                    sendReady(true);
                                },
                                LINGER_NANOS,
                                TimeUnit.NANOSECONDS);
            }
        }
        for (WriteQueue.Outgoing request : outgoing) {
            if (request.batch() || !(isUpdate(request.writes().get(0).write()))) {
                sendBatch(request.writes());
            } else {
                sendUpdate(request.writes().get(0));
            }
        }
    }

    /** The members of {@code ids} beyond the newest {@code keep}, in the set's order (oldest first). */
    private static List<String> oldestBeyond(Collection<String> ids, ItemWrite.AddToSet set, int keep) {
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(set.order());
        return sorted.subList(0, Math.max(0, sorted.size() - keep));
    }

    private static boolean isUpdate(ItemWrite write) {
        return !(write instanceof ItemWrite.Put || write instanceof ItemWrite.Delete);
    }

    /** One timer per due time: a retry that is due sooner than every timer set gets its own. */
    private void scheduleRetryTimer() {
        OptionalLong due = queue.nextDue();
        if (due.isEmpty() || timers.stream().anyMatch(t -> t - due.getAsLong() <= 0)) {
            return;
        }
        long dueAt = due.getAsLong();
        timers.add(dueAt);
        long delayNanos = Math.max(0, dueAt - System.nanoTime());
        Infrastructure.getDefaultWorkerPool()
                .schedule(
                        () -> {
                            synchronized (lock) {
                                timers.remove(dueAt);
                            }
                            sendReady();
                        },
                        delayNanos,
                        TimeUnit.NANOSECONDS);
    }

    private void sendBatch(List<WriteQueue.Sent> batch) {
        List<ItemWrite> writes = new ArrayList<>(batch.size());
        for (WriteQueue.Sent sent : batch) {
            writes.add(sent.write());
        }
        metrics.batch(batch.size());
        long started = System.nanoTime();
        call(() -> dynamo.batchWriteItem(WriteRequests.batch(writes))).whenComplete((response, failure) -> {
            metrics.latency(System.nanoTime() - started);
            if (failure == null) {
                batchDone(batch, response);
            } else {
                failed(batch, RetryPolicy.unwrap(failure));
            }
        });
    }

    private void batchDone(List<WriteQueue.Sent> batch, BatchWriteItemResponse response) {
        if (response.hasConsumedCapacity()) {
            metrics.consumed(response.consumedCapacity());
        }
        Set<String> unprocessed = WriteRequests.unprocessed(response);
        List<WriteQueue.Sent> stored = new ArrayList<>(batch.size());
        List<WriteQueue.Sent> retry = new ArrayList<>(unprocessed.size());
        for (WriteQueue.Sent sent : batch) {
            (unprocessed.contains(sent.item()) ? retry : stored).add(sent);
        }
        settle(stored, retry, List.of(), null, null);
    }

    private void sendUpdate(WriteQueue.Sent sent) {
        if (sent.write() instanceof ItemWrite.AddToSet add
                && add.cap() > 0
                && add.values().size() > add.cap()) {
            // Folded additions of a burst: only the newest cap of them can stay, the rest are trimmed now.
            List<String> oldest = oldestBeyond(add.values(), add, add.cap());
            metrics.trimmed(add.table(), oldest.size());
            oldest.forEach(add.values()::remove);
            withoutMarkCondition(sent, add);
        }
        if (sent.write() instanceof ItemWrite.AddToSet add && add.values().isEmpty()
                || sent.write() instanceof ItemWrite.RemoveFromSet remove
                        && remove.values().isEmpty()) {
            // Everything it would add was trimmed (older than what the set keeps), or nothing is left to remove:
            // done without a request (DynamoDB refuses an empty set).
            settle(List.of(sent), List.of(), List.of(), null, null);
            return;
        }
        long started = System.nanoTime();
        call(() -> dynamo.updateItem(WriteRequests.update(sent.write(), writer)))
                .whenComplete((response, failure) -> {
                    metrics.latency(System.nanoTime() - started);
                    Throwable cause = failure == null ? null : RetryPolicy.unwrap(failure);
                    if (cause == null) {
                        CompletableFuture<Void> then;
                        try {
                            then = applied(sent, response);
                        } catch (RuntimeException e) {
                            // A fault of the service's own in what follows the write (a Then, a counter): the write
                            // fails
                            // with it, its message stays unacknowledged.
                            failed(List.of(sent), e);
                            return;
                        }
                        settle(List.of(sent), List.of(), List.of(), null, null, then);
                    } else if (cause instanceof ConditionalCheckFailedException) {
                        conditionFailed(sent);
                    } else {
                        failed(List.of(sent), cause);
                    }
                });
    }

    /**
     * Bookkeeping of an update DynamoDB applied, and the writes that must follow it (counters, its Thens) before
     * it counts as stored; null for none.
     */
    private CompletableFuture<Void> applied(WriteQueue.Sent sent, UpdateItemResponse response) {
        metrics.consumed(response.consumedCapacity());
        synchronized (lock) {
            if (sent.write() instanceof ItemWrite.AddToSet add && add.cap() > 0) {
                knownSets.added(sent.item(), add.attribute(), add.values());
            } else if (sent.write() instanceof ItemWrite.RemoveFromSet remove) {
                knownSets.removed(sent.item(), remove.attribute(), remove.values());
            } else {
                knownSets.forget(sent.item());
            }
        }
        CompletableFuture<Void> counted = null;
        if (sent.write() instanceof ItemWrite.ConditionalUpdate update) {
            if (!response.hasAttributes()) {
                metrics.itemCreated(sent.write().table());
            }
            ItemWrite.Count count = update.presence() == null
                    ? null
                    : update.presence().countOf(response.hasAttributes() ? response.attributes() : Map.of());
            counted = count(count);
        }
        // What the write's own Then decides from the answer is stored before the write counts as stored.
        // A removal with Thens is made only while its values are members (WriteRequests#update): the item held them.
        List<ItemWrite> next = ItemWrite.followUps(
                sent.write(),
                sent.write() instanceof ItemWrite.RemoveFromSet remove
                        ? Map.of(remove.attribute(), AttributeValue.fromSs(List.copyOf(remove.values())))
                        : response.hasAttributes() ? response.attributes() : Map.of());
        if (!next.isEmpty()) {
            counted = counted == null ? submitAll(next) : CompletableFuture.allOf(counted, submitAll(next));
        }
        return counted;
    }

    /**
     * The counters follow a state change that really happened, through the pipeline (ordered per counter item,
     * retried); the event counts as stored once they are. Null for no change.
     */
    private CompletableFuture<Void> count(ItemWrite.Count count) {
        return count == null ? null : submitAll(List.of(count));
    }

    /**
     * A condition failed. A set change: the set has no room, or a value is marked or not a member (see
     * {@link #trimBefore}, {@link #markedOrFull}, {@link #notAllMembers}). On a first try: a newer state is
     * stored (a client update), dropped. On a retry, the
     * earlier try may have been applied with its answer lost (a time-out, a 500): a counter change then is
     * stored already, and a client update is counted from what it replaced, read back from the item.
     */
    private void conditionFailed(WriteQueue.Sent sent) {
        if (sent.write() instanceof ItemWrite.AddToSet add) {
            trimBefore(sent, add);
            return;
        }
        if (sent.write() instanceof ItemWrite.RemoveFromSet remove) {
            notAllMembers(sent, remove);
            return;
        }
        boolean retried = WriteQueue.attempts(sent) > 0;
        if (retried && sent.write() instanceof ItemWrite.Count) {
            Log.debugf("%s: a counter change applied before its answer was lost", sent.item());
            settle(List.of(sent), List.of(), List.of(), null, null);
            return;
        }
        if (retried && sent.write() instanceof ItemWrite.ConditionalUpdate update && update.presence() != null) {
            call(() -> dynamo.getItem(b -> b.tableName(update.table().tableName())
                            .key(update.key())
                            .consistentRead(true)))
                    .whenComplete((item, failure) -> {
                        if (failure != null) {
                            failed(List.of(sent), RetryPolicy.unwrap(failure));
                            return;
                        }
                        Map<String, AttributeValue> stored = item.hasItem() ? item.item() : Map.of();
                        AttributeValue token = stored.get(Tables.Attr.WRITE_TOKEN);
                        if (token != null && update.presence().token().equals(token.s())) {
                            Log.debugf("%s: a state update applied before its answer was lost", sent.item());
                            settle(
                                    List.of(sent),
                                    List.of(),
                                    List.of(),
                                    null,
                                    null,
                                    count(update.presence().countOfApplied(stored)));
                        } else {
                            stale(sent);
                        }
                    });
            return;
        }
        stale(sent);
    }

    private void stale(WriteQueue.Sent sent) {
        metrics.stale();
        Log.debugf("%s: a newer state is stored, update dropped", sent.item());
        settle(List.of(sent), List.of(), List.of(), null, null);
    }

    /**
     * A capped set had no room for the addition (its condition failed): the set is read, and the oldest
     * members are removed in one step before the addition goes again, so that the set keeps half its cap plus
     * what is added. Trimming in steps keeps the item small without reading it on every addition: one read and
     * one removal every cap/2 additions (see {@link WriteRequests#update}).
     */
    private void trimBefore(WriteQueue.Sent sent, ItemWrite.AddToSet add) {
        Optional<Set<String>> known;
        synchronized (lock) {
            known = knownSets.get(sent.item(), add.attribute());
        }
        if (known.isPresent() && known.get().size() + add.values().size() > add.cap()) {
            trimBefore(sent, add, known.get());
            return;
        }
        if (add.unlessIn() != null) {
            markedOrFull(sent, add);
            return;
        }
        readThen(sent, add.table(), add.key(), List.of(add.attribute()), item -> {
            List<String> members = strings(item.get(add.attribute()));
            synchronized (lock) {
                knownSets.read(sent.item(), add.attribute(), members);
            }
            trimBefore(sent, add, members);
        });
    }

    /**
     * An addition made only while none of its values is marked failed its condition, and the set as known here
     * has room: a value is marked, or the set has no room after all. The item is read (the set and the marks).
     * Marked values are not added: what their {@code then} decides from the item follows, and the others are
     * added again (the addition counts as stored once both are). Without a marked value, the set is trimmed
     * first when it has no room, else the addition goes again (a mark that was there has gone).
     */
    private void markedOrFull(WriteQueue.Sent sent, ItemWrite.AddToSet add) {
        readThen(sent, add.table(), add.key(), List.of(add.attribute(), add.unlessIn()), item -> {
            AttributeValue marks = item.get(add.unlessIn());
            Set<String> marked = new LinkedHashSet<>(add.values());
            marked.retainAll(strings(marks));
            List<String> members = strings(item.get(add.attribute()));
            synchronized (lock) {
                knownSets.read(sent.item(), add.attribute(), members);
            }
            ItemWrite.AddToSet addition = add;
            if (!marked.isEmpty()) {
                List<ItemWrite> next = ItemWrite.followUps(sent.write(), item);
                CompletableFuture<Void> following = next.isEmpty() ? null : submitAll(next);
                add.values().removeAll(marked);
                if (add.values().isEmpty()) {
                    settle(List.of(sent), List.of(), List.of(), null, null, following);
                    return;
                }
                if (following != null) {
                    synchronized (lock) {
                        sent.alsoWaitFor(following);
                    }
                }
            }
            if (marks != null && marks.hasSs() && add.values().size() > ItemLimits.CONDITIONED_SET_CHANGE_MAX) {
                // Too many values to name in the condition, and the item has marks: this addition goes
                // without the condition and answers with the item after it, for its Thens to decide.
                addition = add.withoutUnlessIn();
                synchronized (lock) {
                    sent.replaceWrite(addition);
                }
            }
            if (members.size() + addition.values().size() > addition.cap()) {
                trimBefore(sent, addition, members);
                return;
            }
            synchronized (lock) {
                requestsInFlight--;
                queue.sendFirst(sent, null);
            }
            sendReady();
        });
    }

    /**
     * A removal made only while all its values are members failed its condition: the set is read, the values that
     * are members are removed after it, and its {@code then} decides from the set as read; all of that is stored
     * before the removal counts as stored.
     */
    private void notAllMembers(WriteQueue.Sent sent, ItemWrite.RemoveFromSet remove) {
        readThen(sent, remove.table(), remove.key(), List.of(remove.attribute()), item -> {
            Set<String> members = new LinkedHashSet<>(remove.values());
            members.retainAll(strings(item.get(remove.attribute())));
            // The members leave the set first, then what the Thens decide (deleting a message's
            // item, which must not go while its msgid is still pending).
            List<ItemWrite> next = ItemWrite.followUps(sent.write(), item);
            CompletableFuture<Void> removed = members.isEmpty()
                    ? CompletableFuture.completedFuture(null)
                    : submitAll(List.of(
                            new ItemWrite.RemoveFromSet(remove.table(), remove.key(), remove.attribute(), members)));
            CompletableFuture<Void> following = next.isEmpty() ? removed : removed.thenCompose(done -> submitAll(next));
            settle(List.of(sent), List.of(), List.of(), null, null, following);
        });
    }

    /**
     * An addition made unless its values are marked lost some values to a trim: those are not named in its
     * condition any more, yet a mark of one must still be found (its message was acknowledged early). So it goes
     * without that condition and answers with the item after it, from which its Thens decide for every value.
     */
    private void withoutMarkCondition(WriteQueue.Sent sent, ItemWrite.AddToSet add) {
        if (add.unlessIn() == null) {
            return;
        }
        synchronized (lock) {
            sent.replaceWrite(add.withoutUnlessIn());
        }
    }

    /**
     * Reads {@code attributes} of a write's item (a consistent read), then {@code decide}s from them; a failed read,
     * or a fault of the service's own in deciding, fails the write.
     */
    private void readThen(
            WriteQueue.Sent sent,
            Tables table,
            Map<String, AttributeValue> key,
            List<String> attributes,
            Consumer<Map<String, AttributeValue>> decide) {
        Map<String, String> names = new HashMap<>();
        for (int i = 0; i < attributes.size(); i++) {
            names.put("#a" + i, attributes.get(i));
        }
        call(() -> dynamo.getItem(b -> b.tableName(table.tableName())
                        .key(key)
                        .consistentRead(true)
                        .projectionExpression(String.join(", ", names.keySet()))
                        .expressionAttributeNames(names)))
                .whenComplete((response, failure) -> {
                    if (failure != null) {
                        failed(List.of(sent), RetryPolicy.unwrap(failure));
                        return;
                    }
                    try {
                        decide.accept(response.hasItem() ? response.item() : Map.of());
                    } catch (RuntimeException e) {
                        failed(List.of(sent), e);
                    }
                });
    }

    /** The members of a string-set attribute; none when it is absent. */
    private static List<String> strings(AttributeValue set) {
        return set != null && set.hasSs() ? set.ss() : List.of();
    }

    /** Removes the oldest of {@code members} and of the addition's values, so that half the cap is left. */
    private void trimBefore(WriteQueue.Sent sent, ItemWrite.AddToSet add, Collection<String> members) {
        List<String> all = new ArrayList<>(members);
        all.addAll(add.values());
        int keep = Math.max(add.values().size(), add.cap() - add.cap() / 2);
        Set<String> removed = new LinkedHashSet<>(oldestBeyond(all, add, keep));
        metrics.trimmed(add.table(), removed.size());
        int adding = add.values().size();
        add.values().removeAll(removed);
        if (add.values().size() < adding) {
            withoutMarkCondition(sent, add);
        }
        removed.retainAll(members);
        synchronized (lock) {
            requestsInFlight--;
            queue.sendFirst(
                    sent,
                    removed.isEmpty()
                            ? null
                            : new ItemWrite.RemoveFromSet(add.table(), add.key(), add.attribute(), removed));
        }
        sendReady();
    }

    private void failed(List<WriteQueue.Sent> writes, Throwable cause) {
        String code = RetryPolicy.errorCode(cause);
        metrics.error(code + ": " + cause.getMessage());
        RetryPolicy.Verdict verdict = RetryPolicy.verdict(cause);
        metrics.requestFailed(code, verdict);
        switch (verdict) {
            case PASSING -> {
                Log.warnf("DynamoDB write of %d item(s) failed, will retry: %s", writes.size(), cause.toString());
                settle(List.of(), writes, List.of(), null, null);
            }
            case SYSTEMIC -> {
                refused(writes, code, cause);
                settle(List.of(), writes, List.of(), null, null);
            }
            case ITEM -> {
                if (writes.size() > 1) {
                    // One item spoils the batch: send each alone so that only the bad one is refused.
                    settle(List.of(), List.of(), writes, null, null);
                } else {
                    WriteQueue.Sent refused = writes.get(0);
                    metrics.failed(refused.write().table(), code);
                    try (LogFields fields = LogFields.of(
                            LogFields.TABLE, refused.write().table().tableName())) {
                        Log.errorf(
                                "DynamoDB refused an item of %s for good (%s), dropped: %s",
                                refused.write().table().tableName(), code, cause.getMessage());
                    }
                    settle(
                            List.of(),
                            List.of(),
                            List.of(),
                            refused,
                            new RejectedWriteException(refused.write().table(), refused.item()));
                }
            }
            case INTERNAL -> {
                if (writes.size() > 1) {
                    // Sent alone, each write fails or goes through on its own.
                    settle(List.of(), List.of(), writes, null, null);
                    return;
                }
                // Not DynamoDB's answer but a fault of the service itself: the write fails with it, so that its
                // message is not acknowledged.
                WriteQueue.Sent failed = writes.get(0);
                metrics.failed(failed.write().table(), code);
                try (LogFields fields =
                        LogFields.of(LogFields.TABLE, failed.write().table().tableName())) {
                    Log.errorf(
                            cause,
                            "a write to %s failed before DynamoDB answered",
                            failed.write().table().tableName());
                }
                settle(List.of(), List.of(), List.of(), failed, cause);
            }
        }
    }

    /** DynamoDB refuses writes for a reason outside the items: said once, loudly, until it takes one again. */
    private void refused(List<WriteQueue.Sent> writes, String code, Throwable cause) {
        Refusal now = null;
        synchronized (lock) {
            for (WriteQueue.Sent sent : writes) {
                if (!sent.refusedLast()) {
                    sent.refusedLast(true);
                    refusedWrites++;
                }
            }
            if (refusal == null) {
                refusal = now = new Refusal(code, String.valueOf(cause.getMessage()), System.currentTimeMillis());
            }
        }
        if (now != null) {
            Log.errorf(
                    "%s. Nothing is acknowledged or dropped; check the service's DynamoDB permissions, credentials"
                            + " and tables.",
                    now.describe());
        } else {
            Log.debugf("DynamoDB still refuses writes: %s", cause.toString());
        }
    }

    /**
     * Settles a finished request: {@code stored} writes complete, {@code retry} writes go back with a delay,
     * {@code alone} go back at once to be sent one by one, {@code refused} completes exceptionally with
     * {@code error}.
     */
    private void settle(
            List<WriteQueue.Sent> stored,
            List<WriteQueue.Sent> retry,
            List<WriteQueue.Sent> alone,
            WriteQueue.Sent refused,
            Throwable error) {
        settle(stored, retry, alone, refused, error, null);
    }

    /** ... and {@code then}, if any, is a follow-up write that the stored writes' waiters wait for too. */
    private void settle(
            List<WriteQueue.Sent> stored,
            List<WriteQueue.Sent> retry,
            List<WriteQueue.Sent> alone,
            WriteQueue.Sent refused,
            Throwable error,
            CompletableFuture<Void> then) {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        List<CompletableFuture<Void>> failed = List.of();
        List<CompletableFuture<Void>> admitted = new ArrayList<>();
        Refusal ended = null;
        synchronized (lock) {
            requestsInFlight--;
            for (WriteQueue.Sent sent : stored) {
                accepted(sent);
                done.addAll(queue.stored(sent));
            }
            long now = System.nanoTime();
            for (WriteQueue.Sent sent : retry) {
                long delay = retryPolicy.delayMillis(WriteQueue.attempts(sent));
                queue.retryAfter(sent, now + TimeUnit.MILLISECONDS.toNanos(delay));
            }
            alone.forEach(queue::sendAlone);
            if (refused != null) {
                accepted(refused);
                failed = queue.refused(refused);
            }
            // Every write DynamoDB refused is judged now (stored, or refused as an item), or nothing is left to
            // try: intake goes on.
            if (this.refusal != null && (refusedWrites == 0 || queue.size() == 0)) {
                refusedWrites = 0;
                ended = this.refusal;
                this.refusal = null;
            }
            while (this.refusal == null && !admissionWaiters.isEmpty() && queue.size() < maxPending) {
                admitted.add(admissionWaiters.poll());
            }
            if (queue.size() == 0) {
                admitted.addAll(idleWaiters);
                idleWaiters.clear();
            }
        }
        if (ended != null) {
            Log.infof(
                    "DynamoDB accepts writes again after %d s",
                    (System.currentTimeMillis() - ended.sinceMillis()) / 1000);
        }
        if (!retry.isEmpty()) {
            metrics.retried(retry.size());
        }
        for (WriteQueue.Sent sent : stored) {
            metrics.written(sent.write().table(), 1);
        }
        if (then == null) {
            done.forEach(w -> w.complete(null));
        } else {
            then.whenComplete((ok, thenFailed) -> done.forEach(w -> {
                if (thenFailed == null) {
                    w.complete(null);
                } else {
                    w.completeExceptionally(thenFailed);
                }
            }));
        }
        failed.forEach(w -> w.completeExceptionally(error));
        admitted.forEach(w -> w.complete(null));
        sendReady();
    }

    /** The write got DynamoDB's judgement: it no longer holds a refusal up. Called under the lock. */
    private void accepted(WriteQueue.Sent sent) {
        if (sent.refusedLast()) {
            sent.refusedLast(false);
            refusedWrites--;
        }
    }

    private static <T> CompletableFuture<T> call(java.util.function.Supplier<CompletableFuture<T>> request) {
        try {
            return request.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
