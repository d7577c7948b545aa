package io.mqttdynamo.web;

import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * The last minutes of ingest rate (messages/s) and DynamoDB write latency, sampled each second from the
 * service's own metrics, for the dashboard's chart.
 */
@ApplicationScoped
public class Throughput {

    /** Seconds of history kept. */
    public static final int SECONDS = 300;

    private final MeterRegistry registry;
    private final Vertx vertx;
    private final double[] rate = new double[SECONDS];
    private final double[] latencyMillis = new double[SECONDS];
    private int newest = SECONDS - 1;
    private long newestAtMillis = System.currentTimeMillis();
    private double lastReceived;
    private long lastLatencyCount;
    private double lastLatencyTotal;

    public Throughput(MeterRegistry registry, Vertx vertx) {
        this.registry = registry;
        this.vertx = vertx;
    }

    void onStart(@Observes StartupEvent event) {
        vertx.setPeriodic(1000, id -> sample());
    }

    synchronized void sample() {
        double received = registry.find("mqtt_dynamo_events_received").counters().stream()
                .mapToDouble(Counter::count).sum();
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
