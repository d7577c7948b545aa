package io.mqttdynamo.delivery;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.broker.RetainedBrokerClient.Arrival;
import io.mqttdynamo.broker.RetainedBrokerClient.Retained;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.ClusterLease;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.RejectedWriteException;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.store.Tables.Attr;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import mutiny.zero.flow.adapters.AdaptersToFlow;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * on_retain_lookup for a service beside the broker: keeps the broker's retained messages and mqtt_retain in
 * step. The broker's set streams in through a short-lived non-shared subscription to {@code #} (retained
 * messages are not sent to {@code $share} subscriptions) and is checked against mqtt_retain 100 topics at a
 * time (BatchGetItem); what the table lacks is stored through the write pipeline. The broker's topics are
 * remembered as hashes ({@link TopicHashSet}); then a Scan of mqtt_retain finds the rows the broker lacks,
 * which are read 100 at a time and republished with the retain flag, paced. Runs on
 * {@code POST /api/retained/restore} and at start-up when the broker kept no session of the service
 * ({@code retained.restore}). One run at a time across the replicas: a run takes the lease
 * {@value #LEASE_JOB} in mqtt_dynamo_stats first, and is skipped (its progress says by whom) while another
 * replica holds it; its progress is readable while it runs.
 */
@ApplicationScoped
public class RetainedSync {

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
    private static final int BATCH_GET_ATTEMPTS = 10;
    /** The lease a run holds while it goes (see {@link ClusterLease}). */
    static final String LEASE_JOB = "retained-sync";
    /**
     * How long a take or renewal of the lease holds it: a replica that dies in a run keeps the others from
     * comparing this long at most.
     */
    static final Duration LEASE_TERM = Duration.ofSeconds(30);

    /**
     * What a run found and did; {@code passedOver}: QoS 0 retained messages not checked (queue full);
     * {@code keptOnBroker}: rows not seen in the collection that the broker turned out to hold (or refused)
     * when asked before republishing, left as the broker has them.
     */
    @RegisterForReflection
    public record Report(int brokerRetained, int tableRetained, int stored, int republished, int notRepublishable,
            int passedOver, int keptOnBroker) {
    }

    /**
     * The running or last run: {@code phase} is {@code none} (no run since start), {@code collecting} (the
     * broker's set arriving and being checked), {@code republishing} (reading mqtt_retain, republishing what
     * the broker lacks), {@code done}, {@code skipped} (another replica was running one; {@code error} names
     * it) or {@code failed} (then {@code error} says why). Counts so far; times
     * in epoch milliseconds, {@code finishedAt} 0 while running.
     */
    @RegisterForReflection
    public record Progress(String phase, boolean running, long startedAt, long finishedAt, long brokerRetained,
            long tableRetained, long stored, long republished, long notRepublishable, long passedOver,
            long keptOnBroker, String error) {
    }

    /** Refused: another run is in progress, or the function is off. */
    public static final class NotNowException extends RuntimeException {
        NotNowException(String message) {
            super(message);
        }

        NotNowException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The broker retains more topics than a run remembers ({@value #MAX_TOPICS}). */
    public static final class TooManyTopicsException extends RuntimeException {
        TooManyTopicsException(String message) {
            super(message);
        }
    }

    /** One run's counts, written as it goes and read by {@link #progress()}. */
    private static final class Run {
        final long startedAt = System.currentTimeMillis();
        volatile String phase = "collecting";
        volatile long finishedAt;
        volatile String error;
        final AtomicLong brokerRetained = new AtomicLong();
        final AtomicLong checked = new AtomicLong();
        final AtomicLong tableRetained = new AtomicLong();
        final AtomicLong stored = new AtomicLong();
        final AtomicLong republished = new AtomicLong();
        final AtomicLong notRepublishable = new AtomicLong();
        final AtomicLong keptOnBroker = new AtomicLong();
        final AtomicBoolean tooManyTopics = new AtomicBoolean();
        volatile ClusterLease.Held lease;
        /** Stores of missing rows handed to the pipeline and not yet done. */
        final Set<CompletableFuture<?>> storing = java.util.concurrent.ConcurrentHashMap.newKeySet();

        /** Why the run must stop, once it can no longer be sure it holds the lease; else null. */
        IllegalStateException leaseLost() {
            ClusterLease.Held held = lease;
            return held == null || !held.lost() ? null : new IllegalStateException("this run lost the lease of "
                    + LEASE_JOB + " (its renewal did not get through in time): another replica may be comparing,"
                    + " this one stops");
        }

        long passedOver() {
            return phase.equals("collecting") ? 0 : Math.max(0, brokerRetained.get() - checked.get());
        }

        Progress progress() {
            return new Progress(phase, finishedAt == 0, startedAt, finishedAt, brokerRetained.get(),
                    tableRetained.get(), stored.get(), republished.get(), notRepublishable.get(), passedOver(),
                    keptOnBroker.get(), error);
        }

        Report report() {
            return new Report((int) brokerRetained.get(), (int) tableRetained.get(), (int) stored.get(),
                    (int) republished.get(), (int) notRepublishable.get(), (int) passedOver(), (int) keptOnBroker.get());
        }
    }

    private final RetainedBrokerClient broker;
    private final DynamoDbAsyncClient dynamo;
    private final WritePipeline pipeline;
    private final ItemMapper items;
    private final HookRules rules;
    private final HookRouter router;
    private final boolean restoreAtStart;
    private final int republishRate;
    private final Duration collectTimeout;
    private final int checkBatch;
    /** The receive maximum of the collecting connection; widened for good when the broker overran it. */
    private volatile int window;
    private final EmqxMsgId ids = new EmqxMsgId();
    private final AtomicBoolean running = new AtomicBoolean();
    /** Losses of sessions this close together are one broker restart: one comparison. */
    static final Duration SESSION_LOSS_QUIET = Duration.ofSeconds(30);
    private volatile Run last;
    private final Counter storedCounter;
    private final Counter republishedCounter;
    private final ClusterLease lease;
    private final BrokerSessions sessions;
    /** When a lost broker session last started a comparison (epoch ms): the channels report one loss each. */
    private final AtomicLong lastSessionLoss = new AtomicLong();

    public RetainedSync(RetainedBrokerClient broker, DynamoDbAsyncClient dynamo, WritePipeline pipeline,
            ItemMapper items, HookRules rules, HookRouter router, MqttDynamoConfig config, MeterRegistry registry,
            BrokerSessions sessions) {
        this.broker = broker;
        this.sessions = sessions;
        // The replica's name and the process's: a replica started again under the same client id is another holder.
        this.lease = new ClusterLease(dynamo, LEASE_JOB, broker.replica() + "/"
                + UUID.randomUUID().toString().substring(0, 8), LEASE_TERM);
        this.router = router;
        this.dynamo = dynamo;
        this.pipeline = pipeline;
        this.items = items;
        this.rules = rules;
        this.restoreAtStart = config.retained().restore();
        this.republishRate = config.retained().republishRate();
        this.collectTimeout = config.retained().collectTimeout();
        this.checkBatch = config.retained().checkBatch();
        this.window = Math.min(COLLECT_WINDOW, config.broker().receiveMaximum());
        this.storedCounter = Counter.builder("mqtt_dynamo_retained_synced").tag("direction", "stored")
                .description("Retained messages put in step between the broker and mqtt_retain").register(registry);
        this.republishedCounter = Counter.builder("mqtt_dynamo_retained_synced").tag("direction", "republished")
                .description("Retained messages put in step between the broker and mqtt_retain").register(registry);
    }

    void onStart(@Observes StartupEvent event) {
        if (!restoreAtStart || !rules.enabled(HookFunction.ON_RETAIN_LOOKUP)) {
            return;
        }
        // A broker that comes back without the service's sessions (restarted without persistence) has most likely
        // lost its retained messages too, while the service runs on.
        sessions.onSessionLost(this::brokerLostSession);
        broker.mqtt5()
                .chain(v5 -> v5 ? broker.sessionKept() : Uni.createFrom().item(Boolean.TRUE))
                .onFailure().retry().withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30)).atMost(20)
                .chain(kept -> {
                    if (kept) {
                        Log.debug("the broker kept the service's session: retained messages are not compared");
                        return Uni.createFrom().nullItem();
                    }
                    Log.info("the broker kept no session of the service: comparing its retained messages with"
                            + " mqtt_retain");
                    return compareAndRetry();
                })
                .subscribe().with(report -> {
                }, failure -> Log.warnf("retained messages not compared at start-up: %s", failure.getMessage()));
    }

    /** A run as at start-up, tried again on passing failures. */
    private Uni<Report> compareAndRetry() {
        return syncAtStart()
                .onFailure(e -> !(e instanceof RetainedBrokerClient.CutShortException
                        || e instanceof TooManyTopicsException)).retry()
                .withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30)).atMost(10);
    }

    /** A channel found the broker without its session: one comparison for all the channels that find it. */
    void brokerLostSession(String channel) {
        long now = System.currentTimeMillis();
        long last = lastSessionLoss.get();
        if (now - last < SESSION_LOSS_QUIET.toMillis() || !lastSessionLoss.compareAndSet(last, now)) {
            return;
        }
        Log.infof("the broker lost the service's session (channel %s): comparing its retained messages with"
                + " mqtt_retain", channel);
        compareAndRetry().subscribe().with(report -> {
        }, failure -> Log.warnf("retained messages not compared after the broker lost the session: %s",
                failure.getMessage()));
    }

    /**
     * A run at start-up. While another replica runs one, this one follows that run through its lease and
     * compares itself if the lease runs out without being given up (that replica died in its run).
     */
    Uni<Report> syncAtStart() {
        return sync().onFailure(NotNowException.class).recoverWithUni(skipped ->
                skipped.getCause() instanceof ClusterLease.HeldElsewhereException other
                        ? afterOthersRun(other.untilMillis()) : Uni.createFrom().nullItem());
    }

    /** Reads the other replica's lease when it is due (a third of a term at most) until it is given up or runs out. */
    private Uni<Report> afterOthersRun(long untilMillis) {
        long wait = Math.max(100, Math.min(LEASE_TERM.toMillis() / 3, untilMillis - System.currentTimeMillis() + 100));
        return Uni.createFrom().voidItem().onItem().delayIt().by(Duration.ofMillis(wait))
                .chain(lease::state)
                .chain(state -> {
                    if (state.released()) {
                        Log.infof("replica %s compared the retained messages", state.owner());
                        return Uni.createFrom().nullItem();
                    }
                    if (state.untilMillis() < System.currentTimeMillis()) {
                        Log.warnf("replica %s's comparison of retained messages ended without giving its lease up"
                                + " (it stopped): comparing here", state.owner());
                        return syncAtStart();
                    }
                    return afterOthersRun(state.untilMillis());
                });
    }

    /** The running or last run's counts. */
    public Progress progress() {
        Run run = last;
        return run == null ? new Progress("none", false, 0, 0, 0, 0, 0, 0, 0, 0, 0, null) : run.progress();
    }

    /**
     * Starts a run without waiting for it (the dashboard's button): its outcome is read through
     * {@link #progress()}. Fails with {@link NotNowException} at once when it cannot start.
     */
    public void start() {
        if (!rules.enabled(HookFunction.ON_RETAIN_LOOKUP)) {
            throw new NotNowException("on_retain_lookup is off");
        }
        if (running.get()) {
            throw new NotNowException("a restore of retained messages is running");
        }
        sync().subscribe().with(report -> {
        }, failure -> Log.warnf("retained messages not compared: %s", failure.getMessage()));
    }

    /** One run; fails with {@link NotNowException} while another runs or when on_retain_lookup is off. */
    public Uni<Report> sync() {
        if (!rules.enabled(HookFunction.ON_RETAIN_LOOKUP)) {
            return Uni.createFrom().failure(new NotNowException("on_retain_lookup is off"));
        }
        return Uni.createFrom().deferred(() -> {
            if (!running.compareAndSet(false, true)) {
                return Uni.createFrom().failure(new NotNowException("a restore of retained messages is running"));
            }
            Run run = new Run();
            last = run;
            AtomicReference<ClusterLease.Held> held = new AtomicReference<>();
            Uni<Report> outcome = lease.take()
                    .invoke(taken -> {
                        held.set(taken);
                        run.lease = taken;
                    })
                    .chain(broker::mqtt5)
                    .chain(v5 -> v5 ? Uni.createFrom().voidItem() : Uni.createFrom().failure(
                            new IllegalStateException("comparing retained messages needs a broker speaking MQTT 5")))
                    .chain(() -> collect(run, new TopicHashSet(MAX_TOPICS)))
                    .onFailure(RetainedBrokerClient.WindowOverrunException.class).recoverWithUni(overrun -> {
                        Log.warnf("%s (a broker fault; Mosquitto 2.0.x does so); reading them again with the widest"
                                + " window, %d, from now on. Set mqtt-dynamo.broker.receive-maximum=%d to avoid it.",
                                overrun.getMessage(), RetainedBrokerClient.WIDEST_WINDOW,
                                RetainedBrokerClient.WIDEST_WINDOW);
                        window = RetainedBrokerClient.WIDEST_WINDOW;
                        // What was stored stays stored; the broker's set is read again from its start, once the
                        // stores under way are done (else it would find their rows missing and count them again).
                        run.brokerRetained.set(0);
                        run.checked.set(0);
                        CompletableFuture<?> underWay = CompletableFuture.allOf(
                                run.storing.toArray(CompletableFuture[]::new)).handle((ok, failure) -> null);
                        return Uni.createFrom().completionStage(underWay)
                                .chain(() -> collect(run, new TopicHashSet(MAX_TOPICS)));
                    })
                    .chain(seenOnBroker -> {
                        run.phase = "republishing";
                        return republishAbsent(run, seenOnBroker);
                    })
                    .map(nothing -> {
                        Report report = run.report();
                        run.phase = "done";
                        Log.infof("retained messages: %d on the broker, %d in mqtt_retain; stored %d, republished %d,"
                                + " %d without payload to republish, %d QoS 0 passed over, %d left as the broker has"
                                + " them", report.brokerRetained(), report.tableRetained(), report.stored(),
                                report.republished(), report.notRepublishable(), report.passedOver(),
                                report.keptOnBroker());
                        return report;
                    })
                    .onFailure().invoke(failure -> {
                        run.error = String.valueOf(failure.getMessage());
                        if (failure instanceof ClusterLease.HeldElsewhereException) {
                            run.phase = "skipped";
                            Log.infof("retained messages not compared by this replica: %s", failure.getMessage());
                        } else {
                            run.phase = "failed";
                        }
                    })
                    // Given up before the run counts as ended: another replica may start one as soon as it has.
                    .onTermination().call((report, failure, cancelled) -> held.get() == null
                            ? Uni.createFrom().voidItem()
                            : Uni.createFrom().completionStage(held.get().release()))
                    .onTermination().invoke(() -> {
                        run.finishedAt = System.currentTimeMillis();
                        running.set(false);
                    })
                    .onFailure(ClusterLease.HeldElsewhereException.class)
                    .transform(elsewhere -> new NotNowException("a restore of retained messages is running: "
                            + elsewhere.getMessage(), elsewhere));
            // The run goes on when whoever asked stops waiting (an HTTP client that hung up); progress() tells.
            CompletableFuture<Report> detached = outcome.subscribeAsCompletionStage();
            return Uni.createFrom().<Report>emitter(emitter -> detached.whenComplete((report, failure) -> {
                if (failure == null) {
                    emitter.complete(report);
                } else {
                    emitter.fail(failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure);
                }
            }));
        });
    }

    /**
     * Phase 1: the broker's retained messages as they arrive, each topic remembered, checked 100 at a time
     * against mqtt_retain and stored when missing; a message is acknowledged once dealt with, so the receive
     * maximum bounds what waits in memory.
     */
    private Uni<TopicHashSet> collect(Run run, TopicHashSet seen) {
        return broker.retained(QUIET, collectTimeout, window, MAX_QUEUED_QOS0, topic -> {
                    run.brokerRetained.incrementAndGet();
                    synchronized (seen) {
                        if (seen.size() >= MAX_TOPICS) {
                            run.tooManyTopics.set(true);
                        } else {
                            seen.add(topic);
                        }
                    }
                })
                .group().intoLists().of(BATCH, BATCH_WAIT)
                // The timed grouping does not wait for requests; what it holds is bounded by the receive
                // maximum and MAX_QUEUED_QOS0 already.
                .onOverflow().bufferUnconditionally()
                .select().where(batch -> !batch.isEmpty())
                .onItem().transformToUni(batch -> check(run, batch)).merge(CHECKS_AT_ONCE)
                .collect().last()
                .invoke(() -> {
                    if (run.tooManyTopics.get()) {
                        throw new TooManyTopicsException("the broker retains more than " + MAX_TOPICS
                                + " topics: rows it lacks are not republished");
                    }
                })
                .replaceWith(seen);
    }

    /** True for a topic whose retained message is kept in step: not the service's own (replicas' figures). */
    private boolean inStep(String topic) {
        return rules.applies(HookFunction.ON_RETAIN_LOOKUP, topic) && !router.isServiceTopic(topic);
    }

    /** Stores the batch's messages that mqtt_retain lacks, then acknowledges the batch. */
    private Uni<Void> check(Run run, List<Arrival> batch) {
        if (run.leaseLost() != null) {
            return Uni.createFrom().failure(run.leaseLost());
        }
        if (run.tooManyTopics.get()) {
            return Uni.createFrom().failure(new TooManyTopicsException("the broker retains more than "
                    + MAX_TOPICS + " topics: rows it lacks are not republished"));
        }
        // BatchGetItem refuses a key twice; a topic is retained once, but its last arrival would win.
        Map<String, Retained> byTopic = new LinkedHashMap<>();
        for (Arrival arrival : batch) {
            if (inStep(arrival.message().topic())) {
                byTopic.put(arrival.message().topic(), arrival.message());
            }
        }
        Uni<Void> stored = byTopic.isEmpty() ? Uni.createFrom().voidItem()
                : batchGet(new ArrayList<>(byTopic.keySet()), List.of(Attr.TOPIC)).chain(present -> {
                    Set<String> inTable = present.stream().map(item -> item.get(Attr.TOPIC).s())
                            .collect(Collectors.toSet());
                    long now = System.currentTimeMillis();
                    List<ItemWrite> writes = byTopic.values().stream().filter(m -> !inTable.contains(m.topic()))
                            .map(m -> items.retainedIfAbsent(new BrokerEvent.MessagePublished(ids.next(), m.topic(), m.qos(),
                                    true, "", m.payload(), now)))
                            .toList();
                    if (writes.isEmpty()) {
                        return Uni.createFrom().voidItem();
                    }
                    // Admission is the pipeline's back-pressure: the run waits as ingest does.
                    return Uni.createFrom().completionStage(() -> {
                                // Counted when stored, also after the run stopped waiting (a collection read again).
                                CompletableFuture<Void> storing = pipeline.admission().toCompletableFuture()
                                        .thenCompose(admitted -> pipeline.submitAll(writes))
                                        .thenRun(() -> {
                                            run.stored.addAndGet(writes.size());
                                            storedCounter.increment(writes.size());
                                        });
                                run.storing.add(storing);
                                storing.whenComplete((ok, failure) -> run.storing.remove(storing));
                                // A copy: a run that stops waiting cancels it, not the store and its count.
                                return storing.copy();
                            })
                            // Refused for good (an item DynamoDB does not take): the others of the batch are stored.
                            .onFailure(RejectedWriteException.class).recoverWithItem(failure -> {
                                Log.warnf("a retained message was not stored: %s", failure.getMessage());
                                return null;
                            })
                            .replaceWithVoid();
                });
        return stored.invoke(() -> {
            run.checked.addAndGet(batch.size());
            batch.forEach(arrival -> arrival.done().run());
        });
    }

    /** Phase 2: a Scan of mqtt_retain's topics; rows of topics not seen on the broker are republished. */
    private Uni<Void> republishAbsent(Run run, TopicHashSet seen) {
        ScanRequest scan = ScanRequest.builder().tableName(Tables.RETAIN.tableName())
                .projectionExpression("#t").expressionAttributeNames(Map.of("#t", Attr.TOPIC)).build();
        Multi<Retained> rows = Multi.createFrom()
                .publisher(AdaptersToFlow.publisher(dynamo.scanPaginator(scan).items()))
                .map(item -> item.get(Attr.TOPIC).s())
                .invoke(topic -> run.tableRetained.incrementAndGet())
                .select().where(topic -> {
                    synchronized (seen) {
                        return !seen.contains(topic);
                    }
                })
                .select().where(this::inStep)
                .group().intoLists().of(BATCH)
                .onItem().transformToUniAndConcatenate(topics -> batchGet(topics, List.of()))
                .onItem().transformToIterable(found -> found)
                .map(RetainedSync::republishable)
                .invoke(message -> {
                    if (message == null) {
                        run.notRepublishable.incrementAndGet();
                    }
                })
                .select().where(message -> message != null);
        return broker.republish(rows, republishRate, checkBatch, group -> run.leaseLost() == null
                ? stillStored(group) : Uni.createFrom().failure(run.leaseLost()), sent -> {
            run.republished.incrementAndGet();
            republishedCounter.increment();
        }, kept -> run.keptOnBroker.incrementAndGet()).replaceWithVoid();
    }

    /** The messages whose rows are still there unchanged (consistent read): a cleared one is not put back. */
    private Uni<List<Retained>> stillStored(List<Retained> messages) {
        return batchGet(messages.stream().map(Retained::topic).distinct().toList(), List.of(Attr.TOPIC, Attr.MSGID))
                .map(items -> {
                    Map<String, String> msgIds = new HashMap<>();
                    items.forEach(item -> msgIds.put(item.get(Attr.TOPIC).s(),
                            item.get(Attr.MSGID) == null ? null : item.get(Attr.MSGID).s()));
                    return messages.stream().filter(m -> msgIds.containsKey(m.topic())
                            && Objects.equals(msgIds.get(m.topic()), m.msgId())).toList();
                });
    }

    /**
     * The mqtt_retain items of {@code topics} (at most 100, no two alike) that exist, consistently read; only
     * the {@code attributes} named (all when none). Keys DynamoDB leaves unprocessed (throttling) are asked
     * again after a growing pause.
     */
    private Uni<List<Map<String, AttributeValue>>> batchGet(List<String> topics, List<String> attributes) {
        KeysAndAttributes.Builder keys = KeysAndAttributes.builder().consistentRead(true)
                .keys(topics.stream().map(t -> Map.of(Attr.TOPIC, AttributeValue.fromS(t))).toList());
        if (!attributes.isEmpty()) {
            Map<String, String> names = new HashMap<>();
            for (int i = 0; i < attributes.size(); i++) {
                names.put("#p" + i, attributes.get(i));
            }
            keys.projectionExpression(String.join(", ", new java.util.TreeSet<>(names.keySet())))
                    .expressionAttributeNames(names);
        }
        return batchGet(keys.build(), new ArrayList<>(), 0);
    }

    private Uni<List<Map<String, AttributeValue>>> batchGet(KeysAndAttributes keys,
            List<Map<String, AttributeValue>> found, int attempt) {
        String table = Tables.RETAIN.tableName();
        return Uni.createFrom().completionStage(() -> dynamo.batchGetItem(b -> b.requestItems(Map.of(table, keys))))
                .chain((BatchGetItemResponse response) -> {
                    found.addAll(response.responses().getOrDefault(table, List.of()));
                    KeysAndAttributes left = response.unprocessedKeys().get(table);
                    if (left == null || !left.hasKeys() || left.keys().isEmpty()) {
                        return Uni.createFrom().item(found);
                    }
                    if (attempt + 1 >= BATCH_GET_ATTEMPTS) {
                        return Uni.createFrom().failure(new IllegalStateException("mqtt_retain left "
                                + left.keys().size() + " keys of a BatchGetItem unprocessed " + BATCH_GET_ATTEMPTS
                                + " times"));
                    }
                    Duration pause = Duration.ofMillis(Math.min(2_000, 50L << attempt));
                    return Uni.createFrom().voidItem().onItem().delayIt().by(pause)
                            .chain(() -> batchGet(left, found, attempt + 1));
                });
    }

    /** The row as a message to republish; null when its payload was too large to store. */
    private static Retained republishable(Map<String, AttributeValue> item) {
        AttributeValue payload = item.get(Attr.PAYLOAD);
        if (payload == null) {
            return null;
        }
        byte[] bytes = payload.b() != null ? payload.b().asByteArray()
                : payload.s() != null ? payload.s().getBytes(StandardCharsets.UTF_8) : null;
        if (bytes == null || bytes.length == 0) {
            return null;
        }
        int qos = 0;
        AttributeValue q = item.get(Attr.QOS);
        if (q != null && q.n() != null) {
            try {
                qos = Math.max(0, Math.min(2, Integer.parseInt(q.n())));
            } catch (NumberFormatException e) {
                qos = 0;
            }
        }
        AttributeValue msgId = item.get(Attr.MSGID);
        return new Retained(item.get(Attr.TOPIC).s(), bytes, qos, msgId == null ? null : msgId.s());
    }
}
