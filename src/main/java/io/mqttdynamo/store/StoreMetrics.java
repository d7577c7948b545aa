package io.mqttdynamo.store;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The write pipeline's figures: counters and timers under {@code mqtt_dynamo_*} in {@code /q/metrics},
 * and what the dashboard and health checks read (last error, items created).
 */
@ApplicationScoped
public class StoreMetrics {

    private final MeterRegistry registry;
    private final DistributionSummary batchSize;
    private final Timer requestLatency;
    private final Counter retries;
    private final Counter stale;
    private final Map<Tables, Counter> written = new EnumMap<>(Tables.class);
    /** By table name, as DynamoDB's answers name them. */
    private final Map<String, Counter> writeUnits = new java.util.HashMap<>();

    private final Map<Tables, java.util.concurrent.atomic.LongAdder> created = new EnumMap<>(Tables.class);
    private volatile String lastError;
    private volatile long lastErrorAtMillis;
    private final java.util.concurrent.atomic.LongAdder failures = new java.util.concurrent.atomic.LongAdder();
    private volatile String lastFailure;
    private volatile long lastFailureAtMillis;

    public StoreMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.batchSize = DistributionSummary.builder("mqtt_dynamo_batch_size")
                .description("Items per BatchWriteItem request")
                .register(registry);
        this.requestLatency = Timer.builder("mqtt_dynamo_write_latency")
                .description("Time of one DynamoDB write request")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        this.retries = Counter.builder("mqtt_dynamo_write_retries")
                .description("Writes retried")
                .register(registry);
        this.stale = Counter.builder("mqtt_dynamo_stale_updates")
                .description("Client updates dropped because a newer state is stored")
                .register(registry);
        for (Tables table : Tables.values()) {
            written.put(
                    table,
                    Counter.builder("mqtt_dynamo_items_written")
                            .tag("table", table.tableName())
                            .description("Items stored")
                            .register(registry));
            created.put(table, new java.util.concurrent.atomic.LongAdder());
            writeUnits.put(
                    table.tableName(),
                    Counter.builder("mqtt_dynamo_consumed_write_units")
                            .tag("table", table.tableName())
                            .description(
                                    "Write capacity units DynamoDB says the service's writes consumed (what it bills)")
                            .register(registry));
            // Registered at 0 from the start, so that an alert on their increase sees the first one: a series that
            // appears at 1 has no increase in Prometheus's eyes. Other reasons (internal faults) appear with theirs.
            for (String reason : REFUSED_ITEM_REASONS) {
                registry.counter("mqtt_dynamo_write_failures", "table", table.tableName(), "reason", reason);
            }
        }
        registry.counter("mqtt_dynamo_set_members_trimmed", "table", Tables.TOPIC_MSG_MAP.tableName());
        for (String code : RetryPolicy.THROTTLING_CODES) {
            registry.counter(
                    "mqtt_dynamo_write_errors", "code", code, "class", verdictName(RetryPolicy.Verdict.PASSING));
        }
    }

    /** Why DynamoDB refuses one item for good: its own limits checked up front, or its ValidationException. */
    static final java.util.List<String> REFUSED_ITEM_REASONS = java.util.List.of("KeyLimit", "ValidationException");

    /** Items that conditional updates created in {@code table} since start (new clients in mqtt_client). */
    public long created(Tables table) {
        return created.get(table).sum();
    }

    /** The last DynamoDB failure, or null. */
    public String lastError() {
        return lastError;
    }

    /** When the last failure happened (epoch millis), 0 if none. */
    public long lastErrorAtMillis() {
        return lastErrorAtMillis;
    }

    /** Writes that failed for good since start (refused by DynamoDB or by its limits, or failed inside the service). */
    public long refusedWrites() {
        return failures.sum();
    }

    /** The last such write's reason and table ({@code KeyLimit on mqtt_retain}), or null. */
    public String lastRefusal() {
        return lastFailure;
    }

    /** When the last such write failed (epoch millis), 0 if none. */
    public long lastRefusalAtMillis() {
        return lastFailureAtMillis;
    }

    void itemCreated(Tables table) {
        created.get(table).increment();
    }

    void error(String description) {
        lastError = description;
        lastErrorAtMillis = System.currentTimeMillis();
    }

    void written(Tables table, int items) {
        written.get(table).increment(items);
    }

    void failed(Tables table, String reason) {
        registry.counter("mqtt_dynamo_write_failures", "table", table.tableName(), "reason", reason)
                .increment();
        failures.increment();
        lastFailure = reason + " on " + table.tableName();
        lastFailureAtMillis = System.currentTimeMillis();
    }

    void trimmed(Tables table, int members) {
        registry.counter("mqtt_dynamo_set_members_trimmed", "table", table.tableName())
                .increment(members);
    }

    void batch(int items) {
        batchSize.record(items);
    }

    void latency(long nanos) {
        requestLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    void retried(int items) {
        retries.increment(items);
    }

    void stale() {
        stale.increment();
    }

    /**
     * The write capacity units DynamoDB says a request consumed (ReturnConsumedCapacity TOTAL: the table and its
     * indexes), which is what on-demand tables bill; asking for it costs nothing.
     */
    void consumed(java.util.List<software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity> capacities) {
        for (var capacity : capacities) {
            consumed(capacity);
        }
    }

    void consumed(software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity capacity) {
        if (capacity == null || capacity.capacityUnits() == null || capacity.tableName() == null) {
            return;
        }
        Counter counter = writeUnits.get(capacity.tableName());
        if (counter != null) {
            counter.increment(capacity.capacityUnits());
        }
    }

    /** Write capacity units consumed since start by {@code table} (its name). */
    public double consumedWriteUnits(String table) {
        Counter counter = writeUnits.get(table);
        return counter == null ? 0 : counter.count();
    }

    /** Write capacity units consumed since start, over all tables. */
    public double consumedWriteUnits() {
        return writeUnits.values().stream().mapToDouble(Counter::count).sum();
    }

    /** A failed request, by DynamoDB's error code and what it means ({@link RetryPolicy.Verdict}). */
    void requestFailed(String code, RetryPolicy.Verdict verdict) {
        registry.counter("mqtt_dynamo_write_errors", "code", code, "class", verdictName(verdict))
                .increment();
    }

    private static String verdictName(RetryPolicy.Verdict verdict) {
        return verdict.name().toLowerCase(java.util.Locale.ROOT);
    }

    void refusedGauge(Supplier<Number> refused) {
        Gauge.builder("mqtt_dynamo_writes_refused", refused)
                .description("1 while DynamoDB refuses writes for a reason outside the items (permissions,"
                        + " credentials, tables): nothing is acknowledged and no new message is taken")
                .register(registry);
    }

    void pendingGauge(Supplier<Number> pending) {
        Gauge.builder("mqtt_dynamo_pending_writes", pending)
                .description("Writes waiting for DynamoDB")
                .register(registry);
    }
}
