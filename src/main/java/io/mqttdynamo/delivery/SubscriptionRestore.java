package io.mqttdynamo.delivery;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.ws.rs.WebApplicationException;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.InProcessBroker;
import io.mqttdynamo.config.LogFields;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.ingest.ClientEventReceived;
import io.mqttdynamo.ingest.EventTaken;
import io.mqttdynamo.ingest.LogSafe;
import io.mqttdynamo.store.Rows;
import io.mqttdynamo.store.SubscriptionReads;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * on_subscribe_lookup: when a client connects, its subscriptions stored in mqtt_sub are made again on the
 * broker (EMQX 5 or 4 through the REST API, the embedded broker directly), so that a client whose session
 * the broker lost gets its subscriptions back, as the EMQX backend did in the broker.
 *
 * <p>It runs after the connected event is stored and acknowledged, off the event stream: a slow or failing
 * API never holds up ingest. 5xx answers, timeouts and connection errors are retried with back-off
 * ({@code broker.api.retries}); 404 (the client left again) and 401 (bad key) are not. Every outcome is
 * counted in {@code mqtt_dynamo_subscription_restores_total{result}}. At most {@value #MAX_IN_FLIGHT}
 * restores run at once; a connect beyond that is skipped and counted ({@code result="busy"}).
 *
 * <p>A filter the client subscribed to or unsubscribed from itself after connecting ({@link SubscriptionChanges},
 * fed in the broker's order as events are decoded) is not restored: the restore reads after the connect is
 * stored, and would otherwise give back a subscription the client had just dropped.
 */
@ApplicationScoped
public class SubscriptionRestore {

    static final int MAX_IN_FLIGHT = 64;
    /** Most subscriptions restored for one client. */
    static final int MAX_SUBSCRIPTIONS = 1000;

    private static final Duration FIRST_BACK_OFF = Duration.ofMillis(250);
    private static final Duration LAST_BACK_OFF = Duration.ofSeconds(10);

    /** Outcome labels of the metric. */
    enum Result {
        RESTORED,
        NOTHING_STORED,
        CLIENT_GONE,
        UNAUTHORIZED,
        FAILED,
        BUSY,
        SUPERSEDED
    }

    private final SubscriptionReads subscriptions;
    private final HookRules rules;
    private final Optional<BrokerSubscriber> subscriber;
    private final BrokerSessions sessions;
    private final int retries;
    private final Duration timeout;
    private final Map<Result, Counter> results = new LinkedHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final SubscriptionChanges changes = new SubscriptionChanges();

    public SubscriptionRestore(
            SubscriptionReads subscriptions,
            HookRules rules,
            MqttDynamoConfig config,
            BrokerSessions sessions,
            Instance<InProcessBroker> inProcess,
            MeterRegistry registry) {
        this.subscriptions = subscriptions;
        this.rules = rules;
        this.sessions = sessions;
        this.retries = config.broker().api().retries();
        this.timeout = config.broker().api().timeout();
        this.subscriber = subscriber(config, inProcess);
        for (Result result : Result.values()) {
            results.put(
                    result,
                    Counter.builder("mqtt_dynamo_subscription_restores")
                            .description(
                                    "Connected clients whose stored subscriptions were restored on the broker, by outcome")
                            .tag("result", result.name().toLowerCase(Locale.ROOT))
                            .register(registry));
        }
        subscriber
                .filter(s -> rules.enabled(HookFunction.ON_SUBSCRIBE_LOOKUP))
                .ifPresent(s -> Log.infof("on_subscribe_lookup restores subscriptions through %s", s.describe()));
    }

    private static Optional<BrokerSubscriber> subscriber(MqttDynamoConfig config, Instance<InProcessBroker> inProcess) {
        if (config.embeddedBroker().enabled() && inProcess.isResolvable()) {
            return Optional.of(inProcess.get()).filter(InProcessBroker::running).map(EmbeddedSubscriber::new);
        }
        MqttDynamoConfig.EventDialect dialect = config.events().dialect();
        if (config.broker().api().url().isPresent()
                && (dialect == MqttDynamoConfig.EventDialect.EMQX5 || dialect == MqttDynamoConfig.EventDialect.EMQX4)) {
            return Optional.of(new EmqxApiSubscriber(dialect, config.broker().api()));
        }
        return Optional.empty();
    }

    private boolean restores() {
        return subscriber.isPresent() && rules.enabled(HookFunction.ON_SUBSCRIBE_LOOKUP);
    }

    /** What a client does from its connect on, in the broker's order, is not undone by its restore. */
    void received(@Observes ClientEventReceived received) {
        if (!restores()) {
            return;
        }
        BrokerEvent event = received.event();
        if (event instanceof BrokerEvent.ClientConnected connected) {
            if (!sessions.isOwnClient(connected.clientId())) {
                changes.connected(connected);
            }
        } else if (event instanceof BrokerEvent.ClientSubscribed subscribed) {
            changes.changed(subscribed.clientId(), subscribed.topic());
        } else if (event instanceof BrokerEvent.ClientUnsubscribed unsubscribed) {
            changes.changed(unsubscribed.clientId(), unsubscribed.topic());
        }
    }

    void taken(@Observes EventTaken taken) {
        if (!(taken.event() instanceof BrokerEvent.ClientConnected connected)
                || !restores()
                || sessions.isOwnClient(connected.clientId())) {
            return;
        }
        try {
            restore(connected);
        } catch (RuntimeException e) {
            // Never into the event stream: this runs on its acknowledgement.
            count(Result.FAILED);
            Log.errorf(e, "restoring the subscriptions of %s failed", LogSafe.of(connected.clientId()));
        }
    }

    private void restore(BrokerEvent.ClientConnected connected) {
        String clientId = connected.clientId();
        Optional<SubscriptionChanges.Watch> watch = changes.watchOf(connected);
        if (watch.isEmpty()) {
            // The client connected again since: that connect's restore follows.
            count(Result.SUPERSEDED);
            return;
        }
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            changes.done(watch.get());
            count(Result.BUSY);
            try (LogFields fields = LogFields.of(LogFields.CLIENT_ID, LogSafe.of(clientId))) {
                Log.warnf(
                        "skipped restoring the subscriptions of %s: %d restores are running",
                        LogSafe.of(clientId), MAX_IN_FLIGHT);
            }
            return;
        }
        Uni.createFrom()
                .deferred(() -> storedFilters(clientId))
                .chain(filters -> filters.isEmpty()
                        ? Uni.createFrom().item(Result.NOTHING_STORED)
                        : subscribe(clientId, filters, watch.get()))
                .onFailure()
                .recoverWithItem(failure -> failed(clientId, failure))
                .onTermination()
                .invoke(() -> {
                    inFlight.decrementAndGet();
                    changes.done(watch.get());
                })
                .subscribe()
                .with(this::count, failure -> count(Result.FAILED));
    }

    /** The client's mqtt_sub rows that on_subscribe_lookup applies to: filter to QoS. */
    private Uni<Map<String, Integer>> storedFilters(String clientId) {
        return subscriptions
                .stored(clientId)
                .select()
                .first(MAX_SUBSCRIPTIONS + 1)
                .collect()
                .asList()
                .map(rows -> filters(clientId, rows));
    }

    private Map<String, Integer> filters(String clientId, List<Rows.Subscription> rows) {
        if (rows.size() > MAX_SUBSCRIPTIONS) {
            Log.warnf(
                    "%s has more than %d stored subscriptions; the first %d are restored",
                    LogSafe.of(clientId), MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTIONS);
        }
        Map<String, Integer> filters = new LinkedHashMap<>();
        for (Rows.Subscription row : rows.subList(0, Math.min(rows.size(), MAX_SUBSCRIPTIONS))) {
            // A row without a filter (not the service's) is left out; so is one the function does not apply to.
            if (row.topic().isEmpty() || !rules.applies(HookFunction.ON_SUBSCRIBE_LOOKUP, row.topic())) {
                continue;
            }
            filters.put(row.topic(), Math.max(0, Math.min(2, row.qos())));
        }
        return filters;
    }

    /**
     * Subscribes the client to the stored filters it has not subscribed to or unsubscribed from itself since
     * connecting, decided anew for each attempt: a row read back after the client's own subscribe, or a filter it
     * dropped while an attempt was under way, is the client's to keep or drop, not the restore's.
     */
    private Uni<Result> subscribe(String clientId, Map<String, Integer> stored, SubscriptionChanges.Watch watch) {
        BrokerSubscriber target = subscriber.orElseThrow();
        AtomicInteger attempted = new AtomicInteger();
        Uni<BrokerSubscriber.Outcome> call = Uni.createFrom()
                .deferred(() -> {
                    // Empty once the client connected again, or changed every stored filter itself.
                    Optional<Map<String, Integer>> filters =
                            changes.unchanged(watch, stored).filter(unchanged -> !unchanged.isEmpty());
                    attempted.set(filters.map(Map::size).orElse(0));
                    return filters.isEmpty() ? Uni.createFrom().nullItem() : target.subscribe(clientId, filters.get());
                })
                .ifNoItem()
                .after(timeout)
                .failWith(() -> new TimeoutException("no answer within " + timeout));
        if (retries > 0) {
            call = call.onFailure(SubscriptionRestore::retryable)
                    .invoke(failure -> Log.debugf(
                            "restoring the subscriptions of %s: %s, retrying", LogSafe.of(clientId), describe(failure)))
                    .onFailure(SubscriptionRestore::retryable)
                    .retry()
                    .withBackOff(FIRST_BACK_OFF, LAST_BACK_OFF)
                    .atMost(retries);
        }
        return call.map(outcome -> {
            if (outcome == null) {
                Log.debugf(
                        "%s connected again, or subscribed to or dropped each stored filter itself",
                        LogSafe.of(clientId));
                return Result.SUPERSEDED;
            }
            if (outcome == BrokerSubscriber.Outcome.CLIENT_GONE) {
                Log.debugf("%s left before its subscriptions were restored", LogSafe.of(clientId));
                return Result.CLIENT_GONE;
            }
            Log.debugf("restored %d subscriptions of %s", attempted.get(), LogSafe.of(clientId));
            return Result.RESTORED;
        });
    }

    /** 5xx, 429, timeouts and connection failures may pass; other answers will not change. */
    static boolean retryable(Throwable failure) {
        if (failure instanceof WebApplicationException e) {
            int status = e.getResponse() == null ? 0 : e.getResponse().getStatus();
            return status >= 500 || status == 429;
        }
        return !(failure instanceof IllegalStateException);
    }

    private Result failed(String clientId, Throwable failure) {
        try (LogFields fields = LogFields.of(LogFields.CLIENT_ID, LogSafe.of(clientId))) {
            return logFailure(clientId, failure);
        }
    }

    private Result logFailure(String clientId, Throwable failure) {
        if (failure instanceof WebApplicationException e && e.getResponse() != null) {
            int status = e.getResponse().getStatus();
            if (status == 404) {
                Log.debugf("%s left before its subscriptions were restored (404)", LogSafe.of(clientId));
                return Result.CLIENT_GONE;
            }
            if (status == 401 || status == 403) {
                Log.warnf(
                        "the broker API refused mqtt-dynamo.broker.api.key (%d): subscriptions of %s not restored;"
                                + " check the key and secret",
                        status, LogSafe.of(clientId));
                return Result.UNAUTHORIZED;
            }
        }
        Log.warnf("subscriptions of %s not restored: %s", LogSafe.of(clientId), describe(failure));
        return Result.FAILED;
    }

    private static String describe(Throwable failure) {
        if (failure instanceof WebApplicationException e && e.getResponse() != null) {
            return "HTTP " + e.getResponse().getStatus();
        }
        return failure.getClass().getSimpleName() + ": " + LogSafe.of(failure.getMessage());
    }

    private void count(Result result) {
        results.get(result).increment();
    }
}
