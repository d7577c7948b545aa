package io.mqttdynamo.web;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.ingest.EventTaken;
import io.mqttdynamo.store.StoreMetrics;
import io.mqttdynamo.store.Tables;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * The last minutes of ingest rate (messages/s) and DynamoDB write latency, sampled each second, for the
 * dashboard's chart; and the write units DynamoDB reported per table over the last minute, for its cost lines.
 * The rate counts the users' messages taken from the broker: not the service's own traffic (the replicas'
 * figures on {@code mqtt-dynamo/cluster/+}, envelopes and events on its own topics, its copies of stored
 * messages), nor client events and acknowledgements.
 */
@ApplicationScoped
public class Throughput {

    /** Seconds of history kept. */
    public static final int SECONDS = 300;
    /** Seconds over which write units per second are averaged. */
    public static final int COST_SECONDS = 60;

    private final MeterRegistry registry;
    private final HookRouter router;
    private final BrokerSessions sessions;
    private final AtomicLong usersMessages = new AtomicLong();
    private final double[] rate = new double[SECONDS];
    private final double[] latencyMillis = new double[SECONDS];
    /** Write units consumed since start by each table, at each second of the last {@link #COST_SECONDS}. */
    private final double[][] unitsAt = new double[COST_SECONDS + 1][Tables.values().length];

    private int unitsNewest;
    private int unitsSamples;
    private final StoreMetrics storeMetrics;
    private int newest = SECONDS - 1;
    private long newestAtMillis = System.currentTimeMillis();
    private long lastReceived;
    private long lastLatencyCount;
    private double lastLatencyTotal;
    private Cancellable sampling;

    public Throughput(MeterRegistry registry, HookRouter router, BrokerSessions sessions, StoreMetrics storeMetrics) {
        this.registry = registry;
        this.storeMetrics = storeMetrics;
        this.router = router;
        this.sessions = sessions;
    }

    /** Counts a message once ingest is done with it, if it is a user's. */
    void taken(@Observes EventTaken taken) {
        if (taken.event() instanceof BrokerEvent.MessagePublished m && usersMessage(m)) {
            usersMessages.incrementAndGet();
        }
    }

    /** Whether a message is one of the broker's users', not of the service itself. */
    boolean usersMessage(BrokerEvent.MessagePublished m) {
        return !router.isServiceTopic(m.topic())
                && !Republisher.isRepublisher(m.sender())
                && (m.sender().isEmpty() || !sessions.isOwnClient(m.sender()));
    }

    void onStart(@Observes StartupEvent event) {
        // Every second on the scheduler all of the service's delays use (Mutiny's); a late sample is dropped,
        // not queued.
        sampling = Multi.createFrom()
                .ticks()
                .every(Duration.ofSeconds(1))
                .onOverflow()
                .drop()
                .subscribe()
                .with(tick -> sample());
    }

    @PreDestroy
    void stop() {
        if (sampling != null) {
            sampling.cancel();
        }
    }

    synchronized void sample() {
        long received = usersMessages.get();
        Timer latency = registry.find("mqtt_dynamo_write_latency").timer();
        long count = latency == null ? 0 : latency.count();
        double total = latency == null ? 0 : latency.totalTime(TimeUnit.MILLISECONDS);
        newest = (newest + 1) % SECONDS;
        newestAtMillis = System.currentTimeMillis();
        rate[newest] = Math.max(0, received - lastReceived);
        latencyMillis[newest] = count > lastLatencyCount ? (total - lastLatencyTotal) / (count - lastLatencyCount) : 0;
        lastReceived = received;
        lastLatencyCount = count;
        lastLatencyTotal = total;
        unitsNewest = (unitsNewest + 1) % unitsAt.length;
        Tables[] tables = Tables.values();
        for (int t = 0; t < tables.length; t++) {
            unitsAt[unitsNewest][t] = storeMetrics.consumedWriteUnits(tables[t].tableName());
        }
        unitsSamples = Math.min(unitsAt.length, unitsSamples + 1);
    }

    /**
     * Write units DynamoDB reported per second over the last {@link #COST_SECONDS} (or since start, when shorter),
     * by table; tables without writes left out.
     */
    public synchronized Map<String, Double> writeUnitsPerSecond() {
        Map<String, Double> perSecond = new TreeMap<>();
        if (unitsSamples < 2) {
            return perSecond;
        }
        int oldest = (unitsNewest - (unitsSamples - 1) + unitsAt.length) % unitsAt.length;
        Tables[] tables = Tables.values();
        for (int t = 0; t < tables.length; t++) {
            double units = unitsAt[unitsNewest][t] - unitsAt[oldest][t];
            if (units > 0) {
                perSecond.put(tables[t].tableName(), units / (unitsSamples - 1));
            }
        }
        return perSecond;
    }

    /** Both series, oldest second first. */
    public synchronized Snapshot snapshot() {
        double[] rates = new double[SECONDS];
        double[] latencies = new double[SECONDS];
        for (int i = 0; i < SECONDS; i++) {
            int at = (newest + 1 + i) % SECONDS;
            rates[i] = rate[at];
            latencies[i] = latencyMillis[at];
        }
        return new Snapshot(newestAtMillis, rates, latencies);
    }

    /** Per-second values, oldest first; the newest ends at {@code endMillis}. */
    public record Snapshot(long endMillis, double[] messagesPerSecond, double[] writeLatencyMillis) {

        /** Messages/s averaged over the last {@code seconds}. */
        public double recentRate(int seconds) {
            double sum = 0;
            for (int i = SECONDS - seconds; i < SECONDS; i++) {
                sum += messagesPerSecond[i];
            }
            return sum / seconds;
        }

        /** Mean write latency over the last {@code seconds} that had writes. */
        public double recentLatency(int seconds) {
            double sum = 0;
            int n = 0;
            for (int i = SECONDS - seconds; i < SECONDS; i++) {
                if (writeLatencyMillis[i] > 0) {
                    sum += writeLatencyMillis[i];
                    n++;
                }
            }
            return n == 0 ? 0 : sum / n;
        }
    }
}
