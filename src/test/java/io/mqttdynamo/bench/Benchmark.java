package io.mqttdynamo.bench;

import static io.mqttdynamo.bench.BenchSupport.JSON;
import static io.mqttdynamo.bench.BenchSupport.LOG;
import static io.mqttdynamo.bench.BenchSupport.log;
import static io.mqttdynamo.bench.BenchSupport.poll;
import static io.mqttdynamo.bench.BenchSupport.round;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.PrometheusText;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * The throughput benchmark: Mosquitto, dynalite and the packaged service on this machine, QoS 1 messages
 * in, DynamoDB items out. Run with {@code ./mvnw -Pbench verify}; see docs/benchmark.md. Its pieces: the broker
 * ({@link BenchMosquitto}), the service ({@link BenchService}), the publisher ({@link BenchPublisher}), the
 * write ceiling ({@link CeilingWriter}), the yardstick ({@link NaiveBridge}) and the probes ({@link ProcessProbes},
 * {@link ServiceProbes}, {@link TableProbes}); this class runs the phases and writes the result.
 * Prints one JSON object on stdout (also in {@code target/bench/result.json}); progress goes to stderr.
 *
 * <p>System properties: {@code bench.messages} (20000), {@code bench.topics} (100), {@code bench.modes}
 * (raw,envelope), {@code bench.payload} (200 bytes), {@code bench.latencyMessages} (5000),
 * {@code bench.naive} (true), {@code bench.stallSeconds} (120: give up waiting after so long without
 * progress), {@code bench.maxSeconds} (300: longest wait of one phase), {@code bench.brokerMaxInflight}
 * (Mosquitto's {@code max_inflight_messages}; its default when unset), {@code bench.clientEvents} (50000: the
 * client-event storm, {@link ClientEventStorm}; 0 leaves it out).
 */
public final class Benchmark {

    private static final long LATENCY_SEQ_BASE = 100_000_000L;
    private static final long LATENCY_WARMUP_SEQ_BASE = 150_000_000L;
    private static final long STEADY_SEQ_BASE = 200_000_000L;
    /**
     * How often the service's metrics are read while it works. Each read renders the whole Prometheus page in the
     * service: every 50 ms that was 7 % of its CPU in the client-event storm (a JFR profile), which is the
     * benchmark's cost, not the service's. The end of a run is seen within this much.
     */
    private static final long POLL_MS = 200;

    private final BenchSettings settings = BenchSettings.fromSystemProperties();
    private final int messages = settings.messages();
    private final int topics = settings.topics();
    private final int payloadBytes = settings.payloadBytes();
    private final int latencyMessages = settings.latencyMessages();
    private final List<String> modes = settings.modes();
    private final int warmupMessages = settings.warmupMessages();
    private final Duration stall = settings.stall();
    private final Duration maxWait = settings.maxWait();
    private final Path dir = settings.dir();
    private final String run = settings.run();
    private final ProcessProbes processes = new ProcessProbes();
    private long lastProgressNanos;

    /** Everything started, closed in reverse order at the end of a mode and on JVM exit. */
    private final Deque<AutoCloseable> started = new ArrayDeque<>();

    public static void main(String[] args) throws Exception {
        Benchmark benchmark = new Benchmark();
        Runtime.getRuntime().addShutdownHook(new Thread(benchmark::closeAll, "bench-cleanup"));
        ObjectNode result;
        try {
            result = benchmark.runAll();
        } catch (Throwable e) {
            e.printStackTrace(LOG);
            benchmark.closeAll();
            Runtime.getRuntime().halt(1);
            return;
        } finally {
            benchmark.closeAll();
        }
        String text = JSON.writeValueAsString(result);
        Files.createDirectories(benchmark.dir);
        Files.writeString(benchmark.dir.resolve("result.json"), text + "\n");
        System.out.println(text);
        System.out.flush();
        // Netty and HiveMQ threads of closed clients may linger: the result is out, end here.
        Runtime.getRuntime().halt(0);
    }

    private ObjectNode runAll() throws Exception {
        Files.createDirectories(dir);
        ObjectNode result = JSON.createObjectNode();
        result.put("date", OffsetDateTime.now(ZoneOffset.UTC).toString());
        result.set("machine", ProcessProbes.machine());
        ObjectNode asked = result.putObject("settings");
        asked.put("messages", messages)
                .put("topics", topics)
                .put("payload_bytes", payloadBytes)
                .put("latency_messages", latencyMessages)
                .put("stall_seconds", stall.toSeconds());
        ArrayNode results = result.putArray("modes");
        Double naiveRate = null;
        boolean naiveDone = !settings.naive();
        for (String mode : modes) {
            if (!mode.equals("raw") && !mode.equals("envelope")) {
                throw new IllegalArgumentException("bench.modes: raw or envelope, got " + mode);
            }
            ObjectNode modeResult = results.addObject();
            boolean withNaive = !naiveDone && (mode.equals("raw") || !modes.contains("raw"));
            try {
                Double rate = runMode(mode, modeResult, withNaive);
                if (withNaive) {
                    naiveRate = rate;
                    naiveDone = true;
                }
            } catch (Exception e) {
                LOG.println("[bench] mode " + mode + " failed: " + e);
                e.printStackTrace(LOG);
                modeResult.put("error", e.toString());
            } finally {
                closeAll();
            }
        }
        result.put("naive_bridge_msgs_per_s", naiveRate);
        int clientEvents = Integer.getInteger("bench.clientEvents", 50_000);
        if (clientEvents > 0) {
            ObjectNode storm = result.putObject("client_events");
            try {
                new ClientEventStorm(settings, clientEvents, this::track)
                        .run(storm, environment("raw", "bench-" + run + "-events", 0, ""));
            } catch (Exception e) {
                LOG.println("[bench] client-event storm failed: " + e);
                e.printStackTrace(LOG);
                storm.put("error", e.toString());
            } finally {
                closeAll();
            }
        }
        for (JsonNode mode : results) {
            if (naiveRate != null && naiveRate > 0 && mode.hasNonNull("persisted_msgs_per_s")) {
                ((ObjectNode) mode)
                        .put(
                                "ratio_to_naive",
                                round(mode.get("persisted_msgs_per_s").asDouble() / naiveRate, 2));
            }
        }
        JsonNode first = results.isEmpty() ? null : results.get(0);
        result.set("ratio_to_naive", first == null ? null : first.get("ratio_to_naive"));
        return result;
    }

    /** One mode, fresh Mosquitto and dynalite; returns the naive bridge's rate when it ran. */
    private Double runMode(String mode, ObjectNode out, boolean withNaive) throws Exception {
        out.put("mode", mode).put("messages", messages).put("topics", topics).put("payload_bytes", payloadBytes);
        log("mode %s: starting Mosquitto and dynalite", mode);
        BenchMosquitto broker = track(BenchMosquitto.start(dir, mode));
        int dynamoPort = LocalDynamoDbResource.freePort();
        DynaliteServer dynalite =
                track(DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort, Optional.empty()));
        long dynalitePid = ProcessProbes.childPid("--port " + dynamoPort).orElse(-1L);
        DynamoDbAsyncClient db = track(BenchSupport.dynamoClient(dynalite.endpoint()));

        // 1. The write ceiling of this dynalite.
        double ceiling = 0;
        ObjectNode ceilings = out.putObject("ceiling_by_concurrency");
        CeilingWriter ceilingWriter = new CeilingWriter(settings, db);
        ceilingWriter.warmUp();
        for (int concurrency : new int[] {4, 8, 16}) {
            double rate = ceilingWriter.ceiling(concurrency);
            ceilings.put(Integer.toString(concurrency), round(rate, 0));
            ceiling = Math.max(ceiling, rate);
            log("ceiling, concurrency %d: %.0f items/s", concurrency, rate);
        }
        out.put("ceiling_items_per_s", round(ceiling, 0));

        // 2. The service, fed as fast as it takes messages.
        String clientId = "bench-" + run + "-" + mode;
        BenchService service = track(BenchService.start(
                dir, mode + "-throughput", environment(mode, clientId, broker.port, dynalite.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        log("service ready (pid %d)", service.process.pid());

        BenchPublisher publisher =
                track(BenchPublisher.connect(settings, broker.port, "bench-pub-" + run + "-" + mode));
        if (warmupMessages > 0) {
            // The JVM's just-in-time compilation would otherwise be measured as the service's cost per message.
            publisher.publishAll(mode, messages, warmupMessages, 0, null);
            boolean warm = awaitAcknowledged(service, warmupMessages, System.nanoTime()) > 0;
            log("warm-up: %d messages %s", warmupMessages, warm ? "stored" : "NOT all stored");
        }
        double unitsBefore = ServiceProbes.writeUnits(service);
        long[] cpuBefore = {
            ProcessProbes.cpuTicks(service.process.pid()),
            ProcessProbes.cpuTicks(dynalitePid),
            ProcessProbes.cpuTicks(broker.process.pid())
        };
        long start = System.nanoTime();
        CompletableFuture<Void> publishing =
                CompletableFuture.runAsync(() -> publisher.publishAll(mode, 0, messages, 0, null));
        Persisted persisted = awaitPersisted(db, service, messages, start, publishing);
        long[] cpuAfter = {
            ProcessProbes.cpuTicks(service.process.pid()),
            ProcessProbes.cpuTicks(dynalitePid),
            ProcessProbes.cpuTicks(broker.process.pid())
        };
        double cpuSeconds = (System.nanoTime() - start) / 1e9;
        BenchSupport.finish(publishing, stall);
        double seconds = (persisted.endNanos - start) / 1e9;
        double rate = persisted.complete ? messages / seconds : persisted.msgItems / seconds;
        out.put("persisted_msgs_per_s", round(rate, 0));
        out.put("complete", persisted.complete);
        out.put("load_seconds", round(seconds, 2));
        out.put("ratio_to_ceiling", ceiling > 0 ? round(rate / ceiling, 2) : null);
        out.put("publish_errors", publisher.errors.get());
        out.put("poll_interval_ms", persisted.intervalMs);
        out.put("poll_ms_avg", round(persisted.pollMillisAvg, 1));
        double per10k = 10_000.0 / Math.max(1, persisted.complete ? messages : persisted.msgItems);
        // From the first publish until all were seen persisted (or the wait gave up), per message stored.
        out.put("cpu_window_seconds", round(cpuSeconds, 2));
        out.put("service_cpu_ms_per_10k", round(processes.ticksToMs(cpuAfter[0] - cpuBefore[0]) * per10k, 0));
        out.put(
                "dynalite_cpu_ms_per_10k",
                dynalitePid < 0 ? null : round(processes.ticksToMs(cpuAfter[1] - cpuBefore[1]) * per10k, 0));
        out.put("broker_cpu_ms_per_10k", round(processes.ticksToMs(cpuAfter[2] - cpuBefore[2]) * per10k, 0));
        out.put("service_peak_rss_mb", round(ProcessProbes.peakRssKb(service.process.pid()) / 1024.0, 0));
        // DynamoDB's bill for the burst, from the write units DynamoDB reported for each write (the service's
        // mqtt_dynamo_consumed_write_units_total; dynalite computes them by DynamoDB's rule).
        awaitAcknowledged(service, warmupMessages + messages, System.nanoTime());
        out.put(
                "wcu_per_msg_burst",
                round(
                        (ServiceProbes.writeUnits(service) - unitsBefore)
                                / Math.max(1, persisted.complete ? messages : persisted.msgItems),
                        2));
        log("persisted %s: %.0f msgs/s over %.2f s", persisted.complete ? "all" : "NOT all", rate, seconds);

        // 3. What is really stored.
        verify(db, out);
        String metrics = service.get("/q/metrics").orElse("");
        ServiceProbes.reconnects(out, service, metrics);
        service.stop();

        // 4. Latency at half the sustained rate, seen through a proxy in front of dynalite.
        if (latencyMessages > 0 && rate > 0) {
            latency(mode, out, broker, dynalite, rate / 2, clientId);
        }

        // 5. A naive bridge on the same broker and dynalite.
        Double naiveRate = null;
        if (withNaive) {
            naiveRate = track(new NaiveBridge(settings, db, broker.port)).run();
            log("naive bridge: %s msgs/s", naiveRate);
        }
        return naiveRate;
    }

    // ---------------------------------------------------------------- persisted

    /** msgItems: mqtt_msg items when complete, distinct messages stored when not. */
    private record Persisted(
            boolean complete, long endNanos, long msgItems, long setEntries, long intervalMs, double pollMillisAvg) {}

    /**
     * Waits until the service has acknowledged (so stored) {@code expected} messages after the warm-up: it
     * took that many from the broker and holds none unacknowledged. A PUBACK goes out only once a message's
     * items are in DynamoDB, so this is "persisted" without loading dynalite with polls; {@link #verify}
     * then checks with a full scan that each message is there once.
     */
    private Persisted awaitPersisted(
            DynamoDbAsyncClient db,
            BenchService service,
            long expected,
            long start,
            CompletableFuture<Void> publishing) {
        long end = awaitAcknowledged(service, warmupMessages + expected, start);
        if (publishing.isCompletedExceptionally()) {
            log("publishing failed: %s", publishing.handle((v, e) -> e).join());
        }
        if (end > 0) {
            return new Persisted(true, end, expected, -1, POLL_MS, 0);
        }
        long stored = TableProbes.distinctSeqs(db, messages)[0];
        log("gave up waiting: %d of %d messages stored", stored, expected);
        return new Persisted(false, lastProgressNanos, stored, -1, POLL_MS, 0);
    }

    /**
     * Polls the service's metrics until it took {@code received} messages in all and holds none
     * unacknowledged; the time it saw that (System.nanoTime), or 0 when it stalled or ran out of time.
     */
    private long awaitAcknowledged(BenchService service, long received, long start) {
        long deadline = start + maxWait.toNanos();
        BenchSupport.Stall stalled = new BenchSupport.Stall(received, stall);
        lastProgressNanos = start;
        long[] last = {-1};
        long[] seenAt = {0};
        poll(Duration.ofMillis(POLL_MS), () -> {
            String metrics = service.get("/q/metrics").orElse("");
            long taken =
                    (long) PrometheusText.value(metrics, "mqtt_dynamo_events_received_total{channel=\"messages\"}");
            long holding =
                    (long) PrometheusText.value(metrics, "mqtt_dynamo_unacknowledged_messages{channel=\"messages\"}");
            long now = System.nanoTime();
            if (taken >= received && holding == 0) {
                seenAt[0] = now;
                return true;
            }
            long acknowledged = taken - holding;
            if (acknowledged != last[0]) {
                last[0] = acknowledged;
                lastProgressNanos = now;
            }
            if (stalled.check(acknowledged, now) || now > deadline) {
                log("no progress: %d taken, %d unacknowledged, %d expected", taken, holding, received);
                return true;
            }
            return false;
        });
        return seenAt[0];
    }

    /** Full scan: distinct sequence numbers stored vs sent, duplicates, MsgId set entries. */
    private void verify(DynamoDbAsyncClient db, ObjectNode out) {
        long[] counts = TableProbes.distinctSeqs(db, messages);
        long distinct = counts[0];
        long items = counts[1];
        out.put("stored", distinct);
        out.put("lost", messages - distinct);
        out.put("duplicates", items - distinct);
        out.put("unrecognised_items", counts[2]);
        out.put("msgid_set_entries", TableProbes.setEntries(db, "mqtt_topic_msg_map"));
        log("verified: %d of %d stored, %d duplicates", distinct, messages, items - distinct);
    }

    // ---------------------------------------------------------------- latency

    private void latency(
            String mode, ObjectNode out, BenchMosquitto broker, DynaliteServer dynalite, double rate, String clientId)
            throws Exception {
        // At most about a minute of publishing, whatever the rate.
        int count = (int) Math.min(latencyMessages, Math.max(100, rate * 60));
        log("latency: %d messages at %.0f msgs/s", count, rate);
        // Straight to dynalite: the service's own publish-to-persisted histogram (mqtt_dynamo_persist_latency)
        // measures, from the message's arrival (raw) or the broker's publish_received_at (envelope) to the last
        // write it needs. An observing proxy in between could not carry half the rate on two cores.
        BenchService service = track(BenchService.start(
                dir, mode + "-latency", environment(mode, clientId + "-lat", broker.port, dynalite.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        BenchPublisher publisher =
                track(BenchPublisher.connect(settings, broker.port, "bench-lat-pub-" + run + "-" + mode));
        // A warm service, as in the measured burst: a just-started JVM runs its first thousands of messages
        // interpreted, and the backlog that builds then would be measured instead of the service.
        int warmup = warmupMessages;
        if (warmup > 0) {
            publisher.publishAll(mode, LATENCY_WARMUP_SEQ_BASE, warmup, 0, null);
            awaitAcknowledged(service, warmup, System.nanoTime());
        }
        String before = service.get("/q/metrics").orElse("");
        double unitsBefore = ServiceProbes.writeUnits(service);
        CompletableFuture<Void> publishing =
                CompletableFuture.runAsync(() -> publisher.publishAll(mode, LATENCY_SEQ_BASE, count, rate, null));
        boolean all = awaitAcknowledged(service, warmup + count, System.nanoTime()) > 0;
        BenchSupport.finish(publishing, stall);
        out.put("latency_rate_msgs_per_s", round(rate, 0));
        out.put("latency_messages", count);
        out.put("latency_complete", all);
        // From its cumulative histogram buckets (the exported quantiles decay within minutes), less the warm-up's.
        String metrics = service.get("/q/metrics").orElse("");
        out.put("service_p50_ms", ServiceProbes.bucketQuantileMillis(before, metrics, 0.50));
        out.put("service_p99_ms", ServiceProbes.bucketQuantileMillis(before, metrics, 0.99));
        out.put("wcu_per_msg_half_load", round((ServiceProbes.writeUnits(service) - unitsBefore) / count, 2));
        out.put("latency_reconnects_log_lines", ServiceProbes.disconnectedLines(service));
        log(
                "latency: p50 %s ms, p99 %s ms (the service's histogram)",
                out.get("service_p50_ms"), out.get("service_p99_ms"));
        service.stop();
        steady(mode, out, broker, dynalite, clientId);
    }

    /**
     * The bill at steady state: once every topic's MsgId set is full, a trickle of single messages (nothing folds
     * into a shared request), write units from what DynamoDB reported for each write; and the bytes of DynamoDB's
     * answers, counted by a proxy in front of dynalite (a trickle it carries), for a service of its own.
     */
    private void steady(String mode, ObjectNode out, BenchMosquitto broker, DynaliteServer dynalite, String clientId)
            throws Exception {
        DynamoDbProxy proxy = track(DynamoDbProxy.start(dynalite.endpoint()));
        LongAdder responseBytes = new LongAdder();
        Map<String, LongAdder> byOperation = new ConcurrentSkipListMap<>();
        AtomicBoolean counting = new AtomicBoolean();
        proxy.onExchange(exchange -> {
            int bytes = exchange.responseBody().getBytes(StandardCharsets.UTF_8).length;
            responseBytes.add(bytes);
            if (counting.get()) {
                byOperation
                        .computeIfAbsent(exchange.operation(), operation -> new LongAdder())
                        .add(bytes);
            }
        });
        BenchService service = track(BenchService.start(
                dir, mode + "-steady", environment(mode, clientId + "-steady", broker.port, proxy.endpoint())));
        service.awaitReady(Duration.ofSeconds(120));
        BenchPublisher publisher =
                track(BenchPublisher.connect(settings, broker.port, "bench-steady-pub-" + run + "-" + mode));
        // Half the default cap plus one message per topic first (at full speed): every topic's set fills and is
        // read once by the just-started service, which knows the members afterwards; those start-up reads are not
        // the steady state.
        int warmup = (16 / 2 + 1) * topics;
        publisher.publishAll(mode, STEADY_SEQ_BASE + 1_000_000L, warmup, 0, null);
        awaitAcknowledged(service, warmup, System.nanoTime());
        int count = Math.max(100, 2 * topics);
        long bytesBefore = responseBytes.sum();
        counting.set(true);
        double unitsBefore = ServiceProbes.writeUnits(service);
        publisher.publishAll(mode, STEADY_SEQ_BASE, count, 40, null);
        awaitAcknowledged(service, warmup + count, System.nanoTime());
        out.put("steady_messages", count);
        out.put("wcu_per_msg_steady", round((ServiceProbes.writeUnits(service) - unitsBefore) / count, 2));
        out.put("response_bytes_per_msg", round((double) (responseBytes.sum() - bytesBefore) / count, 0));
        ObjectNode perOperation = out.putObject("response_bytes_per_msg_by_operation");
        byOperation.forEach((operation, bytes) -> perOperation.put(operation, round((double) bytes.sum() / count, 0)));
        log(
                "steady state: %s write units and %s answer bytes per message (%s)",
                out.get("wcu_per_msg_steady"), out.get("response_bytes_per_msg"), perOperation);
        service.stop();
    }

    private Map<String, String> environment(String mode, String clientId, int brokerPort, String dynamoEndpoint) {
        Map<String, String> env = new HashMap<>();
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", Integer.toString(brokerPort));
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", clientId);
        env.put("MQTT_DYNAMO_BROKER_SESSION_EXPIRY", "PT5M");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_MODE", mode);
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", mode.equals("raw") ? "bench/#" : BenchSettings.ENVELOPE_TOPIC);
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "none");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", dynamoEndpoint);
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "bench");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "bench");
        // Default functions and settings: what a user's DynamoDB bill would be.
        return env;
    }

    private <T extends AutoCloseable> T track(T resource) {
        synchronized (started) {
            started.push(resource);
        }
        return resource;
    }

    private void closeAll() {
        while (true) {
            AutoCloseable next;
            synchronized (started) {
                next = started.poll();
            }
            if (next == null) {
                return;
            }
            try {
                next.close();
            } catch (Exception e) {
                LOG.println("[bench] closing: " + e);
            }
        }
    }
}
