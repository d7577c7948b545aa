package io.mqttdynamo.store;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;

/** The lease of a job one replica at a time runs: an item {@code lease#<job>} of mqtt_dynamo_stats. */
public final class ClusterLease {

    /** The item's holder. */
    static final String OWNER = "lease_owner";
    /** Until when the holder holds it, epoch milliseconds by the holder's clock. */
    static final String UNTIL = "lease_until";

    /** Another replica holds the lease. */
    public static final class HeldElsewhereException extends RuntimeException {
        private final String holder;
        private final long untilMillis;

        HeldElsewhereException(String job, String holder, long untilMillis) {
            super("replica " + holder + " holds the lease of " + job + " (until "
                    + java.time.Instant.ofEpochMilli(untilMillis) + ")");
            this.holder = holder;
            this.untilMillis = untilMillis;
        }

        public String holder() {
            return holder;
        }

        /** Until when it holds it unless renewed (epoch milliseconds). */
        public long untilMillis() {
            return untilMillis;
        }
    }

    /** The lease item as read: its last holder and until when it holds it (0: given up). */
    public record State(String owner, long untilMillis) {
        /** Given up by its holder, or never taken. */
        public boolean released() {
            return owner == null || untilMillis == 0;
        }
    }

    private final DynamoDbAsyncClient dynamo;
    private final String job;
    private final String owner;
    private final Duration term;

    /**
     * @param owner this replica's name, unique across the replicas running now
     * @param term how long a take or renewal holds it: a dead holder blocks the job this long at most; clocks
     *     of the replicas must agree to well within it
     */
    public ClusterLease(DynamoDbAsyncClient dynamo, String job, String owner, Duration term) {
        this.dynamo = dynamo;
        this.job = job;
        this.owner = owner;
        this.term = term;
    }

    public String owner() {
        return owner;
    }

    private Map<String, AttributeValue> key() {
        return Map.of(Tables.Attr.NAME, AttributeValue.fromS("lease#" + job));
    }

    /**
     * Takes the lease with a conditional write (the item is free, expired or already this holder's) and renews
     * it every third of its term until {@link Held#release()}; fails with {@link HeldElsewhereException} while
     * another replica holds it. A holder that dies leaves it to expire.
     */
    public Uni<Held> take() {
        return Uni.createFrom()
                .completionStage(
                        () -> write("attribute_not_exists(#o) OR #u < :now OR #o = :me", "SET #o = :me, #u = :until"))
                .map(nothing -> {
                    Held held = new Held();
                    held.renewals = Uni.createFrom()
                            .voidItem()
                            .onItem()
                            .delayIt()
                            .by(term.dividedBy(3))
                            .chain(held::renew)
                            .repeat()
                            .until(more -> !more)
                            .subscribe()
                            .with(
                                    done -> {},
                                    failure ->
                                            Log.warnf("lease of %s: renewals stopped: %s", job, failure.getMessage()));
                    return held;
                })
                .onFailure(ConditionalCheckFailedException.class)
                .recoverWithUni(taken -> holder().chain(item -> Uni.createFrom()
                        .failure(new HeldElsewhereException(
                                job,
                                item.containsKey(OWNER) ? item.get(OWNER).s() : "?",
                                item.containsKey(UNTIL)
                                        ? Long.parseLong(item.get(UNTIL).n())
                                        : 0))));
    }

    /** Who holds the lease and until when (a consistent read). */
    public Uni<State> state() {
        return holder().map(item -> new State(
                item.containsKey(OWNER) ? item.get(OWNER).s() : null,
                item.containsKey(UNTIL) ? Long.parseLong(item.get(UNTIL).n()) : 0));
    }

    /** The lease item as it is now (a consistent read; only when the take was refused). */
    private Uni<Map<String, AttributeValue>> holder() {
        return Uni.createFrom()
                .completionStage(() -> dynamo.getItem(
                        b -> b.tableName(Tables.STATS.tableName()).key(key()).consistentRead(true)))
                .map(GetItemResponse::item);
    }

    /** A conditional UpdateItem of the lease item ({@code :until} = now + term); fails when the condition does. */
    private CompletableFuture<Long> write(String condition, String update) {
        long now = System.currentTimeMillis();
        long until = now + term.toMillis();
        return dynamo.updateItem(b -> b.tableName(Tables.STATS.tableName())
                        .key(key())
                        .updateExpression(update)
                        .conditionExpression(condition)
                        .expressionAttributeNames(Map.of("#o", OWNER, "#u", UNTIL))
                        .expressionAttributeValues(
                                condition.contains(":now")
                                        ? Map.of(":me", AttributeValue.fromS(owner), ":until", n(until), ":now", n(now))
                                        : Map.of(":me", AttributeValue.fromS(owner), ":until", n(until))))
                .thenApply(response -> until);
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    private static Throwable cause(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    /** The lease while this replica holds it. */
    public final class Held {
        private volatile long until = System.currentTimeMillis() + term.toMillis();
        private volatile boolean released;
        private volatile boolean lost;
        private volatile Cancellable renewals;

        /**
         * True once this replica can no longer be sure it holds the lease (another took it, or no renewal got
         * through before it ran out): the job must stop, as another replica may run it.
         */
        public boolean lost() {
            return lost || System.currentTimeMillis() >= until;
        }

        /** One renewal; true while renewals are to go on. */
        private Uni<Boolean> renew() {
            if (released || lost) {
                return Uni.createFrom().item(false);
            }
            return Uni.createFrom()
                    .completionStage(() -> write("#o = :me", "SET #u = :until"))
                    .map(next -> {
                        until = next;
                        return true;
                    })
                    .onFailure()
                    .recoverWithItem(failure -> {
                        if (cause(failure) instanceof ConditionalCheckFailedException) {
                            lost = true;
                            Log.warnf("lease of %s: another replica took it", job);
                            return false;
                        }
                        // A passing failure: the next renewal tries again while the lease lasts.
                        Log.warnf("lease of %s not renewed (%s)", job, failure.getMessage());
                        return !lost();
                    });
        }

        /**
         * Gives the lease up (when still this replica's), so that another replica may run the job at once. Renewals
         * stop at once; the Uni, once subscribed, completes when DynamoDB answered (never fails: a lease not given
         * up expires).
         */
        public Uni<Void> release() {
            released = true;
            Cancellable timer = renewals;
            if (timer != null) {
                timer.cancel();
            }
            return Uni.createFrom()
                    .completionStage(() -> dynamo.updateItem(b -> b.tableName(Tables.STATS.tableName())
                            .key(key())
                            .updateExpression("SET #u = :zero")
                            .conditionExpression("#o = :me")
                            .expressionAttributeNames(Map.of("#o", OWNER, "#u", UNTIL))
                            .expressionAttributeValues(Map.of(":me", AttributeValue.fromS(owner), ":zero", n(0)))))
                    .onFailure()
                    .recoverWithItem(failure -> {
                        if (!(cause(failure) instanceof ConditionalCheckFailedException)) {
                            Log.warnf(
                                    "lease of %s not given up (%s): it expires within %s",
                                    job, failure.getMessage(), term);
                        }
                        return null;
                    })
                    .replaceWithVoid();
        }
    }
}
