package io.mqttdynamo.delivery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.micrometer.core.instrument.Counter;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.broker.RetainedBrokerClient.Arrival;
import io.mqttdynamo.broker.RetainedBrokerClient.Retained;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.RejectedWriteException;
import io.mqttdynamo.store.RetainedReads;
import io.mqttdynamo.store.Rows;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * What one run of {@link RetainedSync} does, in two phases. Collecting: the broker's retained messages stream in
 * ({@link RetainedBrokerClient#retained}), each topic is remembered as a hash ({@link TopicHashSet}), and they are
 * checked against mqtt_retain 100 topics at a time; what the table lacks is stored through the write pipeline.
 * Republishing: a Scan of mqtt_retain finds the rows of topics the broker did not send, which are read 100 at a
 * time and republished with the retain flag, paced, once a check that their rows are still there.
 */
final class RetainedComparison {

    /** No retained message for this long, with none waiting to be checked: the broker sent its set. */
    static final Duration QUIET = Duration.ofSeconds(1);
    /** BatchGetItem's limit of keys. */
    static final int BATCH = 100;
    /** How long a batch of arrivals waits to fill: brokers send 20 to 32 at a time (their in-flight cap). */
    static final Duration BATCH_WAIT = Duration.ofMillis(10);
    /** Batches checked against the table at once. */
    static final int CHECKS_AT_ONCE = 4;
    /** Unacknowledged QoS 1 and 2 retained messages at most (the channels' receive maximum, if lower). */
    static final int COLLECT_WINDOW = 1_000;
    /** QoS 0 retained messages (not held back by the receive maximum) waiting to be checked at most. */
    static final int MAX_QUEUED_QOS0 = 10_000;
    /** Broker topics remembered at most: 64 MiB of hashes. */
    static final int MAX_TOPICS = 5_000_000;

    /** The broker retains more topics than a run remembers ({@value #MAX_TOPICS}). */
    static final class TooManyTopicsException extends RuntimeException {
        TooManyTopicsException() {
            super("the broker retains more than " + MAX_TOPICS + " topics: rows it lacks are not republished");
        }
    }

    private final RetainedBrokerClient broker;
    private final RetainedReads rows;
    private final WritePipeline pipeline;
    private final ItemMapper items;
    private final HookRules rules;
    private final HookRouter router;
    private final Duration collectTimeout;
    private final int republishRate;
    private final int checkBatch;
    private final Counter storedCounter;
    private final Counter republishedCounter;
    private final EmqxMsgId ids = new EmqxMsgId();
    /** The receive maximum of the collecting connection; widened for good when the broker overran it. */
    private volatile int window;

    RetainedComparison(
            RetainedBrokerClient broker,
            RetainedReads rows,
            WritePipeline pipeline,
            ItemMapper items,
            HookRules rules,
            HookRouter router,
            Duration collectTimeout,
            int republishRate,
            int checkBatch,
            int receiveMaximum,
            Counter storedCounter,
            Counter republishedCounter) {
        this.broker = broker;
        this.rows = rows;
        this.pipeline = pipeline;
        this.items = items;
        this.rules = rules;
        this.router = router;
        this.collectTimeout = collectTimeout;
        this.republishRate = republishRate;
        this.checkBatch = checkBatch;
        this.window = Math.min(COLLECT_WINDOW, receiveMaximum);
        this.storedCounter = storedCounter;
        this.republishedCounter = republishedCounter;
    }

    /** Both phases of {@code run}. */
    Uni<Void> run(RetainedRun run) {
        return collect(run, new TopicHashSet(MAX_TOPICS))
                .onFailure(RetainedBrokerClient.WindowOverrunException.class)
                .recoverWithUni(overrun -> {
                    Log.warnf(
                            "%s (a broker fault; Mosquitto 2.0.x does so); reading them again with the widest"
                                    + " window, %d, from now on. Set mqtt-dynamo.broker.receive-maximum=%d to avoid it.",
                            overrun.getMessage(),
                            RetainedBrokerClient.WIDEST_WINDOW,
                            RetainedBrokerClient.WIDEST_WINDOW);
                    window = RetainedBrokerClient.WIDEST_WINDOW;
                    // What was stored stays stored; the broker's set is read again from its start, once the
                    // stores under way are done (else it would find their rows missing and count them again).
                    run.brokerRetained.set(0);
                    run.checked.set(0);
                    return run.storesDone().chain(() -> collect(run, new TopicHashSet(MAX_TOPICS)));
                })
                .chain(seenOnBroker -> {
                    run.phase = "republishing";
                    return republishAbsent(run, seenOnBroker);
                });
    }

    /**
     * Phase 1: the broker's retained messages as they arrive, each topic remembered, checked 100 at a time
     * against mqtt_retain and stored when missing; a message is acknowledged once dealt with, so the receive
     * maximum bounds what waits in memory.
     */
    private Uni<TopicHashSet> collect(RetainedRun run, TopicHashSet seen) {
        return broker.retained(QUIET, collectTimeout, window, MAX_QUEUED_QOS0, topic -> {
                    if (router.isServiceTopic(topic)) {
                        // The replicas' own retained figures (mqtt-dynamo/cluster/+) are not the broker's users'.
                        return;
                    }
                    run.brokerRetained.incrementAndGet();
                    synchronized (seen) {
                        if (seen.size() >= MAX_TOPICS) {
                            run.tooManyTopics.set(true);
                        } else {
                            seen.add(topic);
                        }
                    }
                })
                .group()
                .intoLists()
                .of(BATCH, BATCH_WAIT)
                // The timed grouping does not wait for requests; what it holds is bounded by the receive
                // maximum and MAX_QUEUED_QOS0 already.
                .onOverflow()
                .bufferUnconditionally()
                .select()
                .where(batch -> !batch.isEmpty())
                .onItem()
                .transformToUni(batch -> check(run, batch))
                .merge(CHECKS_AT_ONCE)
                .collect()
                .last()
                .invoke(() -> {
                    if (run.tooManyTopics.get()) {
                        throw new TooManyTopicsException();
                    }
                })
                .replaceWith(seen);
    }

    /** True for a topic whose retained message is kept in step: not the service's own (replicas' figures). */
    private boolean inStep(String topic) {
        return rules.applies(HookFunction.ON_RETAIN_LOOKUP, topic) && !router.isServiceTopic(topic);
    }

    /** Stores the batch's messages that mqtt_retain lacks, then acknowledges the batch. */
    private Uni<Void> check(RetainedRun run, List<Arrival> batch) {
        if (run.leaseLost() != null) {
            return Uni.createFrom().failure(run.leaseLost());
        }
        if (run.tooManyTopics.get()) {
            return Uni.createFrom().failure(new TooManyTopicsException());
        }
        // BatchGetItem refuses a key twice; a topic is retained once, but its last arrival would win.
        Map<String, Retained> byTopic = new LinkedHashMap<>();
        for (Arrival arrival : batch) {
            if (inStep(arrival.message().topic())) {
                byTopic.put(arrival.message().topic(), arrival.message());
            }
        }
        Uni<Void> stored = byTopic.isEmpty()
                ? Uni.createFrom().voidItem()
                : rows.present(new ArrayList<>(byTopic.keySet())).chain(inTable -> {
                    long now = System.currentTimeMillis();
                    List<ItemWrite> writes = byTopic.values().stream()
                            .filter(m -> !inTable.contains(m.topic()))
                            .map(m -> items.retainedIfAbsent(new BrokerEvent.MessagePublished(
                                    ids.next(), m.topic(), m.qos(), true, "", m.payload(), now)))
                            .toList();
                    if (writes.isEmpty()) {
                        return Uni.createFrom().voidItem();
                    }
                    // Admission is the pipeline's back-pressure: the run waits as ingest does. Counted when stored,
                    // also after the run stopped waiting (a collection read again).
                    return run.storing(pipeline.admission()
                                    .chain(() -> pipeline.store(writes))
                                    .invoke(() -> {
                                        run.stored.addAndGet(writes.size());
                                        storedCounter.increment(writes.size());
                                    }))
                            // Refused for good (an item DynamoDB does not take): the others of the batch are stored.
                            .onFailure(RejectedWriteException.class)
                            .recoverWithItem(failure -> {
                                Log.warnf("a retained message was not stored: %s", failure.getMessage());
                                return null;
                            });
                });
        return stored.invoke(() -> {
            run.checked.addAndGet(batch.size());
            batch.forEach(arrival -> arrival.done().run());
        });
    }

    /** Phase 2: a Scan of mqtt_retain's topics; rows of topics not seen on the broker are republished. */
    private Uni<Void> republishAbsent(RetainedRun run, TopicHashSet seen) {
        Multi<Retained> absent = rows.topics()
                .invoke(topic -> run.tableRetained.incrementAndGet())
                .select()
                .where(topic -> {
                    synchronized (seen) {
                        return !seen.contains(topic);
                    }
                })
                .select()
                .where(this::inStep)
                .group()
                .intoLists()
                .of(BATCH)
                .onItem()
                .transformToUniAndConcatenate(rows::rows)
                .onItem()
                .transformToIterable(found -> found)
                .map(RetainedComparison::republishable)
                .invoke(message -> {
                    if (message == null) {
                        run.notRepublishable.incrementAndGet();
                    }
                })
                .select()
                .where(message -> message != null);
        return broker.republish(
                        absent,
                        republishRate,
                        checkBatch,
                        group -> run.leaseLost() == null
                                ? stillStored(group)
                                : Uni.createFrom().failure(run.leaseLost()),
                        sent -> {
                            run.republished.incrementAndGet();
                            republishedCounter.increment();
                        },
                        kept -> run.keptOnBroker.incrementAndGet())
                .replaceWithVoid();
    }

    /** The messages whose rows are still there unchanged (consistent read): a cleared one is not put back. */
    private Uni<List<Retained>> stillStored(List<Retained> messages) {
        return rows.msgIds(messages.stream().map(Retained::topic).distinct().toList())
                .map(msgIds -> messages.stream()
                        .filter(m -> msgIds.containsKey(m.topic())
                                && Objects.equals(msgIds.get(m.topic()), Objects.requireNonNullElse(m.msgId(), "")))
                        .toList());
    }

    /** The row as a message to republish; null when its payload was too large to store. */
    private static Retained republishable(Rows.Message row) {
        if (row.payload() == null || row.payload().length == 0) {
            return null;
        }
        return new Retained(
                row.topic(),
                row.payload(),
                Math.max(0, Math.min(2, row.qos())),
                row.msgId().isEmpty() ? null : row.msgId());
    }
}
