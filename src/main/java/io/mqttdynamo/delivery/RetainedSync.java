package io.mqttdynamo.delivery;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.store.ClusterLease;
import io.mqttdynamo.store.ClusterLeases;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.RetainedReads;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.smallrye.mutiny.Uni;

/**
 * on_retain_lookup for a service beside the broker: keeps the broker's retained messages and mqtt_retain in
 * step, by runs that compare the two ({@link RetainedComparison}: the broker's set checked against the table and
 * what it lacks stored, then the table's rows the broker lacks republished). This class says when and by whom:
 * on {@code POST /api/retained/restore}, at start-up when the broker kept no session of the service
 * ({@code retained.restore}), and when the broker loses the service's sessions while it runs. One run at a time
 * across the replicas: a run takes the lease {@value #LEASE_JOB} in mqtt_dynamo_stats first, and is skipped (its
 * progress says by whom) while another replica holds it; its progress ({@link RetainedRun}) is readable while it
 * runs.
 */
@ApplicationScoped
public class RetainedSync {

    /** The lease a run holds while it goes (see {@link ClusterLease}). */
    static final String LEASE_JOB = "retained-sync";
    /**
     * How long a take or renewal of the lease holds it: a replica that dies in a run keeps the others from
     * comparing this long at most.
     */
    static final Duration LEASE_TERM = Duration.ofSeconds(30);
    /** Losses of sessions this close together are one broker restart: one comparison. */
    static final Duration SESSION_LOSS_QUIET = Duration.ofSeconds(30);

    /**
     * What a run found and did; {@code passedOver}: QoS 0 retained messages not checked (queue full);
     * {@code keptOnBroker}: rows not seen in the collection that the broker turned out to hold (or refused)
     * when asked before republishing, left as the broker has them.
     */
    @RegisterForReflection
    public record Report(
            int brokerRetained,
            int tableRetained,
            int stored,
            int republished,
            int notRepublishable,
            int passedOver,
            int keptOnBroker) {}

    /**
     * The running or last run: {@code phase} is {@code none} (no run since start), {@code collecting} (the
     * broker's set arriving and being checked), {@code republishing} (reading mqtt_retain, republishing what
     * the broker lacks), {@code done}, {@code skipped} (another replica was running one; {@code error} names
     * it) or {@code failed} (then {@code error} says why). Counts so far; times
     * in epoch milliseconds, {@code finishedAt} 0 while running.
     */
    @RegisterForReflection
    public record Progress(
            String phase,
            boolean running,
            long startedAt,
            long finishedAt,
            long brokerRetained,
            long tableRetained,
            long stored,
            long republished,
            long notRepublishable,
            long passedOver,
            long keptOnBroker,
            String error) {}

    /** Refused: another run is in progress, or the function is off. */
    public static final class NotNowException extends RuntimeException {
        NotNowException(String message) {
            super(message);
        }

        NotNowException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final RetainedBrokerClient broker;
    private final RetainedComparison comparison;
    private final HookRules rules;
    private final boolean restoreAtStart;
    private final AtomicBoolean running = new AtomicBoolean();
    private volatile RetainedRun last;
    private final Counter comparisonsDone;
    private final Counter comparisonsFailed;
    /** The latest run this replica ended failed (one skipped because another replica held the lease is no run). */
    private volatile boolean lastComparisonFailed;

    private final ClusterLease lease;
    private final BrokerSessions sessions;
    /** When a lost broker session last started a comparison (epoch ms): the channels report one loss each. */
    private final AtomicLong lastSessionLoss = new AtomicLong();

    public RetainedSync(
            RetainedBrokerClient broker,
            RetainedReads rows,
            ClusterLeases leases,
            WritePipeline pipeline,
            ItemMapper items,
            HookRules rules,
            HookRouter router,
            MqttDynamoConfig config,
            MeterRegistry registry,
            BrokerSessions sessions) {
        this.broker = broker;
        this.sessions = sessions;
        // The replica's name and the process's: a replica started again under the same client id is another holder.
        this.lease = leases.lease(
                LEASE_JOB, broker.replica() + "/" + UUID.randomUUID().toString().substring(0, 8), LEASE_TERM);
        this.rules = rules;
        this.restoreAtStart = config.retained().restore();
        this.comparison = new RetainedComparison(
                broker,
                rows,
                pipeline,
                items,
                rules,
                router,
                config.retained().collectTimeout(),
                config.retained().republishRate(),
                config.retained().checkBatch(),
                config.broker().receiveMaximum(),
                Counter.builder("mqtt_dynamo_retained_synced")
                        .tag("direction", "stored")
                        .description("Retained messages put in step between the broker and mqtt_retain")
                        .register(registry),
                Counter.builder("mqtt_dynamo_retained_synced")
                        .tag("direction", "republished")
                        .description("Retained messages put in step between the broker and mqtt_retain")
                        .register(registry));
        this.comparisonsDone = Counter.builder("mqtt_dynamo_retained_comparisons")
                .tag("result", "done")
                .description("Comparisons of the broker's retained messages with mqtt_retain, by outcome (a failed"
                        + " one is tried again up to 10 times when it started by itself)")
                .register(registry);
        this.comparisonsFailed = Counter.builder("mqtt_dynamo_retained_comparisons")
                .tag("result", "failed")
                .description("Comparisons of the broker's retained messages with mqtt_retain, by outcome (a failed"
                        + " one is tried again up to 10 times when it started by itself)")
                .register(registry);
        Gauge.builder("mqtt_dynamo_retained_comparison_failed", this, sync -> sync.lastComparisonFailed ? 1 : 0)
                .description("1 while the latest comparison of retained messages run by this replica failed, until"
                        + " one is done")
                .register(registry);
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
                .onFailure()
                .retry()
                .withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30))
                .atMost(20)
                .chain(kept -> {
                    if (kept) {
                        Log.debug("the broker kept the service's session: retained messages are not compared");
                        return Uni.createFrom().nullItem();
                    }
                    Log.info("the broker kept no session of the service: comparing its retained messages with"
                            + " mqtt_retain");
                    return compareAndRetry();
                })
                .subscribe()
                .with(
                        report -> {},
                        failure -> Log.warnf("retained messages not compared at start-up: %s", failure.getMessage()));
    }

    /** A run as at start-up, tried again on passing failures. */
    private Uni<Report> compareAndRetry() {
        return syncAtStart()
                .onFailure(e -> !(e instanceof RetainedBrokerClient.CutShortException
                        || e instanceof RetainedComparison.TooManyTopicsException))
                .retry()
                .withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30))
                .atMost(10);
    }

    /** A channel found the broker without its session: one comparison for all the channels that find it. */
    void brokerLostSession(String channel) {
        long now = System.currentTimeMillis();
        long last = lastSessionLoss.get();
        if (now - last < SESSION_LOSS_QUIET.toMillis() || !lastSessionLoss.compareAndSet(last, now)) {
            return;
        }
        Log.infof(
                "the broker lost the service's session (channel %s): comparing its retained messages with"
                        + " mqtt_retain",
                channel);
        compareAndRetry()
                .subscribe()
                .with(
                        report -> {},
                        failure -> Log.warnf(
                                "retained messages not compared after the broker lost the session: %s",
                                failure.getMessage()));
    }

    /**
     * A run at start-up. While another replica runs one, this one follows that run through its lease and
     * compares itself if the lease runs out without being given up (that replica died in its run).
     */
    Uni<Report> syncAtStart() {
        return sync().onFailure(NotNowException.class)
                .recoverWithUni(skipped -> skipped.getCause() instanceof ClusterLease.HeldElsewhereException other
                        ? afterOthersRun(other.untilMillis())
                        : Uni.createFrom().nullItem());
    }

    /** Reads the other replica's lease when it is due (a third of a term at most) until it is given up or runs out. */
    private Uni<Report> afterOthersRun(long untilMillis) {
        long wait = Math.max(100, Math.min(LEASE_TERM.toMillis() / 3, untilMillis - System.currentTimeMillis() + 100));
        return Uni.createFrom()
                .voidItem()
                .onItem()
                .delayIt()
                .by(Duration.ofMillis(wait))
                .chain(lease::state)
                .chain(state -> {
                    if (state.released()) {
                        Log.infof("replica %s compared the retained messages", state.owner());
                        return Uni.createFrom().nullItem();
                    }
                    if (state.untilMillis() < System.currentTimeMillis()) {
                        Log.warnf(
                                "replica %s's comparison of retained messages ended without giving its lease up"
                                        + " (it stopped): comparing here",
                                state.owner());
                        return syncAtStart();
                    }
                    return afterOthersRun(state.untilMillis());
                });
    }

    /** Counts a run that ended: done or failed; skipped is not a run of this replica's. */
    private void counted(String phase) {
        if (phase.equals("done")) {
            lastComparisonFailed = false;
            comparisonsDone.increment();
        } else if (phase.equals("failed")) {
            lastComparisonFailed = true;
            comparisonsFailed.increment();
        }
    }

    /** The running or last run's counts. */
    public Progress progress() {
        RetainedRun run = last;
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
        sync().subscribe()
                .with(report -> {}, failure -> Log.warnf("retained messages not compared: %s", failure.getMessage()));
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
            RetainedRun run = new RetainedRun();
            last = run;
            AtomicReference<ClusterLease.Held> held = new AtomicReference<>();
            Uni<Report> outcome = lease.take()
                    .invoke(taken -> {
                        held.set(taken);
                        run.lease = taken;
                    })
                    .chain(broker::mqtt5)
                    .chain(v5 -> v5
                            ? Uni.createFrom().voidItem()
                            : Uni.createFrom()
                                    .failure(new IllegalStateException(
                                            "comparing retained messages needs a broker speaking MQTT 5")))
                    .chain(() -> comparison.run(run))
                    .map(nothing -> {
                        Report report = run.report();
                        run.phase = "done";
                        Log.infof(
                                "retained messages: %d on the broker, %d in mqtt_retain; stored %d, republished %d,"
                                        + " %d without payload to republish, %d QoS 0 passed over, %d left as the broker has"
                                        + " them",
                                report.brokerRetained(),
                                report.tableRetained(),
                                report.stored(),
                                report.republished(),
                                report.notRepublishable(),
                                report.passedOver(),
                                report.keptOnBroker());
                        return report;
                    })
                    .onFailure()
                    .invoke(failure -> {
                        run.error = String.valueOf(failure.getMessage());
                        if (failure instanceof ClusterLease.HeldElsewhereException) {
                            run.phase = "skipped";
                            Log.infof("retained messages not compared by this replica: %s", failure.getMessage());
                        } else {
                            run.phase = "failed";
                        }
                    })
                    // Given up before the run counts as ended: another replica may start one as soon as it has.
                    .onTermination()
                    .call((report, failure, cancelled) -> held.get() == null
                            ? Uni.createFrom().voidItem()
                            : held.get().release())
                    .onTermination()
                    .invoke(() -> {
                        run.finishedAt = System.currentTimeMillis();
                        counted(run.phase);
                        running.set(false);
                    })
                    .onFailure(ClusterLease.HeldElsewhereException.class)
                    .transform(elsewhere -> new NotNowException(
                            "a restore of retained messages is running: " + elsewhere.getMessage(), elsewhere));
            // The run goes on when whoever asked stops waiting (an HTTP client that hung up); progress() tells.
            return outcome.memoize().indefinitely();
        });
    }
}
